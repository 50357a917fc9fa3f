import type { BackendRef } from "./backendKey.js";
import type { SourceLocation } from "./issues.js";

/**
 * The one route model. Every API ingressd reads (Ingress with its annotations today,
 * Gateway API HTTPRoute next) translates into these plain-data routes; the routing
 * table matches them, the proxy runs their filters and picks among their backends.
 * Nothing below translate/ ever sees an annotation or a Gateway object.
 */
export interface Route {
  readonly match: RouteMatch;
  /** Run in order on every request the route matches; an answering filter ends the request there. */
  readonly filters: readonly Filter[];
  /**
   * A request goes to one of them in proportion to its weight. None (a Gateway API rule
   * without backendRefs, or whose every reference was refused): a request the filters let
   * through gets 500.
   */
  readonly backends: readonly WeightedBackend[];
  /** How endpoints of the chosen backend are picked when not by the Service's own affinity. */
  readonly balance?: BalancePolicy;
  readonly origin: RouteOrigin;
  /**
   * The host group holding this route answers every request for its hosts that it is
   * consulted for: when none of its paths matches, the request is not offered to a less
   * specific host group (Gateway API: a request is handled by the routes of the most
   * specific matching listener only). Ingress routes leave it unset.
   */
  readonly isolatesHost?: true;
}

/**
 * Exact and Prefix as the Ingress spec (and Gateway API's Exact and PathPrefix) define them;
 * Regex as ingress-nginx's `~*` locations (from the path's start, any case);
 * RegularExpression as Gateway API's, as Envoy Gateway matches it: the whole path, case-sensitive.
 */
export type PathType = "Exact" | "Prefix" | "Regex" | "RegularExpression";

/** The front end a request came in on: the plain-HTTP port or the HTTPS one. */
export type Entry = "http" | "https";

export interface RouteMatch {
  /** As written (`api.localhost`, `*.localhost`), or null for every host. */
  host: string | null;
  /**
   * A `*.` host matches names any number of labels deep, `*.example.com` covering
   * `a.b.example.com` (Gateway API); unset: exactly one label (an Ingress rule).
   */
  hostSuffix?: true;
  /** A path, or for Regex a regular expression matched from the path's start, case-insensitively. */
  path: string;
  pathType: PathType;
  /** Every condition must hold (canary by header). */
  headers?: readonly HeaderMatch[];
  /** Every condition must hold (canary by cookie). */
  cookies?: readonly CookieMatch[];
  /** The request method must be this one (upper case). */
  method?: string;
  /** Every condition must hold; a name given twice in the query is judged by its first value. */
  query?: readonly QueryMatch[];
  /** Only requests arriving on this front end (a Gateway API route attached to listeners of one protocol); unset: both. */
  entry?: Entry;
}

export interface QueryMatch {
  /** Case-sensitive. */
  name: string;
  /** Regex: an unanchored JavaScript expression (a translator anchors it where its API wants a whole-value match). */
  type: "Exact" | "Regex";
  value: string;
}

export interface HeaderMatch {
  /** Lower case. */
  name: string;
  /** Regex: an unanchored JavaScript expression (a translator anchors it where its API wants a whole-value match). */
  type: "Exact" | "Regex";
  value: string;
}

export interface CookieMatch {
  name: string;
  value: string;
}

export interface WeightedBackend {
  backend: BackendRef;
  /** Relative to the other backends of the route; 0 = only by an explicit match. */
  weight: number;
  /** Set on a canary's backend, for explanations and the dashboard. */
  canary?: boolean;
  /**
   * Why this backend cannot be used (a Gateway API reference refused, or to a missing
   * Service or an unsupported kind): a request drawn to it gets 500, as the Gateway API
   * spec asks. Its `backend` is then a placeholder that names no pool.
   */
  invalid?: string;
  /** Run, in order, when a request is drawn to this backend, after the route's own (Gateway API backendRefs[].filters). */
  filters?: readonly Filter[];
}

/** Who declared a route, and where: what `check`, `routes` and `/api/config` point at. */
export interface RouteOrigin {
  kind: "Ingress" | "HTTPRoute";
  /** `namespace/name`. */
  name: string;
  /** The resource's id, as ConfigIssue.resource names it. */
  resource: string;
  /** Field path of the rule within the resource, e.g. `spec.rules[0].http.paths[1]`. */
  field: string;
  /** Looked up only when shown (a positional parse costs). */
  readonly source: SourceLocation;
  /** Where a field below the route's own is written, e.g. `["path"]`. */
  locate(below: readonly (string | number)[]): SourceLocation;
}

