import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { WebSocket, WebSocketServer } from "ws";
import type { Ingressd } from "../src/server/ingressd.js";
import type { Snapshot } from "../src/snapshot/snapshot.js";
import { get, startUpstream, type Upstream } from "./helpers.js";

/** Every snapshot published from now on, in order. */
export interface ReloadLog {
  snapshots: Snapshot[];
  stop(): void;
}

export function recordReloads(proxy: Ingressd): ReloadLog {
  const snapshots: Snapshot[] = [];
  const on = (s: Snapshot): void => {
    snapshots.push(s);
  };
  proxy.runtime.on("reload", on);
  return { snapshots, stop: () => proxy.runtime.off("reload", on) };
}

/** Whether `host` (path `/` unless given) is routed in `s`, optionally to `service`. */
export function routes(s: Snapshot, host: string, service?: string, path = "/"): boolean {
  const r = s.routes.lookup(host, path);
  return r !== undefined && (service === undefined || r.backends.some((b) => b.backend.service === service));
}

/** The JSON body of a GET. */
export async function getJson<T = any>(url: string): Promise<{ status: number; body: T }> {
  const res = await get(url);
  return { status: res.status, body: JSON.parse(res.body) as T };
}

/** The `name` the echo upstream answered with, or the status when it was not 200. */
export async function whoAnswers(proxyUrl: string, host: string, path = "/"): Promise<string | number> {
  const res = await get(`${proxyUrl}${path}`, { host });
  if (res.status !== 200) return res.status;
  return (JSON.parse(res.body) as { name: string }).name;
}

/** An echo upstream that also counts the TCP connections it accepted. */
export async function countingUpstream(name: string): Promise<Upstream & { connections: () => number }> {
  const up = await startUpstream(name);
  let n = 0;
  up.server.on("connection", () => n++);
  return { ...up, connections: () => n };
}

/** An upstream that holds every response until `release()`; `arrived` resolves when a request is in. */
export interface HoldingUpstream extends Upstream {
  arrived: Promise<void>;
  release(): void;
}

export async function holdingUpstream(name: string): Promise<HoldingUpstream> {
  let arrive!: () => void;
  const arrived = new Promise<void>((r) => (arrive = r));
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const up = await startUpstream((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    arrive();
    void released.then(() => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ name, url: req.url }));
    });
  });
  return { ...up, arrived, release };
}

/** A WebSocket echo server on 127.0.0.1; counts the connections it accepted. */
export interface WsUpstream {
  port: number;
  connections: () => number;
  close(): Promise<void>;
}

export async function wsEchoUpstream(): Promise<WsUpstream> {
  const server = createServer((_req, res) => res.writeHead(426).end());
  const wss = new WebSocketServer({ server });
  let n = 0;
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  wss.on("connection", (ws) => {
    n++;
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => n,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Opens a WebSocket through the proxy with the given Host header. */
export function openWs(proxyUrl: string, host: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(proxyUrl.replace(/^http/, "ws") + "/", { headers: { host } });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
}

/** Sends `text` and resolves with the next message (rejects if the socket closes first). */
export function roundTrip(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const onMessage = (data: Buffer): void => {
      cleanup();
      resolve(data.toString());
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error(`websocket closed before echoing "${text}"`));
    };
    const cleanup = (): void => {
      ws.off("message", onMessage);
      ws.off("close", onClose);
    };
    ws.on("message", onMessage);
    ws.on("close", onClose);
    ws.send(text);
  });
}

/**
 * A full garbage collection. Uses `global.gc` when node runs with --expose-gc;
 * otherwise turns the flag on and takes `gc` from a fresh context (V8 installs it
 * in contexts created after the flag is set), so the check runs in-process on src/.
 */
export function fullGc(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === "function") return g;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

/** Multi-document YAML. */
export function docs(...parts: string[]): string {
  return parts.map((p) => p.replace(/\n*$/, "\n")).join("---\n");
}

/** 1-based line and column of the first occurrence of `needle` in `text`. */
export function positionOf(text: string, needle: string): { line: number; col: number } {
  const at = text.indexOf(needle);
  if (at < 0) throw new Error(`"${needle}" not in text`);
  const before = text.slice(0, at).split("\n");
  return { line: before.length, col: (before[before.length - 1] ?? "").length + 1 };
}
