import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { AccessLog } from "../log.js";
import { originForm, requestPath } from "../routing/routeTable.js";
import type { Snapshot, SnapshotSource } from "../snapshot.js";
import type { Endpoint } from "../upstream/endpoint.js";
import type { ServicePool } from "../upstream/servicePool.js";
import { sendError } from "./errorResponse.js";
import { ForwardHandler, hasRequestBody, isConnectFailure, statusForUpstreamError } from "./forward.js";
import { peerAddress, upstreamRequestHeaders, type ForwardedInfo } from "./headers.js";

export interface FrontendOptions {
  snapshots: SnapshotSource;
  /** Access log: one line per request. */
  accessLog: AccessLog;
  proto: "http" | "https";
}

/** The selected upstream of a request, or the answer ingressd gives itself. */
type Target =
  | { pool: ServicePool; endpoint: Endpoint; backend: string }
  | { status: number; detail: string; backend?: string };

/** Per-request state shared by the steps of one request. */
interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  start: number;
  fwd: ForwardedInfo;
  path: string;
  backend?: string;
  upstream?: string;
  error?: string;
  bytes: number;
  /** The upstream request under way, to abort if the client leaves. */
  inFlight?: ForwardHandler;
}

/**
 * The HTTP(S) front end: route by Host and path on the current snapshot, pick an
 * endpoint, stream the request there. Request handling is a short list of named
 * steps (select target → build upstream headers → forward → answer errors), each
 * in its own function.
 */
export class HttpFrontend {
  private readonly tunnels = new Set<Duplex>();
  /** Set on shutdown: responses then close their connection instead of keeping it alive. */
  private draining: (() => void) | undefined;

  constructor(private readonly options: FrontendOptions) {}

  readonly handleRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const snapshot = this.options.snapshots.current;
    const x = this.exchange(req, res);
    res.once("close", () => {
      // The client went away before the response was done: stop the upstream request.
      if (!res.writableFinished) x.inFlight?.abort(new Error("client closed the connection"));
      this.logAccess(x);
      this.draining?.();
    });
    if (this.draining) res.setHeader("connection", "close");
    const target = selectTarget(snapshot, req, x.path, x.fwd.peer);
    if ("status" in target) {
      if (target.backend) x.backend = target.backend;
      x.error = target.detail;
      x.bytes = sendError(res, target.status, target.detail, x.fwd.requestId);
      return;
    }
    x.backend = target.backend;
    this.forward(x, target.pool, target.endpoint, 0);
  };

  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on("error", () => socket.destroy());
    const snapshot = this.options.snapshots.current;
    const fwd = this.forwardedInfo(req);
    const target = selectTarget(snapshot, req, requestPath(req.url), fwd.peer);
    if ("status" in target) {
      rawError(socket, target.status, target.detail, fwd.requestId);
      return;
    }
    const abort = new AbortController();
    socket.once("close", () => abort.abort());
    const headers = upstreamRequestHeaders(req, fwd);
    target.endpoint.dispatcher
      .upgrade({
        path: originForm(req.url),
        method: req.method ?? "GET",
        headers,
        protocol: String(req.headers.upgrade ?? "websocket"),
        signal: abort.signal,
        responseHeaders: "raw",
      })
      .then(({ headers: raw, socket: upstream }) => {
        let response = "HTTP/1.1 101 Switching Protocols\r\n";
        const pairs = raw as unknown as (Buffer | string)[];
        for (let i = 0; i + 1 < pairs.length; i += 2) {
          const name = String(pairs[i]);
          if (name.toLowerCase() === "server") continue;
          response += `${name}: ${String(pairs[i + 1])}\r\n`;
        }
        response += "Server: ingressd\r\n\r\n";
        if (socket.destroyed) {
          upstream.destroy();
          return;
        }
        socket.write(response);
        if (head.length > 0) upstream.write(head);
        this.tunnel(socket, upstream);
        this.options.accessLog("info", { method: req.method, host: fwd.host, path: requestPath(req.url), status: 101, backend: target.backend, upstream: target.endpoint.address, request_id: fwd.requestId, client: fwd.peer });
      })
      .catch((err: Error) => {
        if (socket.destroyed) return;
        const status = statusForUpstreamError(err);
        rawError(socket, status, `upstream ${target.backend} did not accept the upgrade (${errorCode(err)})`, fwd.requestId);
        this.options.accessLog("warn", { method: req.method, host: fwd.host, path: requestPath(req.url), status, backend: target.backend, upstream: target.endpoint.address, error: errorCode(err), request_id: fwd.requestId, client: fwd.peer });
      });
  };

  /** Open WebSocket tunnels, for shutdown. */
  get openTunnels(): number {
    return this.tunnels.size;
  }

  /** From now on, close each connection once its response is done; `onResponseDone` runs after each. */
  drain(onResponseDone: () => void): void {
    this.draining = onResponseDone;
  }

  closeTunnels(): void {
    for (const t of this.tunnels) t.destroy();
  }

  private tunnel(client: Duplex, upstream: Duplex): void {
    this.tunnels.add(client);
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.on("close", () => {
      upstream.destroy();
      this.tunnels.delete(client);
    });
    upstream.pipe(client);
    client.pipe(upstream);
  }

  private forwardedInfo(req: IncomingMessage): ForwardedInfo {
    const incomingId = req.headers["x-request-id"];
    return {
      peer: peerAddress(req.socket.remoteAddress),
      host: req.headers.host ?? "",
      proto: this.options.proto,
      port: req.socket.localPort ?? 0,
      requestId: typeof incomingId === "string" && incomingId.length > 0 && incomingId.length <= 200 ? incomingId : randomUUID(),
    };
  }

  private exchange(req: IncomingMessage, res: ServerResponse): Exchange {
    return { req, res, start: performance.now(), fwd: this.forwardedInfo(req), path: requestPath(req.url), bytes: 0 };
  }

  /** Streams to `endpoint`; a refused connection before any body was sent tries one other endpoint. */
  private forward(x: Exchange, pool: ServicePool, endpoint: Endpoint, attempt: number): void {
    const { req, res } = x;
    x.upstream = endpoint.address;
    const handler = new ForwardHandler(res, x.fwd.requestId, (outcome) => {
      x.bytes += outcome.bytes;
      const err = outcome.error;
      if (!err) return;
      if (!res.writableEnded && res.destroyed) return; // the client left first: logged as 499
      x.error = errorCode(err);
      if (!outcome.responded && attempt === 0 && isConnectFailure(err) && !req.readableDidRead) {
        const other = pool.pickOther(endpoint, { clientIp: x.fwd.peer });
        if (other) {
          this.forward(x, pool, other, 1);
          return;
        }
      }
      const status = statusForUpstreamError(err);
      x.bytes += sendError(res, status, `upstream ${pool.key} failed: ${describeError(err)}`, x.fwd.requestId);
    });
    x.inFlight = handler;
    const body = hasRequestBody(req) ? req : null;
    endpoint.dispatcher.dispatch(
      {
        path: originForm(req.url),
        method: req.method ?? "GET",
        headers: upstreamRequestHeaders(req, x.fwd),
        body,
        idempotent: false,
      },
      handler,
    );
  }

  private logAccess(x: Exchange): void {
    const status = x.res.writableFinished ? x.res.statusCode : 499; // nginx's "client closed request"
    this.options.accessLog(status >= 500 || status === 499 ? "warn" : "info", {
      method: x.req.method,
      host: x.fwd.host,
      path: x.path,
      status,
      backend: x.backend,
      upstream: x.upstream,
      duration_ms: Math.round((performance.now() - x.start) * 100) / 100,
      bytes: x.bytes,
      request_id: x.fwd.requestId,
      client: x.fwd.peer,
      error: x.error,
    });
  }
}

