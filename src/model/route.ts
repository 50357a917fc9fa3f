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
  /** One or more; a request goes to one of them in proportion to its weight. */
  readonly backends: readonly WeightedBackend[];
  /** How endpoints of the chosen backend are picked when not by the Service's own affinity. */
  readonly balance?: BalancePolicy;
  readonly origin: RouteOrigin;
}

/** Exact and Prefix as the Ingress spec defines them; Regex as ingress-nginx's `~*` locations. */
export type PathType = "Exact" | "Prefix" | "Regex";

export interface RouteMatch {
  /** As written (`api.localhost`, `*.localhost`), or null for every host. */
  host: string | null;
  /** A path, or for Regex a regular expression matched from the path's start, case-insensitively. */
  path: string;
  pathType: PathType;
  /** Every condition must hold (canary by header). */
  headers?: readonly HeaderMatch[];
  /** Every condition must hold (canary by cookie). */
  cookies?: readonly CookieMatch[];
}

export interface HeaderMatch {
  /** Lower case. */
  name: string;
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
}

/** Who declared a route, and where: what `check`, `routes` and `/api/config` point at. */
export interface RouteOrigin {
  kind: "Ingress";
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
  | TimeoutsFilter;

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

/** Upstream timeouts for this route (proxy-*-timeout); an exceeded one answers 504. */
export interface TimeoutsFilter {
  type: "timeouts";
  connectMs?: number;
  readMs?: number;
  sendMs?: number;
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
