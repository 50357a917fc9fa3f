import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import pino, { type Logger } from "pino";
import { echo, get, ingressYaml, startUpstream, type Handler, type Upstream } from "./helpers.js";

/** YAML for a Service (with `ingressd.io/*` annotations, always quoted strings) + Endpoints on local ports. */
export function annotatedServiceYaml(name: string, ports: number[], annotations: Record<string, string> = {}): string {
  const entries = Object.entries(annotations);
  const ann = entries.length === 0 ? "" : `\n  annotations:\n${entries.map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`).join("\n")}`;
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}${ann}
spec:
  ports:
    - port: 80
---
apiVersion: v1
kind: Endpoints
metadata:
  name: ${name}
subsets:
${ports.map((p) => `  - addresses: [{ ip: 127.0.0.1 }]\n    ports: [{ port: ${p} }]`).join("\n")}
`;
}

/** Annotated Service `name` on `ports` and an Ingress routing `host` / to it. */
export function healthSite(name: string, host: string, ports: number[], annotations: Record<string, string> = {}): string {
  return `${annotatedServiceYaml(name, ports, annotations)}---\n${ingressYaml(name, host, [{ path: "/", service: name }])}`;
}

/** An HTTP upstream on a given port of 127.0.0.1 (a restarted upstream comes back on its old port). */
export function upstreamOn(port: number, handler: Handler | string): Promise<Upstream> {
  return startUpstream(handler, "127.0.0.1", port);
}

/** A TCP listener that accepts and resets every connection at once, counting them (connection attempts). */
export interface Resetter {
  port: number;
  attempts(): number;
  close(): Promise<void>;
}

export async function resettingServer(port = 0): Promise<Resetter> {
  let n = 0;
  const server: NetServer = createNetServer((s: Socket) => {
    n++;
    s.on("error", () => undefined);
    s.resetAndDestroy();
  });
  await new Promise<void>((res) => server.listen(port, "127.0.0.1", res));
  return {
    port: (server.address() as AddressInfo).port,
    attempts: () => n,
    close: () => new Promise<void>((res) => server.close(() => res())),
  };
}

/**
 * A TCP listener that reads one whole request (head + Content-Length body), counts it,
 * and then resets the connection without answering: the body was sent, the upstream failed.
 */
export async function resetAfterBody(): Promise<Resetter & { bodies: number[] }> {
  let n = 0;
  const bodies: number[] = [];
  const server: NetServer = createNetServer((s) => {
    s.on("error", () => undefined);
    let buf = Buffer.alloc(0);
    s.on("data", (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf("\r\n\r\n");
      if (end === -1) return;
      const head = buf.subarray(0, end).toString("latin1");
      const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? "0");
      if (buf.length < end + 4 + len) return;
      n++;
      bodies.push(buf.length - end - 4);
      s.resetAndDestroy();
    });
  });
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  return {
    port: (server.address() as AddressInfo).port,
    attempts: () => n,
    bodies,
    close: () => new Promise<void>((res) => server.close(() => res())),
  };
}

/** What an upstream's /healthz does: answer with this status, or never answer. */
export type HealthAnswer = number | "hang";

/** An echo upstream whose /healthz answers `health` (200 to start with); probes recorded apart. */
export interface CheckedUpstream extends Upstream {
  health: HealthAnswer;
  probes: IncomingMessage[];
  /** Requests other than probes: the proxied traffic. */
  traffic(): number;
}

export async function checkedUpstream(name: string): Promise<CheckedUpstream> {
  const probes: IncomingMessage[] = [];
  const self = { health: 200 as HealthAnswer };
  const plain = echo(name);
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.url === "/healthz") {
      probes.push(req);
      req.resume();
      if (self.health === "hang") return;
      res.writeHead(self.health, { "content-type": "text/plain", ...(self.health >= 300 && self.health < 400 ? { location: "/elsewhere" } : {}) });
      res.end(`${self.health}\n`);
      return;
    }
    plain(req, res);
  };
  const up = await upstreamOn(0, handler);
  return Object.assign(self, {
    server: up.server,
    port: up.port,
    received: up.received,
    close: up.close,
    probes,
    traffic: () => up.received.filter((r) => r.url !== "/healthz").length,
  });
}

/** One endpoint of `/api/config` `services[]`. */
export interface EndpointView {
  address: string;
  inRotation: boolean;
  passive: "ok" | { ejectedForMs: number };
  active: "off" | "pending" | "healthy" | "unhealthy";
}

export interface ServiceView {
  backend: string;
  health: { maxFails: number; failTimeoutMs: number; checkPath?: string; checkIntervalMs?: number; tryDurationMs?: number };
  endpoints: EndpointView[];
}

