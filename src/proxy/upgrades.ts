import { STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Dispatcher } from "undici";
import type { Route, WeightedBackend } from "../model/route.js";
import { relay } from "../net/relay.js";
import { originForm, requestPath } from "../routing/requestPath.js";
import type { Snapshot } from "../snapshot/snapshot.js";
import { accessRecord } from "./accessRecord.js";
import { protocolOf } from "./clientMessage.js";
import { pickContext, sendAffinityCookie } from "./balanceContext.js";
import { isWebSocketUpgrade, serveWithoutUpgrade } from "./declinedUpgrade.js";
import { rawError } from "./errorResponse.js";
import { headersSentUpstream, type Exchange } from "./exchange.js";
import type { FilterEnv } from "./filters/filterStep.js";
import { runBackendFilters, runFilters } from "./filters/pipeline.js";
import { hasDuplicateHost, type ForwardedInfo } from "./headers.js";
import type { FrontendOptions } from "./frontendOptions.js";
import { framingRefusal } from "./requestFraming.js";
import { IncomingFacts } from "./incomingFacts.js";
import { drawBackend, noEndpoint, poolOf } from "./target.js";
import { classify } from "./upstreamError.js";

/**
 * WebSocket upgrades: routed, filtered (access rules, auth, limits apply to them as to
 * any request) and dispatched like requests, then relayed as a tunnel. Anything else
 * asking to upgrade is served as the plain request it also is (see declinedUpgrade).
 */
export class UpgradeHandler {
  private readonly tunnels = new Set<Duplex>();

  constructor(
    private readonly options: FrontendOptions,
    private readonly forwardedInfo: (req: IncomingMessage) => ForwardedInfo,
    private readonly env: FilterEnv,
  ) {}

  get openTunnels(): number {
    return this.tunnels.size;
  }

  closeTunnels(): void {
    for (const t of this.tunnels) t.destroy();
  }

  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void {
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
    const x = this.exchange(req, socket);
    if (hasDuplicateHost(req.rawHeaders)) {
      rawError(socket, 400, "more than one Host header", x.fwd.requestId);
      return;
    }
    const route = snapshot.routes.lookup(req.headers.host, x.path, new IncomingFacts(req, this.options.proto));
    if (!route) {
      rawError(socket, 404, `no route for host "${req.headers.host ?? ""}" and path "${x.path}"`, x.fwd.requestId);
      return;
    }
    x.route = route;
    x.routeHost = route.match.host ?? "*";
    this.afterFilters(x, socket, runFilters(x, route, this.env), () => this.toBackend(x, req, socket, head, snapshot, route));
  }

  /** `next` unless a filter answered (logged then); after a filter that waited, only if the client is still there. */
  private afterFilters(x: Exchange & { status?: number }, socket: Duplex, answered: boolean | Promise<boolean>, next: () => void): void {
    if (answered === false) next();
    else if (answered === true) this.options.accessLog("info", accessRecord(x, x.status ?? 0));
    else {
      void answered.then(
        (done) => {
          if (done) this.options.accessLog("info", accessRecord(x, x.status ?? 0));
          else if (!socket.destroyed) next();
        },
        (err: Error) => rawError(socket, 500, `a filter of the route failed: ${err.message}`, x.fwd.requestId),
      );
    }
  }

  /** The filters let the upgrade through: on to a backend of the route, through that backend's own filters. */
  private toBackend(x: Exchange, req: IncomingMessage, socket: Duplex, head: Buffer, snapshot: Snapshot, route: Route): void {
    const drawn = drawBackend(snapshot, route, x.req);
    if ("status" in drawn) {
      rawError(socket, drawn.status, drawn.detail, x.fwd.requestId);
      return;
    }
    if (drawn.filters === undefined) this.toEndpoint(x, req, socket, head, snapshot, drawn);
    else this.afterFilters(x, socket, runBackendFilters(x, route, drawn, this.env), () => this.toEndpoint(x, req, socket, head, snapshot, drawn));
  }

