import type { OutgoingHttpHeaders } from "node:http";
import type { Route } from "../model/route.js";
import type { ClientRequest } from "./clientMessage.js";
import type { ForwardedInfo } from "./headers.js";

/**
 * One request (or WebSocket upgrade) on its way through the front end: what the route's
 * filters decided, and what the access log records. Filters write here; the forwarding
 * step reads it.
 */
export interface Exchange {
  readonly req: ClientRequest;
  readonly start: number;
  readonly fwd: ForwardedInfo;
  /** The path the request is routed by (see requestPath). */
  readonly path: string;
  route?: Route;
  /** The matched rule's host as written, the metrics label (never the raw Host header). */
  routeHost: string;
  backend?: string;
  upstream?: string;
  error?: string;
  bytes: number;

  /** The request target sent upstream (origin-form); a rewrite changes it. */
  upstreamTarget: string;
  /** Request headers replaced on the way up (lower-case names; `host` included). */
  upstreamHeaders?: [string, string][];
  /** Headers added to whatever the client gets back: the upstream's response or ingressd's own. */
  responseHeaders?: OutgoingHttpHeaders;
  /** Upstream timeouts of this route, where it sets them. */
  timeouts?: { connectMs?: number; readMs?: number; sendMs?: number };
  /** The largest request body this route forwards (bytes). */
  bodyLimit?: number;

  /** ingressd answers the request itself (a redirect, 401, 403, a preflight…). */
  reply(status: number, headers: OutgoingHttpHeaders, body: string): void;
  /**
   * Runs `done` once the exchange is over: its response finished or the client left (for
   * an upgrade, once the tunnel or the answer's connection closed). For what a filter
   * holds while a request lasts (a connection slot of limit-connections).
   */
  whenDone(done: () => void): void;
}

/** Adds response headers for the client, keeping any a filter set before. */
export function addResponseHeaders(x: Exchange, headers: OutgoingHttpHeaders): void {
  x.responseHeaders = x.responseHeaders ? { ...x.responseHeaders, ...headers } : headers;
}