export interface ConfigView {
  generation: number;
  errors: { severity: string; code: string; message: string; file: string; line: number; col: number; field?: string; resource?: string }[];
  services: ServiceView[];
}

export async function configOf(admin: string): Promise<ConfigView> {
  const res = await get(`${admin}/api/config`);
  if (res.status !== 200) throw new Error(`/api/config answered ${res.status}`);
  return JSON.parse(res.body) as ConfigView;
}

/** The `services[]` entry of `default/<name>:80`. */
export async function serviceOf(admin: string, name: string): Promise<ServiceView> {
  const svc = (await configOf(admin)).services.find((s) => s.backend === `default/${name}:80`);
  if (!svc) throw new Error(`no service default/${name}:80 in /api/config`);
  return svc;
}

/** The endpoint `127.0.0.1:<port>` of Service `name`. */
export async function endpointOf(admin: string, name: string, port: number): Promise<EndpointView> {
  const ep = (await serviceOf(admin, name)).endpoints.find((e) => e.address === `127.0.0.1:${port}`);
  if (!ep) throw new Error(`no endpoint 127.0.0.1:${port} in Service ${name}`);
  return ep;
}

/** Who answered a GET through the proxy: the echo name, or the status when not 200. */
export async function whoAnswers(proxyUrl: string, host: string, path = "/"): Promise<string | number> {
  const res = await get(`${proxyUrl}${path}`, { host });
  if (res.status !== 200) return res.status;
  return (JSON.parse(res.body) as { name: string }).name;
}

/** Resolves after `ms` (only to simulate an upstream restarting later, never to wait for ingressd). */
export function after(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A pino logger at info whose JSON lines (access log included) are parsed and kept, with a wait for a matching one. */
export interface MemoryLog {
  logger: Logger;
  lines: Record<string, unknown>[];
  waitForLine(pred: (line: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
}

export function memoryLog(): MemoryLog {
  const lines: Record<string, unknown>[] = [];
  const waiters: { pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  const stream = {
    write(chunk: string): void {
      for (const text of chunk.split("\n")) {
        if (text.trim() === "") continue;
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.push(line);
        for (const w of [...waiters]) {
          if (w.pred(line)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    },
  };
  const logger = pino({ level: "info", base: undefined }, stream);
  return {
    logger,
    lines,
    waitForLine(pred, what, timeoutMs = 5_000) {
      const found = lines.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve: (l: Record<string, unknown>) => (clearTimeout(timer), resolve(l)) };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no log line ${what} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
  };
}

/** How a faulty upstream misbehaves once a request's first bytes arrive on a connection. */
export type Fault = "reset-in-head" | "never-answers" | "garbage" | "headers-100k";

/** 100 KiB of response headers: more than undici's limit (UND_ERR_HEADERS_OVERFLOW). */
const HEADERS_100K = (() => {
  let head = "HTTP/1.1 200 OK\r\n";
  for (let i = 0; head.length < 100 * 1024; i++) head += `X-Filler-${i}: ${"a".repeat(80)}\r\n`;
  return `${head}Content-Length: 3\r\n\r\nok\n`;
})();

const FAULTS: Record<Fault, (s: Socket) => void> = {
  // A TCP RST (not a FIN) after part of the status line and headers, as from a crashed process.
  "reset-in-head": (s) => s.write("HTTP/1.1 200 OK\r\nContent-Ty", () => s.resetAndDestroy()),
  "never-answers": () => undefined,
  garbage: (s) => s.write("\x00\x01\x02 this is not HTTP \xff\xfe\r\n\r\n"),
  "headers-100k": (s) => s.write(HEADERS_100K),
};

/** A raw TCP upstream misbehaving as `fault` (bench/reliability/faulty-upstreams.mjs's cases). */
export interface FaultyUpstream {
  port: number;
  /** Requests that reached it (connections on which bytes arrived). */
  requests(): number;
  /** Its connections still open. */
  open(): number;
  close(): Promise<void>;
}

export async function faultyUpstream(fault: Fault): Promise<FaultyUpstream> {
  const sockets = new Set<Socket>();
  let requests = 0;
  const server: NetServer = createNetServer((s) => {
    sockets.add(s);
    s.on("error", () => undefined);
    s.once("close", () => sockets.delete(s));
    s.once("data", () => {
      requests++;
      FAULTS[fault](s);
    });
  });
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  return {
    port: (server.address() as AddressInfo).port,
    requests: () => requests,
    open: () => sockets.size,
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
      }),
  };
}