/** Route → Service pool → endpoint, or the status ingressd answers itself. */
function selectTarget(snapshot: Snapshot, req: IncomingMessage, path: string, clientIp: string): Target {
  const route = snapshot.routes.lookup(req.headers.host, path);
  if (!route) return { status: 404, detail: `no route for host "${req.headers.host ?? ""}" and path "${path}"` };
  const backend = route.backend.key;
  const pool = snapshot.pools.get(backend);
  if (!pool) return { status: 503, detail: `Service ${route.backend.namespace}/${route.backend.service} port ${route.backend.port} is not defined`, backend };
  const endpoint = pool.pick({ clientIp });
  if (!endpoint) return { status: 503, detail: `Service ${backend} has no ready endpoints`, backend };
  return { pool, endpoint, backend };
}

function errorCode(err: Error): string {
  return (err as { code?: string }).code ?? err.name;
}

function describeError(err: Error): string {
  switch (errorCode(err)) {
    case "ECONNREFUSED": return "connection refused";
    case "ECONNRESET": return "connection reset";
    case "UND_ERR_CONNECT_TIMEOUT": return "connect timeout";
    case "UND_ERR_HEADERS_TIMEOUT": return "no response in time (read timeout)";
    case "UND_ERR_BODY_TIMEOUT": return "response body stalled (read timeout)";
    case "ENOTFOUND": return "host name not found";
    default: return errorCode(err);
  }
}

/** An error answer on a raw socket (upgrade requests have no ServerResponse). */
function rawError(socket: Duplex, status: number, detail: string, requestId: string): void {
  const body = `${status} ${STATUS_CODES[status] ?? ""}: ${detail}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\nServer: ingressd\r\nDate: ${new Date().toUTCString()}\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-ID: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
  );
}
