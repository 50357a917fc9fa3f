import type { OutgoingHttpHeaders } from "node:http";
import type { MirrorFilter, Route } from "../model/route.js";
import type { ClientRequest } from "./clientMessage.js";
import { changeHeaderList, type CompiledHeaderChanges } from "./filters/headerChanges.js";
import { replaceHeaders, upstreamRequestHeaders, type ForwardedInfo } from "./headers.js";

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
  /** Header changes (Gateway API RequestHeaderModifier) applied, in order, after ingressd's own headers and `upstreamHeaders`. */
  requestHeaderChanges?: readonly CompiledHeaderChanges[];
  /** Header changes (Gateway API ResponseHeaderModifier) to the upstream's response, never to ingressd's own answers. */
  responseHeaderChanges?: readonly CompiledHeaderChanges[];
  /** Backends a copy of the request goes to (Gateway API RequestMirror), each drawn by its share already. */
  mirrors?: readonly MirrorFilter[];
  /** Upstream timeouts of this route, where it sets them. */
  timeouts?: { connectMs?: number; readMs?: number; sendMs?: number; requestMs?: number; backendRequestMs?: number };
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

/** `list` with `item` appended; a list of one shared by every request when there was none (nothing allocated then). */
export function appended<T>(list: readonly T[] | undefined, item: T, alone: readonly T[]): readonly T[] {
  return list === undefined ? alone : [...list, item];
}

/** Adds response headers for the client, keeping any a filter set before. */
export function addResponseHeaders(x: Exchange, headers: OutgoingHttpHeaders): void {
  x.responseHeaders = x.responseHeaders ? { ...x.responseHeaders, ...headers } : headers;
}

/**
 * The request headers sent upstream (and to mirrors): the client's with ingressd's own
 * (X-Forwarded-*, X-Request-ID), then the route's replacements, then its header changes.
 */
export function headersSentUpstream(x: Exchange): string[] {
  let headers = upstreamRequestHeaders(x.req, x.fwd);
  if (x.upstreamHeaders) headers = replaceHeaders(headers, x.upstreamHeaders);
  const changes = x.requestHeaderChanges;
  if (changes) for (const c of changes) headers = changeHeaderList(headers, c);
  return headers;
}
