import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { request, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createNetServer, connect, type AddressInfo, type Socket } from "node:net";
import { ingressYaml, rulesDir, serviceYaml, startProxy, type RulesDir } from "./helpers.js";

export type Proxy = Awaited<ReturnType<typeof startProxy>>;

/** A port that was free a moment ago: listen on 0, read the port, close. */
export async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((res) => srv.listen(0, "127.0.0.1", res));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((res) => srv.close(() => res()));
  return port;
}

/** Polls `cond` every `everyMs` until it holds; throws after `timeoutMs`. For conditions without an event. */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function sha256(buf: Buffer): string {
  return createHash("sha256").update(buf).digest("hex");
}

/** Upstream handler answering what it received: method, url, headers (object and raw), body size and hash. */
export function inspect(name: string) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const hash = createHash("sha256");
    let bytes = 0;
    req.on("data", (c: Buffer) => {
      bytes += c.length;
      hash.update(c);
    });
    req.on("end", () => {
      const body = JSON.stringify({ name, method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders, bytes, sha256: hash.digest("hex") });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
  };
}

export interface Seen {
  name: string;
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
  bytes: number;
  sha256: string;
}

/** Values of header `name` (case-insensitive) in a raw `[name, value, …]` list. */
export function rawValues(raw: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toLowerCase() === name.toLowerCase()) out.push(raw[i + 1]!);
  return out;
}

/** A rules directory with the given files and an ingressd over it. */
export async function proxyWith(files: Record<string, string>, extra: Parameters<typeof startProxy>[1] = {}): Promise<{ proxy: Proxy; rules: RulesDir }> {
  const rules = await rulesDir();
  for (const [name, text] of Object.entries(files)) await rules.write(name, text);
  const proxy = await startProxy([rules.dir], extra);
  return { proxy, rules };
}

/** Service `name` on `ports` and an Ingress routing `host` / to it. */
export function site(name: string, host: string, ports: number[]): string {
  return `${serviceYaml(name, ports)}---\n${ingressYaml(name, host, [{ path: "/", service: name }])}`;
}

/** A full response, read as bytes. */
export interface FullResponse {
  status: number;
  statusMessage: string;
  headers: IncomingMessage["headers"];
  rawHeaders: string[];
  body: Buffer;
}

export function readAll(res: IncomingMessage): Promise<FullResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () =>
      resolve({ status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? "", headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }),
    );
    res.on("error", reject);
  });
}

/** How a response that may be cut ended: all bytes read, whether it completed, and any error. */
export function readOutcome(res: IncomingMessage): Promise<{ body: Buffer; complete: boolean; ended: boolean; error?: Error }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let ended = false;
    let error: Error | undefined;
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => (ended = true));
    res.on("error", (e) => (error = e));
    res.on("close", () => resolve({ body: Buffer.concat(chunks), complete: res.complete, ended, ...(error ? { error } : {}) }));
  });
}

/** Starts a request and resolves with the response head (body unread). */
export function start(url: string, opts: { method?: string; headers?: Record<string, string | string[]>; body?: Buffer | string } = {}) {
  const req = request(url, { method: opts.method ?? "GET", headers: opts.headers ?? {}, agent: false });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req.once("response", resolve);
    req.once("error", reject);
  });
  if (opts.body !== undefined) req.end(opts.body);
  return { req, response };
}

/**
 * A TCP listener (in a perl child, since Node always accepts) that never accepts and
 * has a backlog of 0: once one connection is queued, further SYNs are dropped, so a
 * new connection attempt hangs until the client's connect timeout.
 */
export async function blackholeListener(): Promise<{ port: number; close(): Promise<void> }> {
  const child: ChildProcess = spawn(
    "perl",
    ["-MIO::Socket::INET", "-e", '$|=1; my $s = IO::Socket::INET->new(LocalAddr=>"127.0.0.1", LocalPort=>0, Proto=>"tcp") or die $!; listen($s, 0) or die $!; print $s->sockport, "\\n"; <STDIN>;'],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const [data] = (await once(child.stdout!, "data")) as [Buffer];
  const port = Number(String(data).trim());
  // Fill the accept queue.
  const filler: Socket = connect(port, "127.0.0.1");
  await once(filler, "connect");
  return {
    port,
    async close() {
      filler.destroy();
      const exited = once(child, "exit");
      child.stdin!.end();
      await exited;
    },
  };
}

/** Whether a fresh TCP connection to `port` completes within `ms` (false on timeout or error). */
export async function connects(port: number, ms: number): Promise<boolean> {
  const s = connect(port, "127.0.0.1");
  try {
    return await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      s.once("connect", () => {
        clearTimeout(t);
        resolve(true);
      });
      s.once("error", () => {
        clearTimeout(t);
        resolve(false);
      });
    });
  } finally {
    s.destroy();
  }
}

/** The parsed head and body of one raw HTTP/1.1 response. */
export interface RawResponse {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

/**
 * Sends `head` (a request head, exactly as given, CRLFs included) plus `body` on a
 * fresh TCP connection and reads one Content-Length-framed response.
 */
export function rawRequest(port: number, head: string, body: Buffer | string = ""): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (err?: Error, res?: RawResponse): void => {
      if (done) return;
      done = true;
      sock.destroy();
      if (err) reject(err);
      else resolve(res!);
    };
    sock.on("error", (e) => finish(e));
    sock.on("close", () => finish(new Error(`connection closed before a full response: ${JSON.stringify(buf.toString())}`)));
    sock.on("data", (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf("\r\n\r\n");
      if (end === -1) return;
      const lines = buf.subarray(0, end).toString("latin1").split("\r\n");
      const status = Number(lines[0]!.split(" ")[1]);
      const headers = lines.slice(1).map((l): [string, string] => {
        const i = l.indexOf(":");
        return [l.slice(0, i).trim(), l.slice(i + 1).trim()];
      });
      const len = Number(headers.find(([n]) => n.toLowerCase() === "content-length")?.[1] ?? "NaN");
      if (Number.isNaN(len)) return finish(new Error(`raw response without content-length: ${lines.join(" | ")}`));
      if (buf.length >= end + 4 + len) finish(undefined, { status, headers, body: buf.subarray(end + 4, end + 4 + len) });
    });
    sock.write(head);
    sock.write(body);
  });
}

/** `p`, or a clear failure once `ms` have passed without it settling (a bound on an awaited event). */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Sends `head` (exactly as given) on a fresh TCP connection and resolves with all the
 * server sent, once the server has closed the connection.
 */
export function rawUntilClosed(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    sock.on("data", (c: Buffer) => chunks.push(c));
    sock.on("error", reject);
    sock.on("end", () => {
      sock.destroy();
      resolve(Buffer.concat(chunks).toString("latin1"));
    });
    sock.write(head);
  });
}
