import { normalizeHost, wildcardKey } from "../model/host.js";
import type { PathMatcher } from "./pathMatcher.js";
import type { Route } from "./route.js";

/**
 * The compiled, immutable routing table of one configuration generation.
 *
 * Host groups are tried from the most specific: the exact host, then its one-label
 * wildcard, then rules without host; the first group with a matching path answers.
 * Then `spec.defaultBackend`. Each step is a hash lookup, so the cost does not grow
 * with the number of hosts.
 */
export class RouteTable {
  constructor(
    private readonly exactHosts: ReadonlyMap<string, PathMatcher>,
    private readonly wildcardHosts: ReadonlyMap<string, PathMatcher>,
    private readonly anyHost: PathMatcher | undefined,
    readonly defaultBackend: Route | undefined,
  ) {}

  /** `rawHost` is the Host header as received; `path` has no query string. */
  lookup(rawHost: string | undefined, path: string): Route | undefined {
    const host = normalizeHost(rawHost);
    const exact = this.exactHosts.get(host)?.match(path);
    if (exact) return exact;
    if (this.wildcardHosts.size > 0) {
      const key = wildcardKey(host);
      const wild = key === undefined ? undefined : this.wildcardHosts.get(key)?.match(path);
      if (wild) return wild;
    }
    return this.anyHost?.match(path) ?? this.defaultBackend;
  }

  /**
   * The host groups a request for `rawHost` consults, most specific first — what
   * `lookup` walks, exposed for `routes --explain`.
   */
  groupsFor(rawHost: string | undefined): { kind: "exact" | "wildcard" | "any"; name: string; routes: Route[] }[] {
    const host = normalizeHost(rawHost);
    const out: { kind: "exact" | "wildcard" | "any"; name: string; routes: Route[] }[] = [];
    const exact = this.exactHosts.get(host);
    if (exact) out.push({ kind: "exact", name: host, routes: exact.routes() });
    const key = wildcardKey(host);
    const wild = key === undefined ? undefined : this.wildcardHosts.get(key);
    if (wild) out.push({ kind: "wildcard", name: `*.${key}`, routes: wild.routes() });
    if (this.anyHost) out.push({ kind: "any", name: "(any host)", routes: this.anyHost.routes() });
    return out;
  }

  /** Every route, for the admin API and `routes` listing. */
  routes(): Route[] {
    const out: Route[] = [];
    for (const m of this.exactHosts.values()) out.push(...m.routes());
    for (const m of this.wildcardHosts.values()) out.push(...m.routes());
    if (this.anyHost) out.push(...this.anyHost.routes());
    return out;
  }

  get routeCount(): number {
    let n = this.anyHost?.size ?? 0;
    for (const m of this.exactHosts.values()) n += m.size;
    for (const m of this.wildcardHosts.values()) n += m.size;
    return n;
  }

  get hostCount(): number {
    return this.exactHosts.size + this.wildcardHosts.size + (this.anyHost ? 1 : 0);
  }

  static empty(): RouteTable {
    return new RouteTable(new Map(), new Map(), undefined, undefined);
  }
}

/**
 * The path a request is routed by: no query string, and — as nginx matches locations —
 * dot segments resolved and repeated slashes merged, so `/public/../admin` is routed as
 * `/admin`, never by the `/public` rule. (The upstream still gets the target as sent.)
 */
export function requestPath(url: string | undefined): string {
  const target = originForm(url);
  const q = target.indexOf("?");
  const path = q === -1 ? target : target.slice(0, q);
  // Fast path: nothing to normalize in the common case.
  if (!path.includes("/.") && !path.includes("//") && !/%2e/i.test(path)) return path;
  return normalizePath(path);
}

/** RFC 3986 remove_dot_segments, with `%2e` as a dot and empty segments merged. */
export function normalizePath(path: string): string {
  const out: string[] = [];
  const segments = path.replace(/%2e/gi, ".").split("/");
  const trailing = segments.length > 1 && (segments[segments.length - 1] === "" || segments[segments.length - 1] === "." || segments[segments.length - 1] === "..");
  for (const seg of segments) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  const joined = "/" + out.join("/");
  return trailing && joined !== "/" ? joined + "/" : joined;
}

/**
 * The origin-form (`/path?query`) of a request target: absolute-form
 * (`http://host/path?q`) loses its scheme and authority, `*` becomes `/`.
 */
export function originForm(url: string | undefined): string {
  if (!url) return "/";
  if (url.charCodeAt(0) === 47 /* / */) return url;
  const scheme = url.indexOf("://");
  if (scheme === -1) return "/";
  // The authority ends at the first `/`, `?` or `#`: a `/` inside the query is not the path.
  const rest = url.slice(scheme + 3);
  const end = rest.search(/[/?#]/);
  if (end === -1) return "/";
  const tail = rest.slice(end);
  if (tail.charCodeAt(0) === 47) return tail;
  return tail.startsWith("?") ? `/${tail}` : "/";
}
