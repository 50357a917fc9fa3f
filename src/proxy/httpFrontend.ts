import { randomUUID } from "node:crypto";
import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { Duplex, Readable } from "node:stream";
import type { Dispatcher } from "undici";
import type { Route, WeightedBackend } from "../model/route.js";
import { peerAddress } from "../net/peerAddress.js";
import { originForm, requestPath } from "../routing/requestPath.js";
import type { Snapshot } from "../snapshot/snapshot.js";
import type { PickContext } from "../upstream/balancer.js";
import type { Endpoint } from "../upstream/endpoint.js";
import type { ServicePool } from "../upstream/servicePool.js";
import { accessRecord } from "./accessRecord.js";
import { pickContext, sendAffinityCookie } from "./balanceContext.js";
import { watchBodyStall } from "./clientBodyTimeout.js";
import { asHttp1Request, endWithHead, protocolOf, responseDestroyed, responseFinished, type ClientRequest, type ClientResponse } from "./clientMessage.js";
import { errorBody } from "./errorResponse.js";
import { grpcErrorHeaders, isGrpcRequest } from "./grpcError.js";
import { Http2Forward } from "./http2Forward.js";
import { isWebSocketConnect, openWebSocket } from "./h2WebSocket.js";
import { headersSentUpstream, type Exchange } from "./exchange.js";
import type { FilterEnv } from "./filters/filterStep.js";
import { refuseTooLarge } from "./filters/bodyLimit.js";
import { MIRROR_TIMEOUT_MS, sendMirrors } from "./filters/mirrorCopy.js";
import { runBackendFilters, runFilters } from "./filters/pipeline.js";
import { ForwardHandler, hasRequestBody, type ForwardOutcome } from "./forward.js";
import type { FrontendOptions } from "./frontendOptions.js";
import { hasDuplicateHost, type ForwardedInfo } from "./headers.js";
import { framingRefusal } from "./requestFraming.js";
import { IncomingFacts } from "./incomingFacts.js";
import { drawBackend, noEndpoint, poolOf } from "./target.js";
import { LimitedBody } from "./limitedBody.js";
import { UpgradeHandler } from "./upgrades.js";
import { classify, mayResend, sendTimeout, type UpstreamFailure } from "./upstreamError.js";
import { watchSendStall } from "./upstreamSendTimeout.js";

/**
 * Where redirects to the other scheme send clients: on the plain-HTTP front end the HTTPS
 * port (TLS hosts, Gateway API redirects to https), on the HTTPS one the plain-HTTP port.
 */
export interface RedirectTarget {
  httpsPort?: number;
  httpPort?: number;
}

/** RFC 9112 §3.2: a request naming two hosts is refused, and its connection closed (as nginx). */
export const DUPLICATE_HOST = "more than one Host header";
const CLOSE_CONNECTION = { connection: "close" };

/** How often a held request tries again (Caddy's lb_try_interval). */
const HOLD_RETRY_MS = 250;

export type { FrontendOptions };

/** An exchange with a response (HTTP/1.x or HTTP/2): an ordinary request. */
interface RequestExchange extends Exchange {
  readonly res: ClientResponse;
  /** The upstream request under way, to abort if the client leaves. */
  inFlight?: { abort(reason: Error): void };
  /** Set while the request is held for a restarting upstream. */
  holdTimer?: NodeJS.Timeout;
  /** Set once a WebSocket over HTTP/2 is open: its stream then ends as a tunnel does, not as a response. */
  tunnel?: true;
  /** What the endpoint was picked by, for the retry's pick. */
  pick?: PickContext;
  /** Why ingressd itself stopped the upstream request, having answered the client already (a body over its limit, a timeout). */
  stopped?: Error;
  /** The body sent upstream when it is not the request itself (read beside a mirror's copies). */
  body?: Readable;
}

/**
 * The HTTP(S) front end. A request goes through a short list of named steps: refuse
 * what is malformed → route by Host and path on the current snapshot → run the route's
 * filters (which may answer) → choose a backend and an endpoint → forward, answering
 * upstream failures. WebSocket upgrades take the same route and filters (see upgrades.ts).
 */
