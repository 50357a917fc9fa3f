import { normalizeHost, wildcardKey } from "../model/host.js";
import type { PathMatcher } from "./pathMatcher.js";
import type { Route } from "../model/route.js";
import type { RequestFacts } from "./requestFacts.js";

export type HostGroupKind = "exact" | "wildcard" | "suffix" | "any";

/**
 * The compiled, immutable routing table of one configuration generation.
 *
 * Host groups are tried from the most specific: the exact host, then its one-label
 * wildcard (`*.foo.com` for `a.foo.com`: an Ingress's wildcard, or a Gateway API one),
 * then the Gateway API wildcards of its further parent domains, longest first
 * (`*.com` for `a.foo.com`), then rules without host; the first group with a matching
 * path answers. Then `spec.defaultBackend`. A group holding Gateway API routes for the
 * request's entry answers alone (404 when no path matches): a request is handled by the
 * most specific listener's routes only. Each step is a hash lookup, so the cost does not
 * grow with the number of hosts (it grows with the labels of the request's host, only
 * when some Gateway API wildcard exists).
 */
export class RouteTable {
  constructor(
    private readonly exactHosts: ReadonlyMap<string, PathMatcher>,
    private readonly wildcardHosts: ReadonlyMap<string, PathMatcher>,
    private readonly anyHost: PathMatcher | undefined,
    readonly defaultBackend: Route | undefined,
    /** Gateway API wildcards by domain, for hosts two or more labels below it (one label below: in wildcardHosts too). */
    private readonly suffixHosts: ReadonlyMap<string, PathMatcher> = new Map(),
  ) {}

  /**
   * `rawHost` is the Host header as received; `path` has no query string; `facts` are
   * read only by routes with conditions (canaries, Gateway API matches) and for the entry.
   */
  lookup(rawHost: string | undefined, path: string, facts?: RequestFacts): Route | undefined {
    const host = normalizeHost(rawHost);
    const entry = facts?.entry;
    const exact = this.exactHosts.get(host);
    if (exact) {
      const hit = exact.match(path, facts);
      if (hit) return hit;
      if (exact.isolates(entry)) return undefined;
    }
    if (this.wildcardHosts.size > 0) {
      const key = wildcardKey(host);
      const wild = key === undefined ? undefined : this.wildcardHosts.get(key);
      if (wild) {
        const hit = wild.match(path, facts);
        if (hit) return hit;
        if (wild.isolates(entry)) return undefined;
      }
      if (this.suffixHosts.size > 0 && key !== undefined) {
        for (let domain = wildcardKey(key); domain !== undefined; domain = wildcardKey(domain)) {
          const group = this.suffixHosts.get(domain);
          if (!group) continue;
          const hit = group.match(path, facts);
          if (hit) return hit;
          if (group.isolates(entry)) return undefined;
        }
      }
    }
    if (this.anyHost) {
      const hit = this.anyHost.match(path, facts);
      if (hit) return hit;
      if (this.anyHost.isolates(entry)) return undefined;
    }
    return this.defaultBackend;
  }

  /**
   * The host groups a request for `rawHost` consults, most specific first — what
   * `lookup` walks, exposed for `routes --explain`. `isolates`: for which entries the
   * group answers alone.
   */
  groupsFor(rawHost: string | undefined): { kind: HostGroupKind; name: string; routes: Route[]; matcher: PathMatcher }[] {
    const host = normalizeHost(rawHost);
    const out: { kind: HostGroupKind; name: string; routes: Route[]; matcher: PathMatcher }[] = [];
    const exact = this.exactHosts.get(host);
    if (exact) out.push({ kind: "exact", name: host, routes: exact.routes(), matcher: exact });
    const key = wildcardKey(host);
    const wild = key === undefined ? undefined : this.wildcardHosts.get(key);
    if (wild) out.push({ kind: "wildcard", name: `*.${key}`, routes: wild.routes(), matcher: wild });
    if (key !== undefined) {
      for (let domain = wildcardKey(key); domain !== undefined; domain = wildcardKey(domain)) {
        const group = this.suffixHosts.get(domain);
        if (group) out.push({ kind: "suffix", name: `*.${domain}`, routes: group.routes(), matcher: group });
      }
    }
    if (this.anyHost) out.push({ kind: "any", name: "(any host)", routes: this.anyHost.routes(), matcher: this.anyHost });
    return out;
  }

  /**
   * The routes written for one rule host (`*.foo.com` is one host here; null: the rules
   * without host, `spec.defaultBackend` not included) — a hash lookup, for bookkeeping that
   * needs the routes of a few hosts after a reload without walking every route.
   */
  routesOf(host: string | null): readonly Route[] {
    if (host === null) return this.anyHost?.routes() ?? [];
    const group = host.startsWith("*.") ? this.wildcardHosts.get(host.slice(2)) : this.exactHosts.get(host);
    return group?.routes() ?? [];
  }

  /**
   * Every route, for the admin API, metrics and `routes` listing: gathered once per table
   * (it never changes). A Gateway API wildcard route is listed once (its suffix group
   * holds the same route as its one-label group).
   */
  routes(): readonly Route[] {
    if (this.all) return this.all;
    const out: Route[] = [];
    for (const m of this.exactHosts.values()) for (const r of m.routes()) out.push(r);
    for (const m of this.wildcardHosts.values()) for (const r of m.routes()) out.push(r);
    if (this.anyHost) for (const r of this.anyHost.routes()) out.push(r);
    return (this.all = out);
  }
  private all: readonly Route[] | undefined;

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