  /** On to an endpoint of the drawn backend, then the tunnel. Mirrors and response header changes do not apply to upgrades. */
  private toEndpoint(x: Exchange, req: IncomingMessage, socket: Duplex, head: Buffer, snapshot: Snapshot, drawn: WeightedBackend): void {
    const target = poolOf(snapshot, drawn);
    if ("status" in target) {
      rawError(socket, target.status, target.detail, x.fwd.requestId);
      return;
    }
    const { pool } = target;
    x.backend = target.backend;
    const ctx = pickContext(x);
    const endpoint = pool.pick(ctx);
    if (!endpoint) {
      const none = noEndpoint(pool);
      rawError(socket, none.status, none.detail, x.fwd.requestId);
      return;
    }
    sendAffinityCookie(x, ctx);
    x.upstream = endpoint.address;
    const abort = new AbortController();
    socket.once("close", () => abort.abort());
    const readMs = x.timeouts?.readMs;
    const upgrade: Dispatcher.UpgradeOptions & { headersTimeout?: number } = {
      path: x.upstreamTarget,
      method: req.method ?? "GET",
      headers: headersSentUpstream(x),
      protocol: String(req.headers.upgrade ?? "websocket"),
      signal: abort.signal,
      responseHeaders: "raw",
    };
    // proxy-read-timeout for the handshake (undici passes the option on to dispatch, though its upgrade type omits it).
    if (readMs !== undefined) upgrade.headersTimeout = readMs;
    endpoint.dispatcher
      .upgrade(upgrade)
      .then(({ headers: raw, socket: upstream }) => {
        pool.reportSuccess(endpoint);
        let response = "HTTP/1.1 101 Switching Protocols\r\n";
        const pairs = raw as unknown as (Buffer | string)[];
        for (let i = 0; i + 1 < pairs.length; i += 2) {
          const name = String(pairs[i]);
          const lower = name.toLowerCase();
          // The route's CORS headers replace the upstream's, as on any response (never both).
          if (lower === "server" || (x.responseHeaders !== undefined && lower.startsWith("access-control-") && lower in x.responseHeaders)) continue;
          response += `${name}: ${String(pairs[i + 1])}\r\n`;
        }
        response += `${rawHeaderLines(x.responseHeaders)}Server: ingressd\r\n\r\n`;
        if (socket.destroyed) {
          upstream.destroy();
          return;
        }
        socket.write(response);
        if (head.length > 0) upstream.write(head);
        this.tunnel(socket, upstream, readMs);
        this.options.observer?.request({ host: x.routeHost, service: target.backend, route: x.route, status: 101, durationMs: 0, bytes: 0, protocol: protocolOf(x.req) });
        this.options.accessLog("info", accessRecord(x, 101));
      })
      .catch((err: Error) => {
        const failure = classify(err);
        if (failure.passive) pool.reportFailure(endpoint, failure.code);
        if (failure.connection) this.options.observer?.connectError(pool.key, endpoint.address);
        if (socket.destroyed) return;
        rawError(socket, failure.status, `upstream ${target.backend} did not accept the upgrade (${failure.description})`, x.fwd.requestId);
        x.error = failure.code;
        this.options.accessLog("warn", accessRecord(x, failure.status));
      });
  }

  private exchange(req: IncomingMessage, socket: Duplex): Exchange & { status?: number } {
    const x: Exchange & { status?: number } = {
      req,
      start: performance.now(),
      fwd: this.forwardedInfo(req),
      path: requestPath(req.url),
      bytes: 0,
      routeHost: "_unmatched",
      upstreamTarget: originForm(req.url),
      reply: (status, headers, body) => {
        x.status = status;
        const length = Buffer.byteLength(body);
        const all = { ...x.responseHeaders, ...headers, "content-length": length, "x-request-id": x.fwd.requestId };
        socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\nServer: ingressd\r\nDate: ${new Date().toUTCString()}\r\n${rawHeaderLines(all)}Connection: close\r\n\r\n${body}`);
        x.bytes += length;
      },
      // The client's connection: it closes when the tunnel does, or after an error answer.
      whenDone: (done) => socket.once("close", done),
    };
    return x;
  }

  /**
   * Relays the upgraded connection as the L4 listeners do: a close on one side reaches the
   * other only after the bytes before it are written (a final WebSocket frame sent just
   * before the upstream closes arrives whole). The client side is an upgraded HTTP/1.1
   * socket or an HTTP/2 stream (RFC 8441): either way the tunnel is counted, closed at
   * shutdown and idle-limited alike.
   */
  tunnel(client: Duplex, upstream: Duplex, idleMs: number | undefined): void {
    // nginx closes an upgraded connection after proxy_read_timeout without traffic; with no
    // proxy-read-timeout on the route, ingressd's tunnels have no idle limit.
    if (idleMs !== undefined && upstream instanceof Socket) upstream.setTimeout(idleMs, () => upstream.destroy());
    this.tunnels.add(client);
    client.once("close", () => {
      upstream.destroy(); // nothing more can reach the client: whatever the upstream still sends is moot
      this.tunnels.delete(client);
    });
    relay(client, upstream);
  }
}

/** `Name: value\r\n` lines; a list value gives one line per item (Set-Cookie). */
function rawHeaderLines(headers: OutgoingHttpHeaders | undefined): string {
  let out = "";
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined) continue;
    for (const item of Array.isArray(v) ? v : [v]) out += `${name}: ${String(item)}\r\n`;
  }
  return out;
}
