import { Writable } from "node:stream";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import pino, { type Logger } from "pino";
import { NODE_PORT_MAX, NODE_PORT_MIN } from "../src/model/nodePorts.js";
import { get, startProxy } from "./helpers.js";

export type Proxy = Awaited<ReturnType<typeof startProxy>>;

// ---------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------

/** Whether `port` can be bound on `host` right now (bind, then close). */
export async function isFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  const srv = createServer();
  return new Promise<boolean>((resolve) => {
    srv.once("error", () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

const handedOut = new Set<number>();
const span = NODE_PORT_MAX - NODE_PORT_MIN + 1;
/** Where this process starts looking: derived from the pid, so parallel runs rarely meet. */
let cursor = (process.pid * 7919) % span;

/**
 * A fixed node port (30000–32767) that is free on 127.0.0.1 now and was not handed out
 * before in this process. Starts from a pid-derived offset, skips ports in use.
 */
export async function nodePort(): Promise<number> {
  for (let i = 0; i < span; i++) {
    const port = NODE_PORT_MIN + (cursor++ % span);
    if (handedOut.has(port)) continue;
    if (await isFree(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("no free node port in 30000-32767");
}

/** An ephemeral port that was free on `host` a moment ago. */
export async function freePortOn(host: string): Promise<number> {
  const srv = createServer();
  await new Promise<void>((res) => srv.listen(0, host, res));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((res) => srv.close(() => res()));
  return port;
}

// ---------------------------------------------------------------------------
// Upstream TCP servers
// ---------------------------------------------------------------------------

export interface TcpServer {
  server: Server;
  port: number;
  /** Connections accepted so far. */
  accepted(): number;
  /** Sockets still open. */
  sockets: Set<Socket>;
  close(): Promise<void>;
}

/** `opts.port` fixes the port (an upstream restarted where it was); ephemeral by default. */
export async function tcpServer(onConnection: (s: Socket) => void, opts: { host?: string; port?: number; allowHalfOpen?: boolean } = {}): Promise<TcpServer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer({ allowHalfOpen: opts.allowHalfOpen ?? false }, (s) => {
    accepted++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => s.destroy());
    onConnection(s);
  });
  await new Promise<void>((res) => server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", res));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    accepted: () => accepted,
    sockets,
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
      }),
  };
}

/** Echoes every byte back; ends when the peer ends. */
export function echoServer(): Promise<TcpServer> {
  return tcpServer((s) => s.pipe(s));
}

/** Says `name\n` first, then echoes. Tells which endpoint a connection reached. */
export function namedEchoServer(name: string, port?: number): Promise<TcpServer> {
  return tcpServer(
    (s) => {
      s.write(`${name}\n`);
      s.pipe(s);
    },
    port === undefined ? {} : { port },
  );
}

// ---------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------

/** Collects what a socket receives; waits on data, end and close as events. */
export class Reader {
  private buf = Buffer.alloc(0);
  private waiters: { pred: (b: Buffer) => boolean; resolve: () => void }[] = [];
  readonly ended: Promise<void>;
  readonly closed: Promise<{ hadError: boolean }>;
  sawEnd = false;
  error: NodeJS.ErrnoException | undefined;

  constructor(readonly socket: Socket) {
    socket.on("data", (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(this.buf)) return true;
        w.resolve();
        return false;
      });
    });
    socket.on("error", (e: NodeJS.ErrnoException) => (this.error = e));
    this.ended = new Promise((res) => socket.once("end", () => ((this.sawEnd = true), res())));
    this.closed = new Promise((res) => socket.once("close", (hadError: boolean) => res({ hadError })));
  }

  get text(): string {
    return this.buf.toString();
  }

  get bytes(): Buffer {
    return this.buf;
  }

  /** Resolves once the received bytes satisfy `pred`; fails if the socket closes first or after `ms`. */
  until(pred: (b: Buffer) => boolean, what: string, ms = 5_000): Promise<string> {
    if (pred(this.buf)) return Promise.resolve(this.text);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => fail(`no ${what} within ${ms} ms (got ${JSON.stringify(this.text.slice(0, 200))})`), ms);
      const fail = (msg: string): void => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(msg));
      };
      const waiter = {
        pred,
        resolve: () => {
          clearTimeout(timer);
          resolve(this.text);
        },
      };
      this.waiters.push(waiter);
      void this.closed.then(() => {
        if (this.waiters.includes(waiter)) fail(`socket closed before ${what} (got ${JSON.stringify(this.text.slice(0, 200))}${this.error ? `, error ${this.error.code}` : ""})`);
      });
    });
  }

  /** Resolves once `text` has been received (anywhere in the stream). */
  contains(text: string, ms?: number): Promise<string> {
    return this.until((b) => b.includes(text), JSON.stringify(text), ms);
  }
}