export class HttpFrontend {
  /** Connections closing after a refused request: requests pipelined behind it are dropped. */
  private readonly refusedConnections = new WeakSet<Duplex>();
  /** Set on shutdown: responses then close their connection instead of keeping it alive. */
  private draining: (() => void) | undefined;
  private readonly upgrades: UpgradeHandler;
  private readonly env: FilterEnv = { httpsPort: undefined };

  constructor(private readonly options: FrontendOptions) {
    this.upgrades = new UpgradeHandler(options, (req) => this.forwardedInfo(req), this.env);
  }

  /** Set on the plain-HTTP front end once HTTPS listens (TLS hosts are then redirected there), on the HTTPS one once HTTP does. */
  set redirect(target: RedirectTarget | undefined) {
    this.env.httpsPort = target?.httpsPort;
    this.env.httpPort = target?.httpPort;
  }

  readonly handleRequest = (req: ClientRequest, res: ClientResponse): void => {
    if (req.httpVersionMajor === 2) {
      asHttp1Request(req as Http2ServerRequest);
      // A CONNECT other than a WebSocket's (RFC 8441): no tunnels to anywhere, as Node answers without a 'connect' listener.
      if (req.method === "CONNECT" && !isWebSocketConnect(req)) {
        res.statusCode = 405;
        res.end();
        return;
      }
    }
    // Pipelined behind a refused request (its response waits for a socket): never served, as
    // nginx reads nothing after an answer that closes the connection.
    if (res.socket === null && this.refusedConnections.has(req.socket)) return;
    const snapshot = this.options.snapshots.current;
    const x = this.exchange(req, res);
    res.once("close", () => {
      // The client went away before the response was done: stop the upstream request.
      if (!x.tunnel && !responseFinished(res)) x.inFlight?.abort(new Error("client closed the connection"));
      if (x.holdTimer) clearTimeout(x.holdTimer);
      this.logAccess(x);
      this.draining?.();
    });
    // HTTP/2 has no Connection header: a draining session is closed by GOAWAY (see ingressd.ts).
    if (this.draining && req.httpVersionMajor !== 2) res.setHeader("connection", "close");
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
    const route = snapshot.routes.lookup(req.headers.host, x.path, new IncomingFacts(req, this.options.proto));
    if (!route) {
      this.fail(x, 404, `no route for host "${req.headers.host ?? ""}" and path "${x.path}"`);
      return;
    }
    x.route = route;
    x.routeHost = route.match.host ?? "*";
    this.afterFilters(x, runFilters(x, route, this.env), () => this.toBackend(x, snapshot, route));
  };

  /** `next` unless a filter answered; after a filter that waited, only if the client still waits. */
  private afterFilters(x: RequestExchange, answered: boolean | Promise<boolean>, next: () => void): void {
    if (answered === false) next();
    else if (answered !== true) {
      void answered.then(
        (done) => {
          // The client may have left, or the body timeout answered, while a filter waited.
          if (!done && !x.res.writableEnded && !responseDestroyed(x.res)) next();
        },
        (err: Error) => this.fail(x, 500, `a filter of the route failed: ${err.message}`),
      );
    }
  }

  /** The filters let the request through: on to a backend of the route, through that backend's own filters. */
  private toBackend(x: RequestExchange, snapshot: Snapshot, route: Route): void {
    const drawn = drawBackend(snapshot, route, x.req);
    if ("status" in drawn) {
      if (drawn.backend) x.backend = drawn.backend;
      this.fail(x, drawn.status, drawn.detail);
      return;
    }
    if (drawn.filters === undefined) this.toPool(x, snapshot, drawn);
    else this.afterFilters(x, runBackendFilters(x, route, drawn, this.env), () => this.toPool(x, snapshot, drawn));
  }