/**
 * What the proxy may do to a request before (or instead of) forwarding it. Plain data,
 * in the order the route runs them; each type has one small step in proxy/filters/.
 */
export type Filter =
  | HttpsRedirectFilter
  | RedirectFilter
  | AccessListFilter
  | BasicAuthFilter
  | RateLimitFilter
  | CorsFilter
  | BodyLimitFilter
  | RewriteFilter
  | RequestHeadersFilter
  | TimeoutsFilter
  | RequestHeaderModifierFilter
  | ResponseHeaderModifierFilter
  | RequestRedirectFilter
  | PathRewriteFilter
  | MirrorFilter;

/** Plain-HTTP requests of a TLS host (or with force-ssl-redirect) get 308 to HTTPS. */
export interface HttpsRedirectFilter {
  type: "httpsRedirect";
}

/**
 * ingressd answers with a redirect instead of forwarding: to `location` as written
 * (permanent-redirect, temporal-redirect, app-root), or to the request's own URL with
 * another host (from-to-www-redirect).
 */
export interface RedirectFilter {
  type: "redirect";
  code: number;
  /** The Location, verbatim; or */
  location?: string;
  /** the request's scheme, port and URI under this host. */
  host?: string;
  /** Only requests for exactly this path are redirected (app-root: `/`). */
  onlyPath?: string;
}

/** Client address rules (whitelist/denylist-source-range): a request not allowed gets 403. */
export interface AccessListFilter {
  type: "accessList";
  /** CIDRs; empty = everyone not denied. */
  allow: readonly string[];
  deny: readonly string[];
}

/** HTTP Basic authentication against an htpasswd file's users. */
export interface BasicAuthFilter {
  type: "basicAuth";
  realm: string;
  /** `user` → its htpasswd hash (bcrypt, apr1, {SHA}, crypt-less plain not accepted). */
  users: Readonly<Record<string, string>>;
  /** `namespace/name` of the Secret, for explanations. */
  secret: string;
  /**
   * Why the users cannot be known (a missing Secret, digest auth): every request then gets
   * 503, as ingress-nginx's "Location denied", never passes unauthenticated.
   */
  unavailable?: string;
}

/** Per-client request and connection limits (limit-rps, limit-rpm, limit-connections). */
export interface RateLimitFilter {
  type: "rateLimit";
  /** Identifies the limit's buckets: routes of one Ingress share them, as in ingress-nginx. */
  zone: string;
  rps?: number;
  rpm?: number;
  connections?: number;
  /** burst = rate × this (limit-burst-multiplier). */
  burstMultiplier: number;
  /** CIDRs never limited (limit-whitelist). */
  exempt: readonly string[];
  /** The answer when limited. */
  status: number;
}

/** Cross-origin resource sharing: preflights answered by ingressd, headers on the rest. */
export interface CorsFilter {
  type: "cors";
  /** `*`, or origins, some with a `*.` wildcard label (`https://*.example.com`). */
  allowOrigins: readonly string[];
  allowMethods: string;
  allowHeaders: string;
  exposeHeaders: string;
  allowCredentials: boolean;
  maxAgeSeconds: number;
}

/** Requests with a larger body get 413 (proxy-body-size). */
export interface BodyLimitFilter {
  type: "bodyLimit";
  maxBytes: number;
}

/** The path sent upstream: `pattern` (case-insensitive, anchored at the start) replaced by `target` with `$1`…`$9`. */
export interface RewriteFilter {
  type: "rewrite";
  pattern: string;
  target: string;
}

/** Request headers set (replaced) on the way upstream; `host` sets the Host header. */
export interface RequestHeadersFilter {
  type: "requestHeaders";
  set: readonly (readonly [name: string, value: string])[];
}

/** Upstream timeouts for this route (proxy-*-timeout, Gateway API timeouts); an exceeded one answers 504. */
export interface TimeoutsFilter {
  type: "timeouts";
  connectMs?: number;
  readMs?: number;
  sendMs?: number;
  /**
   * The whole exchange (Gateway API `timeouts.request`): from the request's arrival until
   * the upstream's response is complete, retries included. Exceeded before the response
   * started: 504; after: the response is cut.
   */
  requestMs?: number;
  /** Each upstream attempt (Gateway API `timeouts.backendRequest`), until its response is complete; same answers. */
  backendRequestMs?: number;
}

/**
 * Header changes by name (case-insensitive), applied in this order: `set` replaces the
 * header (or adds it), `add` appends a value to what is there (or adds it), `remove` drops it.
 */
export interface HeaderChanges {
  set: readonly (readonly [name: string, value: string])[];
  add: readonly (readonly [name: string, value: string])[];
  /** Lower case. */
  remove: readonly string[];
}