/** Connects to `host:port` (optionally from `localAddress`); rejects on error. */
export function dial(port: number, host = "127.0.0.1", opts: { localAddress?: string; allowHalfOpen?: boolean } = {}): Promise<{ socket: Socket; reader: Reader }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host, allowHalfOpen: opts.allowHalfOpen ?? false, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    const reader = new Reader(socket);
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve({ socket, reader });
    });
    socket.once("error", reject);
  });
}

/** How a connection attempt to `host:port` ends: connected, or the error code. */
export async function dialOutcome(port: number, host = "127.0.0.1"): Promise<"connected" | string> {
  try {
    const { socket } = await dial(port, host);
    socket.destroy();
    return "connected";
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? String(e);
  }
}

/** Connects through `port`, reads the first line (the named echo server's greeting), closes. */
export async function whoAnswersTcp(port: number, host = "127.0.0.1", localAddress?: string): Promise<string> {
  const { socket, reader } = await dial(port, host, localAddress ? { localAddress } : {});
  try {
    const text = await reader.contains("\n");
    return text.slice(0, text.indexOf("\n"));
  } finally {
    socket.destroy();
  }
}

/** Writes `payload` and resolves once `expect` (default: the payload) has arrived after what was there before. */
export async function exchange(c: { socket: Socket; reader: Reader }, payload: string, expect = payload): Promise<void> {
  const before = c.reader.bytes.length;
  c.socket.write(payload);
  await c.reader.until((b) => b.subarray(before).includes(expect), `echo of ${JSON.stringify(expect)}`);
}

// ---------------------------------------------------------------------------
// YAML
// ---------------------------------------------------------------------------

export interface L4ServiceOptions {
  type?: "NodePort" | "LoadBalancer" | "ClusterIP";
  nodePort?: number;
  port?: number;
  /** Upstream ports on 127.0.0.1, one Endpoints subset each, in order. */
  endpoints: number[];
  affinity?: boolean;
  loadBalancerIP?: string;
}

/** A Service (NodePort unless told) and its Endpoints. */
export function l4ServiceYaml(name: string, o: L4ServiceOptions): string {
  const lines = [
    "apiVersion: v1",
    "kind: Service",
    "metadata:",
    `  name: ${name}`,
    "spec:",
    `  type: ${o.type ?? "NodePort"}`,
    ...(o.affinity ? ["  sessionAffinity: ClientIP"] : []),
    ...(o.loadBalancerIP ? [`  loadBalancerIP: ${o.loadBalancerIP}`] : []),
    "  ports:",
    `    - port: ${o.port ?? 80}`,
    ...(o.nodePort !== undefined ? [`      nodePort: ${o.nodePort}`] : []),
    "---",
    "apiVersion: v1",
    "kind: Endpoints",
    "metadata:",
    `  name: ${name}`,
    o.endpoints.length === 0 ? "subsets: []" : "subsets:",
    ...o.endpoints.map((p) => `  - addresses: [{ ip: 127.0.0.1 }]\n    ports: [{ port: ${p} }]`),
  ];
  return lines.join("\n") + "\n";
}

// ---------------------------------------------------------------------------
// Admin API and logs
// ---------------------------------------------------------------------------

export interface ConfigError {
  severity: string;
  code: string;
  message: string;
  file?: string;
  line?: number;
  col?: number;
  field?: string;
  resource?: string;
}
export interface ConfigService {
  backend: string;
  type: string;
  nodePort?: number;
  sessionAffinity: string;
  pinnedClients?: number;
  status?: { loadBalancer: { ingress: { ip: string }[] } };
}
export interface ConfigListener {
  address: string;
  port: number;
  kind: string;
  service: string;
  backend: string;
  state: string;
  connections: number;
  error?: string;
}
export interface ConfigDoc {
  generation: number;
  errors: ConfigError[];
  warnings: ConfigError[];
  services: ConfigService[];
  listeners: ConfigListener[];
}

export async function config(proxy: Proxy): Promise<ConfigDoc> {
  const res = await get(`${proxy.admin}/api/config`);
  if (res.status !== 200) throw new Error(`/api/config answered ${res.status}`);
  return JSON.parse(res.body) as ConfigDoc;
}

export function serviceOf(doc: ConfigDoc, backend: string): ConfigService {
  const s = doc.services.find((x) => x.backend === backend);
  if (!s) throw new Error(`no service ${backend} in /api/config (have ${doc.services.map((x) => x.backend).join(", ")})`);
  return s;
}

/** A pino logger at info level writing JSON lines into `lines`. */
export function memoryLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split("\n")) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: "info" }, stream), lines };
}