  private toPool(x: RequestExchange, snapshot: Snapshot, drawn: WeightedBackend): void {
    const target = poolOf(snapshot, drawn);
    if ("status" in target) {
      if (target.backend) x.backend = target.backend;
      this.fail(x, target.status, target.detail);
      return;
    }
    x.backend = target.backend;
    // Not a WebSocket over HTTP/2: its stream is a tunnel, not a body to copy.
    if (x.mirrors && !isWebSocketConnect(x.req)) this.mirror(x, snapshot);
    const requestMs = x.timeouts?.requestMs;
    if (requestMs !== undefined) this.limitExchange(x, requestMs);
    this.dispatch(x, target.pool, false);
  }

  /** Copies of the request to the route's mirrors; the request's own body is then read beside theirs. */
  private mirror(x: RequestExchange, snapshot: Snapshot): void {
    const req = x.req;
    const body = hasRequestBody(req) ? req : null;
    const request = { method: req.method ?? "GET", path: x.upstreamTarget, headers: headersSentUpstream(x), body, timeoutMs: x.timeouts?.requestMs ?? MIRROR_TIMEOUT_MS };
    const sent = sendMirrors(x.mirrors!, snapshot.pools, request, x.fwd.client, this.options.debug);
    if (sent && sent !== body) x.body = sent;
  }

  /**
   * Gateway API timeouts.request: the whole exchange, from the request's arrival until the
   * upstream's response is complete, held time and retries included.
   */
  private limitExchange(x: RequestExchange, ms: number): void {
    const timer = setTimeout(() => this.exceeded(x, `upstream response not complete within ${ms} ms (request timeout)`), Math.max(0, ms - (performance.now() - x.start)));
    x.res.once("close", () => clearTimeout(timer));
  }