/** Gateway API RequestHeaderModifier: the request's headers changed on the way upstream (after ingressd's forwarded headers). */
export interface RequestHeaderModifierFilter extends HeaderChanges {
  type: "requestHeaderModifier";
}

/** Gateway API ResponseHeaderModifier: the upstream response's headers changed on the way to the client. */
export interface ResponseHeaderModifierFilter extends HeaderChanges {
  type: "responseHeaderModifier";
}

/**
 * A path replaced: the whole of it, or the route's matched prefix (whole path elements,
 * as PathPrefix matches them) by `replacement`, keeping what follows it: prefix `/foo`
 * replaced by `/bar` makes `/foo/x` → `/bar/x`, by `/` makes `/foo/x` → `/x` and `/foo` → `/`.
 */
export type PathReplacement = { kind: "full"; path: string } | { kind: "prefix"; prefix: string; replacement: string };

/**
 * Gateway API RequestRedirect: ingressd answers with a redirect to the request's own URL
 * with some parts replaced. Unset parts keep the request's; the port: `port` when set,
 * else the port of the new scheme's front end when the scheme changes, else the one the
 * client used; omitted from the Location when it is the scheme's default (80, 443).
 */
export interface RequestRedirectFilter {
  type: "requestRedirect";
  code: number;
  scheme?: "http" | "https";
  hostname?: string;
  port?: number;
  path?: PathReplacement;
}

/** Gateway API URLRewrite's path: the path sent upstream (the query kept). Its hostname is a `requestHeaders` filter setting `host`. */
export interface PathRewriteFilter {
  type: "pathRewrite";
  path: PathReplacement;
}

/**
 * Gateway API RequestMirror: a copy of the request (body included) sent to another
 * backend, fire and forget — its response is read and dropped, its failure only logged,
 * and it never delays or changes the client's answer.
 */
export interface MirrorFilter {
  type: "mirror";
  backend: BackendRef;
  /** Share of requests mirrored, 0–100 (fractions allowed); 100 = every one. */
  percent: number;
}

/**
 * Endpoint choice by a cookie ingressd sets, or by a hash of request values. Decides
 * instead of the Service's own sessionAffinity: the route's annotation is the more
 * specific wish.
 */
export type BalancePolicy = CookieAffinityPolicy | HashPolicy;

/**
 * Session affinity by cookie (affinity: cookie). `balanced`: the cookie holds a point on
 * the backend's consistent-hash ring, so when endpoints join or leave about 1/n of the
 * sessions move (and their cookie is rewritten); `persistent`: the cookie names one
 * endpoint, and the session stays there until that endpoint is gone or out of rotation.
 */
export interface CookieAffinityPolicy {
  kind: "cookie";
  name: string;
  /** The cookie's Path: session-cookie-path, else the Ingress path as written. */
  path?: string;
  domain?: string;
  maxAgeSeconds?: number;
  expiresSeconds?: number;
  sameSite?: "Strict" | "Lax" | "None";
  /** true: always `Secure`; otherwise only on HTTPS requests. */
  secure?: boolean;
  mode: "balanced" | "persistent";
  /** A request retried on another endpoint after a failure moves its session there (the cookie follows). */
  changeOnFailure?: boolean;
}

export interface HashPolicy {
  kind: "hash";
  /** As written: nginx variables (`$remote_addr`, `$request_uri`, `$http_x_user`, `$cookie_id`) and text, combined. */
  key: string;
  /** `key` parsed: the values concatenated per request (a missing one is empty, as in nginx). */
  parts: readonly HashKeyPart[];
}

/** A part of a hash key: text as written, a request value, or a header, cookie or query argument by name. */
export type HashKeyPart = { text: string } | { variable: HashVariable } | { header: string } | { cookie: string } | { arg: string };

/**
 * The nginx variables a hash key may use besides `$http_<name>`, `$cookie_<name>` and
 * `$arg_<name>`: the client address (`binary_remote_addr` is the same address), the
 * request line's URI (`request_uri` with its query, `uri` without), the query alone,
 * the host, the scheme.
 */
export const HASH_VARIABLES = ["remote_addr", "binary_remote_addr", "request_uri", "uri", "args", "query_string", "host", "scheme"] as const;
export type HashVariable = (typeof HASH_VARIABLES)[number];

/** The route's filter of a type, if it has one. */
export function findFilter<T extends Filter["type"]>(route: Route, type: T): Extract<Filter, { type: T }> | undefined {
  return route.filters.find((f) => f.type === type) as Extract<Filter, { type: T }> | undefined;
}
