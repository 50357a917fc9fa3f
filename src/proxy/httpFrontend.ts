import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { RequestObserver } from "../telemetry/metrics.js";
import type { AccessLog } from "../telemetry/log.js";
import { normalizeHost } from "../model/host.js";
import { originForm, requestPath } from "../routing/routeTable.js";
import type { Snapshot, SnapshotSource } from "../snapshot/snapshot.js";
import type { Endpoint } from "../upstream/endpoint.js";
import type { ServicePool } from "../upstream/servicePool.js";
import { isWebSocketUpgrade, serveWithoutUpgrade } from "./declinedUpgrade.js";
import { rawError, sendError } from "./errorResponse.js";
import { watchBodyStall } from "./clientBodyTimeout.js";
import { ForwardHandler, hasRequestBody } from "./forward.js";
import type { ClientAddressResolver } from "./clientAddress.js";
import { hasDuplicateHost, peerAddress, upstreamRequestHeaders, type ForwardedInfo } from "./headers.js";
import { relay } from "../net/relay.js";
import { framingRefusal } from "./requestFraming.js";
import { classify, mayResend, type UpstreamFailure } from "./upstreamError.js";

export interface FrontendOptions {
  snapshots: SnapshotSource;
  /** Access log: one line per request. */
  accessLog: AccessLog;
  proto: "http" | "https";
  clientAddress: ClientAddressResolver;
  /** How long to hold a request while every endpoint refuses (`--upstream-try-duration`); 0 = not at all. */
  tryDurationMs: number;
  /** Metrics: told of every answered request and every failed upstream connection. */
  observer?: RequestObserver;
  /** The longest a client may send nothing of a request body (nginx's client_body_timeout). */
  clientBodyTimeoutMs: number;
}

/** Where plain-HTTP requests of TLS hosts are sent: the HTTPS port clients reach. */
export interface RedirectTarget {
  httpsPort: number;
}

/** RFC 9112 §3.2: a request naming two hosts is refused, and its connection closed (as nginx). */
const DUPLICATE_HOST = "more than one Host header";
const CLOSE_CONNECTION = { connection: "close" };

/** How often a held request tries again (Caddy's lb_try_interval). */
const HOLD_RETRY_MS = 250;

/** The Service pool of a request, or the answer ingressd gives itself. */
type Target =
  | { pool: ServicePool; backend: string; host: string }
  | { status: number; detail: string; backend?: string; host?: string }
  | { redirect: string; host: string };

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
  /** Set while the request is held for a restarting upstream. */
  holdTimer?: NodeJS.Timeout;
  /** The matched rule's host as written, the metrics label (never the raw Host header). */
  routeHost: string;
}

/**
 * The HTTP(S) front end: route by Host and path on the current snapshot, pick an
 * endpoint, stream the request there. Request handling is a short list of named
 * steps (select target → build upstream headers → forward → answer errors), each
 * in its own function.
 */
export class HttpFrontend {
  private readonly tunnels = new Set<Duplex>();
  /** Connections closing after a refused request: requests pipelined behind it are dropped. */
  private readonly refusedConnections = new WeakSet<Duplex>();
  /** Set on shutdown: responses then close their connection instead of keeping it alive. */
  private draining: (() => void) | undefined;

  /** Set on the plain-HTTP front end once HTTPS listens: TLS hosts are then redirected there. */
  redirect: RedirectTarget | undefined;

  constructor(private readonly options: FrontendOptions) {}