  /**
   * A Gateway API timeout ran out: 504 if the response has not started, else it is cut.
   * The upstream request is stopped by ingressd, so it is not retried. An open WebSocket
   * (over HTTP/2) is a tunnel, not a response: it is left alone, as upgrades over HTTP/1.1 are.
   */
  private exceeded(x: RequestExchange, detail: string): void {
    if (x.tunnel || x.res.writableEnded || responseDestroyed(x.res)) return;
    x.stopped = new Error(detail);
    if (x.holdTimer) {
      clearTimeout(x.holdTimer);
      x.holdTimer = undefined;
    }
    if (x.res.headersSent) {
      x.error = detail;
      x.res.destroy();
    } else this.fail(x, 504, detail);
    x.inFlight?.abort(x.stopped);
  }

  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    this.upgrades.handle(req, socket, head);
  };

  /** Open WebSocket tunnels, for shutdown. */
  get openTunnels(): number {
    return this.upgrades.openTunnels;
  }

  /** From now on, close each connection once its response is done; `onResponseDone` runs after each. */
  drain(onResponseDone: () => void): void {
    this.draining = onResponseDone;
  }

  closeTunnels(): void {
    this.upgrades.closeTunnels();
  }

  /**
   * The client sent nothing of the body for the client body timeout: 408 if no answer has
   * started (nginx's client_body_timeout), else the connection is cut. The upstream request
   * is stopped either way, its body never completed.
   */
  private bodyStalled(x: RequestExchange): void {
    if (x.res.headersSent) {
      x.req.socket.destroy(); // an unfinished response is stopped upstream by its 'close'
      return;
    }
    this.refusedConnections.add(x.req.socket);
    this.fail(x, 408, "request body not received in time", CLOSE_CONNECTION);
    // Once the 408 is out: stopping the upstream request first would answer the client 502.
    x.res.once("finish", () => x.inFlight?.abort(new Error("client body timeout")));
  }

  private forwardedInfo(req: ClientRequest): ForwardedInfo {
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

  private exchange(req: ClientRequest, res: ClientResponse): RequestExchange {
    const x: RequestExchange = {
      req,
      res,
      start: performance.now(),
      fwd: this.forwardedInfo(req),
      path: requestPath(req.url),
      bytes: 0,
      routeHost: "_unmatched",
      upstreamTarget: originForm(req.url),
      reply: (status, headers, body) => {
        x.bytes += reply(res, status, headers, body, x.fwd.requestId, x.responseHeaders);
      },
      whenDone: whenResponseClosed,
    };
    return x;
  }

  /**
   * Picks an endpoint and forwards. With none available: hold the request if the
   * Service allows it (a restarting upstream), else 503 with Retry-After.
   */
  private dispatch(x: RequestExchange, pool: ServicePool, holding: boolean): void {
    const ctx = (x.pick = pickContext(x));
    const endpoint = pool.pick(ctx, holding);
    if (endpoint) {
      sendAffinityCookie(x, ctx);
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
  private hold(x: RequestExchange, pool: ServicePool): boolean {
    const tryMs = pool.spec.health.tryDurationMs ?? this.options.tryDurationMs;
    const remaining = tryMs - (performance.now() - x.start);
    if (tryMs <= 0 || remaining <= 0 || x.req.readableDidRead) return false;
    x.holdTimer = setTimeout(() => {
      x.holdTimer = undefined;
      if (!responseDestroyed(x.res)) this.dispatch(x, pool, true);
    }, Math.min(HOLD_RETRY_MS, remaining));
    return true;
  }

  /**
   * Streams to `endpoint`. A failure before any response is counted against the endpoint
   * (see `classify`); the request then tries one other endpoint, or is held, only when it
   * may be sent again (see `mayResend`: never a POST that may have reached the upstream).
   */
  private forward(x: RequestExchange, pool: ServicePool, endpoint: Endpoint, attempt: number, holding: boolean): void {
    if (endpoint.http2) {
      this.forwardHttp2(x, pool, endpoint);
      return;
    }
    if (isWebSocketConnect(x.req)) {
      this.openWebSocket(x, pool, endpoint);
      return;
    }
    const { req, res } = x;
    x.upstream = endpoint.address;
    const timeouts = x.timeouts;
    let stopSendWatch: (() => void) | undefined;
    const attemptTimer = this.limitAttempt(x, timeouts?.backendRequestMs);
    const handler = new ForwardHandler(res, x.fwd.requestId, (outcome) => {
      stopSendWatch?.();
      clearTimeout(attemptTimer);
      const failure = this.unanswered(x, pool, endpoint, outcome);
      if (!failure) return;
      if (mayResend(failure, { sent: outcome.sent, method: req.method ?? "GET", bodyRead: req.readableDidRead })) {
        const other = attempt === 0 && !holding ? this.pickOther(x, pool, endpoint) : undefined;
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
      this.fail(x, failure.status, `upstream ${pool.key} failed: ${failure.description}`);
      x.error = failure.code;
    }, x.responseHeaders, x.responseHeaderChanges);
    x.inFlight = handler;
    const body = hasRequestBody(req) ? this.requestBody(x) : null;
    const request: Dispatcher.DispatchOptions = {
      path: x.upstreamTarget,
      method: req.method ?? "GET",
      headers: headersSentUpstream(x),
      body,
      idempotent: false,
    };
    if (timeouts) {
      // proxy-read-timeout: nginx's proxy_read_timeout is the longest wait between two reads, for the head as for the body.
      if (timeouts.readMs !== undefined) request.headersTimeout = request.bodyTimeout = timeouts.readMs;
      if (timeouts.connectMs !== undefined) handler.connectWithin(timeouts.connectMs);
      if (timeouts.sendMs !== undefined && body) stopSendWatch = watchSendStall(body, timeouts.sendMs, () => handler.abort(sendTimeout(timeouts.sendMs!)));
    }
    endpoint.dispatcher.dispatch(request, handler);
  }

  /**
   * Streams to an HTTP/2 endpoint (gRPC). Not sent elsewhere on failure: a gRPC call may
   * have had effects, and the client retries per its own policy. Upstream timeouts other
   * than connecting do not apply: a gRPC stream may rightly stay quiet for long.
   */
  private forwardHttp2(x: RequestExchange, pool: ServicePool, endpoint: Endpoint): void {
    const { req, res } = x;
    x.upstream = endpoint.address;
    const attemptTimer = this.limitAttempt(x, x.timeouts?.backendRequestMs);
    const forward = new Http2Forward(res, x.fwd.requestId, (outcome) => {
      clearTimeout(attemptTimer);
      const failure = this.unanswered(x, pool, endpoint, outcome);
      if (!failure) return;
      this.fail(x, failure.status, `upstream ${pool.key} failed: ${failure.description}`);
      x.error = failure.code;
    }, x.responseHeaders, x.responseHeaderChanges);
    x.inFlight = forward;
    const te = req.headers.te;
    forward.start(
      endpoint.http2Session,
      {
        method: req.method ?? "GET",
        path: x.upstreamTarget,
        scheme: endpoint.tls ? "https" : "http",
        headers: headersSentUpstream(x),
        trailers: te !== undefined && te.includes("trailers"),
      },
      hasRequestBody(req) ? this.requestBody(x) : null,
    );
  }

  /** A WebSocket the client opened over HTTP/2 (RFC 8441), to the upstream as an HTTP/1.1 upgrade. */
  private openWebSocket(x: RequestExchange, pool: ServicePool, endpoint: Endpoint): void {
    const { req, res } = x;
    x.upstream = endpoint.address;
    const abort = new AbortController();
    x.inFlight = { abort: (reason) => abort.abort(reason) };
    // The frames are read off the stream itself; the request object takes the same bytes and drops them.
    req.resume();
    const stream = (res as Http2ServerResponse).stream;
    const readMs = x.timeouts?.readMs;
    openWebSocket(
      endpoint,
      {
        path: x.upstreamTarget,
        headers: headersSentUpstream(x),
        signal: abort.signal,
        ...(readMs !== undefined && { headersTimeout: readMs }),
      },
      (upstreamHeaders, upstream) => {
        pool.reportSuccess(endpoint);
        if (stream.destroyed) {
          upstream.destroy(); // the client left while the upstream answered
          return;
        }
        x.tunnel = true;
        res.writeHead(200, { ...upstreamHeaders, ...x.responseHeaders, server: "ingressd", "x-request-id": x.fwd.requestId });
        this.upgrades.tunnel(stream, upstream, readMs);
      },
      (err) => {
        if (responseDestroyed(res)) return;
        const failure = classify(err);
        this.reportFailure(pool, endpoint, failure);
        this.fail(x, failure.status, `upstream ${pool.key} did not accept the WebSocket (${failure.description})`);
        x.error = failure.code;
      },
    );
  }

  /**
   * The body to stream upstream: the request itself, or under a body limit without a
   * Content-Length (checked against the limit before), the request counted as it streams.
   */
  private requestBody(x: RequestExchange): Readable {
    const body = x.body ?? x.req;
    const max = x.bodyLimit;
    if (max === undefined || x.req.headers["content-length"] !== undefined) return body;
    return new LimitedBody(body, max, () => this.bodyTooLarge(x, max));
  }

  /**
   * Gateway API timeouts.backendRequest: this attempt, until its response is complete. A
   * timed-out attempt is not retried (see exceeded). The caller clears the timer when the attempt ends.
   */
  private limitAttempt(x: RequestExchange, ms: number | undefined): NodeJS.Timeout | undefined {
    if (ms === undefined) return undefined;
    return setTimeout(() => this.exceeded(x, `upstream response not complete within ${ms} ms (backend request timeout)`), ms);
  }

  /**
   * A chunked body passed proxy-body-size: the upstream request is stopped, and the client
   * answered 413 if its response has not started, else its connection is cut (as nginx,
   * which reads the whole body before proxying, never forwards such a body either).
   */
  private bodyTooLarge(x: RequestExchange, max: number): void {
    x.stopped = new Error(`request body larger than ${max} bytes (proxy-body-size)`);
    if (x.res.headersSent) x.res.destroy();
    else refuseTooLarge(x, max);
    x.inFlight?.abort(x.stopped);
  }

  /**
   * The retry's endpoint. A client that came with a good affinity cookie keeps it (as
   * ingress-nginx without session-cookie-change-on-failure): this one request goes
   * elsewhere, the session stays. A client placed by this very request, or a route with
   * change-on-failure, gets a cookie naming where it went.
   */
  private pickOther(x: RequestExchange, pool: ServicePool, failed: Endpoint): Endpoint | undefined {
    const ctx = x.pick ?? pickContext(x);
    const change = ctx.balance?.kind === "cookie" && ctx.balance.changeOnFailure === true;
    const follow = change || ctx.setCookie !== undefined;
    if (change) delete ctx.cookie; // placed anew, as ingress-nginx picks a new upstream (and key) then
    ctx.setCookie = undefined;
    const other = pool.pickOther(failed, ctx);
    if (other && follow) sendAffinityCookie(x, ctx);
    return other;
  }

  /**
   * How an upstream request ended, for both engines (HTTP/1.1 and HTTP/2): success is
   * reported to the pool; a failure is classified, counted against the endpoint and
   * returned when the client still waits for an answer — not when ingressd stopped the
   * request itself, the client left first (logged as 499), or a response was under way
   * (it cannot change status: it is cut so the client sees the failure).
   */
  private unanswered(x: RequestExchange, pool: ServicePool, endpoint: Endpoint, outcome: ForwardOutcome): UpstreamFailure | undefined {
    x.bytes += outcome.bytes;
    const err = outcome.error;
    if (!err) {
      pool.reportSuccess(endpoint);
      return undefined;
    }
    if (err === x.stopped) return undefined;
    if (!x.res.writableEnded && responseDestroyed(x.res)) return undefined;
    const failure = classify(err);
    x.error = failure.code;
    if (outcome.responded) {
      x.res.destroy();
      return undefined;
    }
    this.reportFailure(pool, endpoint, failure);
    return failure;
  }

  /** Passive health and the connect-errors metric hear of a failure that counts. */
  private reportFailure(pool: ServicePool, endpoint: Endpoint, failure: UpstreamFailure): void {
    if (failure.passive) pool.reportFailure(endpoint, failure.code);
    if (failure.connection) this.options.observer?.connectError(pool.key, endpoint.address);
  }

  /** ingressd's own error answer, recorded for the access log. */
  private fail(x: RequestExchange, status: number, detail: string, headers?: Record<string, string>): void {
    x.error = detail;
    if (isGrpcRequest(x.req)) {
      // A gRPC client reads a gRPC status, not an HTTP one: a trailers-only answer.
      if (x.res.headersSent) x.res.destroy();
      else endWithHead(x.res, 200, { ...x.responseHeaders, ...headers, ...grpcErrorHeaders(status, detail), server: "ingressd", "x-request-id": x.fwd.requestId });
      return;
    }
    x.reply(status, { "content-type": "text/plain; charset=utf-8", ...headers }, errorBody(status, detail));
  }

  private logAccess(x: RequestExchange): void {
    const status = x.tunnel || responseFinished(x.res) ? x.res.statusCode : 499; // nginx's "client closed request"
    const durationMs = performance.now() - x.start;
    this.options.observer?.request({ host: x.routeHost, service: x.backend ?? "", route: x.route, status, durationMs, bytes: x.bytes, protocol: protocolOf(x.req) });
    this.options.accessLog(status >= 500 || status === 499 ? "warn" : "info", accessRecord(x, status, durationMs));
  }
}

/** `Exchange.whenDone` of a request: its response's 'close' comes once it finished or the client left. One function for every exchange. */
function whenResponseClosed(this: RequestExchange, done: () => void): void {
  this.res.once("close", done);
}

/**
 * Writes ingressd's own answer; returns the body's length. A response already under way
 * cannot change status any more: its connection is cut so the client sees the failure.
 */
function reply(res: ClientResponse, status: number, headers: OutgoingHttpHeaders, body: string, requestId: string, extra: OutgoingHttpHeaders | undefined): number {
  if (res.headersSent) {
    res.destroy();
    return 0;
  }
  const length = Buffer.byteLength(body);
  const out = { ...extra, ...headers, "content-length": length, server: "ingressd", "x-request-id": requestId };
  // HTTP/2 has no Connection header (a refused request's "close" is for HTTP/1.1 only).
  if (out.connection !== undefined && res.req.httpVersionMajor === 2) delete out.connection;
  res.writeHead(status, out);
  res.end(body);
  return length;
}
