import { request } from "node:https";
import type { IncomingMessage } from "node:http";
import { createInterface } from "node:readline";
import type { KubeApiServer } from "./apiServer.js";

/** An answer of the API server, its body parsed as JSON. */
export interface KubeResponse {
  status: number;
  headers: IncomingMessage["headers"];
  /** Any field of any answer is read by the tests. */
  body: any;
}

function open(server: KubeApiServer, method: string, path: string, opts: { body?: unknown; contentType?: string; token?: string | null }): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const token = opts.token === undefined ? server.token : opts.token;
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = request(
      new URL(path, server.url),
      {
        method,
        ca: server.ca,
        agent: false,
        headers: {
          accept: "application/json",
          ...(token !== null ? { authorization: `Bearer ${token}` } : {}),
          ...(payload !== undefined ? { "content-type": opts.contentType ?? "application/json" } : {}),
        },
      },
      resolve,
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** One request with the server's CA and token (`token: null` sends none). */
export async function kubeRequest(server: KubeApiServer, method: string, path: string, opts: { body?: unknown; contentType?: string; token?: string | null } = {}): Promise<KubeResponse> {
  const res = await open(server, method, path, opts);
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString();
  return { status: res.statusCode ?? 0, headers: res.headers, body: text === "" ? undefined : JSON.parse(text) };
}

/** A watch event as the server writes it, one per line. */
export interface WatchEvent {
  type: string;
  object: any;
}

/** An open watch stream read line by line. */
export interface RawWatch {
  status: number;
  headers: IncomingMessage["headers"];
  /** The next event; rejects when the stream ends first. */
  next(): Promise<WatchEvent>;
  /** Resolves when the stream ends: `clean` when the response completed, false when the connection was cut. */
  ended: Promise<{ clean: boolean }>;
  close(): void;
}

export async function openWatch(server: KubeApiServer, path: string): Promise<RawWatch> {
  const res = await open(server, "GET", path, {});
  const queue: WatchEvent[] = [];
  const waiting: { resolve: (e: WatchEvent) => void; reject: (e: Error) => void }[] = [];
  let done = false;
  const ended = new Promise<{ clean: boolean }>((resolve) => {
    let clean = false;
    res.on("end", () => (clean = true));
    res.on("error", () => undefined);
    res.on("close", () => {
      done = true;
      for (const w of waiting.splice(0)) w.reject(new Error("watch ended"));
      resolve({ clean: clean || res.complete });
    });
  });
  const lines = createInterface(res);
  // readline re-emits the response's "aborted" error: the end is reported by `ended`.
  lines.on("error", () => undefined);
  lines.on("line", (line) => {
    const e = JSON.parse(line) as WatchEvent;
    const w = waiting.shift();
    if (w) w.resolve(e);
    else queue.push(e);
  });
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    next: () => {
      const e = queue.shift();
      if (e) return Promise.resolve(e);
      if (done) return Promise.reject(new Error("watch ended"));
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    ended,
    close: () => res.destroy(),
  };
}
