import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { ClientRequest } from "./clientMessage.js";
import { changeHeaderObject, type CompiledHeaderChanges } from "./filters/headerChanges.js";

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection and never cross a proxy.
 * `expect` is answered at the front (Node sends 100 Continue) and undici refuses it.
 */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "expect",
  "http2-settings",
]);

/**
 * Headers ingressd sets itself on the way up; incoming values are replaced. X-Forwarded-For
 * is appended to, whoever the peer is (the chain is kept; only a trusted peer's is believed).
 */
const SET_BY_PROXY = new Set(["x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port", "x-real-ip", "x-request-id"]);

/** Response headers ingressd replaces: nginx-style `Server`, and a `Date` of its own. */
const REPLACED_IN_RESPONSE = new Set(["server", "date", "x-request-id"]);

/**
 * Extra header names listed in `Connection` (a case-insensitive token list, e.g.
 * Firefox's `keep-alive, Upgrade`): they are hop-by-hop for this message too.
 */
export function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined || value === "keep-alive" || value === "close") return undefined; // the common cases, per request
  const joined = Array.isArray(value) ? value.join(",") : value;
  let tokens: Set<string> | undefined;
  for (const raw of joined.split(",")) {
    const t = raw.trim().toLowerCase();
    if (t === "" || t === "close" || HOP_BY_HOP.has(t)) continue;
    (tokens ??= new Set()).add(t);
  }
  return tokens;
}

export interface ForwardedInfo {
  /** The socket's peer address: appended to X-Forwarded-For. */
  peer: string;
  /**
   * Who the client is: the peer, or with a peer inside `--trust-proxy` the address its
   * X-Forwarded-For names (see ClientAddressResolver). Sent as X-Real-IP; what logs,
   * affinity and access rules go by.
   */
  client: string;
  host: string;
  proto: "http" | "https";
  port: number;
  requestId: string;
}

/**
 * Request headers for the upstream, as a flat `[name, value, …]` list built from the
 * raw headers, so repeated headers and their order survive. Host is preserved.
 */
export function upstreamRequestHeaders(req: ClientRequest, fwd: ForwardedInfo): string[] {
  const raw = req.rawHeaders;
  const extra = connectionTokens(req.headers.connection);
  const out: string[] = [];
  let xff: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (SET_BY_PROXY.has(lower)) {
      if (lower === "x-forwarded-for") xff = xff === undefined ? raw[i + 1] : `${xff}, ${raw[i + 1]}`;
      continue;
    }
    if (HOP_BY_HOP.has(lower) || extra?.has(lower)) continue;
    out.push(name, raw[i + 1]!);
  }
  out.push(
    "x-forwarded-for", xff === undefined ? fwd.peer : `${xff}, ${fwd.peer}`,
    "x-forwarded-host", fwd.host,
    "x-forwarded-proto", fwd.proto,
    "x-forwarded-port", String(fwd.port),
    "x-real-ip", fwd.client,
    "x-request-id", fwd.requestId,
  );
  return out;
}

/**
 * `headers` (a flat `[name, value, …]` list) with each of `sets` replacing every header
 * of its name, or added (a route's header changes: upstream-vhost's Host, X-Forwarded-Prefix).
 */
export function replaceHeaders(headers: string[], sets: readonly (readonly [string, string])[]): string[] {
  const names = new Set(sets.map(([n]) => n.toLowerCase()));
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (!names.has(headers[i]!.toLowerCase())) out.push(headers[i]!, headers[i + 1]!);
  for (const [n, v] of sets) out.push(n, v);
  return out;
}

/**
 * Whether the request names more than one Host (RFC 9112 §3.2: answered 400). Node keeps
 * only the first in `req.headers`; the raw list has them all. Per request: a length test
 * per header, no new string for the usual spellings.
 */
export function hasDuplicateHost(raw: string[]): boolean {
  let seen = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== 4 || (name !== "Host" && name !== "host" && name.toLowerCase() !== "host")) continue;
    if (seen) return true;
    seen = true;
  }
  return false;
}

/**
 * Upstream response headers for the client: hop-by-hop removed, `Server: ingressd`, request
 * id, and the route's own (`added`: CORS, an affinity cookie) replacing the upstream's of
 * the same name, except Set-Cookie, whose lists are joined (each cookie is its own header);
 * then the route's header changes (Gateway API ResponseHeaderModifier), in order.
 */
export function clientResponseHeaders(headers: IncomingHttpHeaders, requestId: string, added?: OutgoingHttpHeaders, changes?: readonly CompiledHeaderChanges[]): OutgoingHttpHeaders {
  const extra = connectionTokens(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || REPLACED_IN_RESPONSE.has(name) || extra?.has(name)) continue;
    out[name] = headers[name];
  }
  for (const name in added) {
    const v = added[name];
    const upstream = out[name];
    out[name] = name === "set-cookie" && upstream !== undefined && v !== undefined ? [...asList(upstream), ...asList(v)] : v;
  }
  if (changes) for (const c of changes) changeHeaderObject(out, c);
  out.server = "ingressd";
  out["x-request-id"] = requestId;
  return out;
}

function asList(v: number | string | readonly string[]): string[] {
  return Array.isArray(v) ? [...(v as readonly string[])] : [String(v)];
}