  readonly handleRequest = (req: IncomingMessage, res: ServerResponse): void => {
    // Pipelined behind a refused request (its response waits for a socket): never served, as
    // nginx reads nothing after an answer that closes the connection.
    if (res.socket === null && this.refusedConnections.has(req.socket)) return;
    const snapshot = this.options.snapshots.current;
    const x = this.exchange(req, res);
    res.once("close", () => {
      // The client went away before the response was done: stop the upstream request.
      if (!res.writableFinished) x.inFlight?.abort(new Error("client closed the connection"));
      if (x.holdTimer) clearTimeout(x.holdTimer);
      this.logAccess(x);
      this.draining?.();
    });
    if (this.draining) res.setHeader("connection", "close");
    const refusal = framingRefusal(req);
    if (refusal) {
      this.refusedConnections.add(req.socket);
      this.fail(x, refusal.status, refusal.detail, CLOSE_CONNECTION);
      return;
    }
    if (hasRequestBody(req)) watchBodyStall(req, this.options.clientBodyTimeoutMs, () => this.bodyStalled(x));
    if (hasDuplicateHost(req.rawHeaders)) {
      this.refusedConnections.add(req.socket);
      this.fail(x, 400, DUPLICATE_HOST, CLOSE_CONNECTION);
      return;
    }
    const target = selectTarget(snapshot, req, x.path, this.redirect);
    if (target.host !== undefined) x.routeHost = target.host;
    if ("redirect" in target) {
      x.bytes = sendRedirect(res, target.redirect, x.fwd.requestId);
      return;
    }
    if ("status" in target) {
      if (target.backend) x.backend = target.backend;
      this.fail(x, target.status, target.detail);
      return;
    }
    x.backend = target.backend;
    this.dispatch(x, target.pool, false);
  };

  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const refusal = framingRefusal(req);
    if (refusal) {
      rawError(socket, refusal.status, refusal.detail, this.forwardedInfo(req).requestId);
      return;
    }
    if (!isWebSocketUpgrade(req)) {
      serveWithoutUpgrade(req, socket, head);
      return;
    }
    socket.on("error", () => socket.destroy());
    const snapshot = this.options.snapshots.current;
    const fwd = this.forwardedInfo(req);
    if (hasDuplicateHost(req.rawHeaders)) {
      rawError(socket, 400, DUPLICATE_HOST, fwd.requestId);
      return;
    }
    const selected = selectTarget(snapshot, req, requestPath(req.url), undefined);
    if ("redirect" in selected) {
      socket.destroy(); // unreachable: upgrades are asked for no redirect target
      return;
    }
    const endpoint = "status" in selected ? undefined : selected.pool.pick({ clientIp: fwd.client });
    const target = "status" in selected ? selected : endpoint ? { ...selected, endpoint } : noEndpoint(selected.pool);
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
        target.pool.reportSuccess(target.endpoint);
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
        this.options.observer?.request({ host: target.host, service: target.backend, status: 101, durationMs: 0, bytes: 0 });
        this.options.accessLog("info", { method: req.method ?? "GET", host: fwd.host, path: requestPath(req.url), status: 101, backend: target.backend, upstream: target.endpoint.address, request_id: fwd.requestId, client: fwd.client, error: undefined });
      })
      .catch((err: Error) => {
        const failure = classify(err);
        this.reportFailure(target.pool, target.endpoint, failure);
        if (socket.destroyed) return;
        rawError(socket, failure.status, `upstream ${target.backend} did not accept the upgrade (${failure.description})`, fwd.requestId);
        this.options.accessLog("warn", { method: req.method ?? "GET", host: fwd.host, path: requestPath(req.url), status: failure.status, backend: target.backend, upstream: target.endpoint.address, request_id: fwd.requestId, client: fwd.client, error: failure.code });
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

  /**
   * The client sent nothing of the body for the client body timeout: 408 if no answer has
   * started (nginx's client_body_timeout), else the connection is cut. The upstream request
   * is stopped either way, its body never completed.
   */
  private bodyStalled(x: Exchange): void {
    if (x.res.headersSent) {
      x.req.socket.destroy(); // an unfinished response is stopped upstream by its 'close'
      return;
    }
    this.refusedConnections.add(x.req.socket);
    this.fail(x, 408, "request body not received in time", CLOSE_CONNECTION);
    // Once the 408 is out: stopping the upstream request first would answer the client 502.
    x.res.once("finish", () => x.inFlight?.abort(new Error("client body timeout")));
  }

  /**
   * Relays the upgraded connection as the L4 listeners do: a close on one side reaches the
   * other only after the bytes before it are written (a final WebSocket frame sent just
   * before the upstream closes arrives whole).
   */
  private tunnel(client: Duplex, upstream: Duplex): void {
    this.tunnels.add(client);
    client.once("close", () => {
      upstream.destroy(); // nothing more can reach the client: whatever the upstream still sends is moot
      this.tunnels.delete(client);
    });
    relay(client, upstream);
  }

  private forwardedInfo(req: IncomingMessage): ForwardedInfo {
    const incomingId = req.headers["x-request-id"];
    const peer = peerAddress(req.socket.remoteAddress);
    return {
      peer,
      client: this.options.clientAddress.resolve(peer, req.headers["x-forwarded-for"]),
      host: req.headers.host ?? "",
      proto: this.options.proto,
      port: req.socket.localPort ?? 0,
      requestId: typeof incomingId === "string" && incomingId.length > 0 && incomingId.length <= 200 ? incomingId : randomUUID(),
    };
  }

  private exchange(req: IncomingMessage, res: ServerResponse): Exchange {
    return { req, res, start: performance.now(), fwd: this.forwardedInfo(req), path: requestPath(req.url), bytes: 0, routeHost: "_unmatched" };
  }

  /**
   * Picks an endpoint and forwards. With none available: hold the request if the
   * Service allows it (a restarting upstream), else 503 with Retry-After.
   */
  private dispatch(x: Exchange, pool: ServicePool, holding: boolean): void {
    const endpoint = pool.pick({ clientIp: x.fwd.client }, holding);
    if (endpoint) {
      this.forward(x, pool, endpoint, 0, holding);
      return;
    }
    if (pool.endpoints.length > 0 && this.hold(x, pool)) return;
    const none = noEndpoint(pool);
    this.fail(x, none.status, holding ? `every endpoint of Service ${pool.key} stayed unavailable for the whole try duration` : none.detail, none.headers);
  }

  /**
   * Tries again in a moment while the try duration lasts (the last wait shortened to
   * end at the deadline, as Caddy's lb_try_duration); false once it is over.
   */
  private hold(x: Exchange, pool: ServicePool): boolean {
    const tryMs = pool.spec.health.tryDurationMs ?? this.options.tryDurationMs;
    const remaining = tryMs - (performance.now() - x.start);
    if (tryMs <= 0 || remaining <= 0 || x.req.readableDidRead) return false;
    x.holdTimer = setTimeout(() => {
      x.holdTimer = undefined;
      if (!x.res.destroyed) this.dispatch(x, pool, true);
    }, Math.min(HOLD_RETRY_MS, remaining));
    return true;
  }

  /**
   * Streams to `endpoint`. A failure before any response is counted against the endpoint
   * (see `classify`); the request then tries one other endpoint, or is held, only when it
   * may be sent again (see `mayResend`: never a POST that may have reached the upstream).
   */
  private forward(x: Exchange, pool: ServicePool, endpoint: Endpoint, attempt: number, holding: boolean): void {
    const { req, res } = x;
    x.upstream = endpoint.address;
    const handler = new ForwardHandler(res, x.fwd.requestId, (outcome) => {
      x.bytes += outcome.bytes;
      const err = outcome.error;
      if (!err) {
        pool.reportSuccess(endpoint);
        return;
      }
      if (!res.writableEnded && res.destroyed) return; // the client left first: logged as 499
      const failure = classify(err);
      x.error = failure.code;
      if (outcome.responded) {
        res.destroy(); // a response under way cannot change status: cut it so the client sees the failure
        return;
      }
      this.reportFailure(pool, endpoint, failure);
      if (mayResend(failure, { sent: outcome.sent, method: req.method ?? "GET", bodyRead: req.readableDidRead })) {
        const other = attempt === 0 && !holding ? pool.pickOther(endpoint, { clientIp: x.fwd.client }) : undefined;
        if (other) {
          this.forward(x, pool, other, 1, holding);
          return;
        }
        if (failure.connection) {
          // Held only when connections fail (an upstream restarting), not after a read timeout.
          if (this.hold(x, pool)) return;
          if (holding) {
            const none = noEndpoint(pool);
            this.fail(x, 503, `every endpoint of Service ${pool.key} refused connections for the whole try duration`, none.headers);
            return;
          }
        }
      }
      x.bytes += sendError(res, failure.status, `upstream ${pool.key} failed: ${failure.description}`, x.fwd.requestId);
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

  /** Passive health and the connect-errors metric hear of a failure that counts. */
  private reportFailure(pool: ServicePool, endpoint: Endpoint, failure: UpstreamFailure): void {
    if (failure.passive) pool.reportFailure(endpoint, failure.code);
    if (failure.connection) this.options.observer?.connectError(pool.key, endpoint.address);
  }

  /** ingressd's own answer, recorded for the access log. */
  private fail(x: Exchange, status: number, detail: string, headers?: Record<string, string>): void {
    x.error = detail;
    x.bytes += sendError(x.res, status, detail, x.fwd.requestId, headers);
  }

  private logAccess(x: Exchange): void {
    const status = x.res.writableFinished ? x.res.statusCode : 499; // nginx's "client closed request"
    const durationMs = performance.now() - x.start;
    this.options.observer?.request({ host: x.routeHost, service: x.backend ?? "", status, durationMs, bytes: x.bytes });
    this.options.accessLog(status >= 500 || status === 499 ? "warn" : "info", {
      method: x.req.method ?? "GET",
      host: x.fwd.host,
      path: x.path,
      status,
      backend: x.backend,
      upstream: x.upstream,
      duration_ms: Math.round(durationMs * 100) / 100,
      bytes: x.bytes,
      request_id: x.fwd.requestId,
      client: x.fwd.client,
      error: x.error,
    });
  }
}

/** Route → Service pool, or the status ingressd answers itself (a redirect to HTTPS among them). */
function selectTarget(snapshot: Snapshot, req: IncomingMessage, path: string, redirect: RedirectTarget | undefined): Target {
  const route = snapshot.routes.lookup(req.headers.host, path);
  if (!route) return { status: 404, detail: `no route for host "${req.headers.host ?? ""}" and path "${path}"` };
  const host = route.host ?? "*";
  if (redirect && route.redirectToHttps) {
    const port = redirect.httpsPort === 443 ? "" : `:${redirect.httpsPort}`;
    // An HTTP/1.0 client may send no Host: name the address it connected to instead.
    const name = normalizeHost(req.headers.host) || bracketed(req.socket.localAddress ?? "localhost");
    return { redirect: `https://${name}${port}${originForm(req.url)}`, host };
  }
  const backend = route.backend.key;
  const pool = snapshot.pools.get(backend);
  if (!pool) return { status: 503, detail: `Service ${route.backend.namespace}/${route.backend.service} port ${route.backend.port} is not defined`, backend, host };
  return { pool, backend, host };
}

/** The 503 of a pool with no endpoint to offer, with Retry-After when some are only out for now. */
function noEndpoint(pool: ServicePool): { status: number; detail: string; headers?: Record<string, string> } {
  if (pool.endpoints.length === 0) return { status: 503, detail: `Service ${pool.key} has no ready endpoints` };
  return {
    status: 503,
    detail: `every endpoint of Service ${pool.key} is out of rotation (failing health checks)`,
    headers: { "retry-after": String(pool.retryAfterSeconds()) },
  };
}

function bracketed(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}

/** 308 keeps the method and body, unlike 301/302 (ingress-nginx's ssl-redirect default). */
function sendRedirect(res: ServerResponse, location: string, requestId: string): number {
  const body = `308 Permanent Redirect: ${location}\n`;
  res.writeHead(308, { location, "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body), server: "ingressd", "x-request-id": requestId });
  res.end(body);
  return Buffer.byteLength(body);
}
