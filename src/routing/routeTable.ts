import { normalizeHost, wildcardKey } from "../model/host.js";
import type { PathMatcher } from "./pathMatcher.js";
import type { Route } from "../model/route.js";
import type { RequestFacts } from "./requestFacts.js";

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

  /**
   * `rawHost` is the Host header as received; `path` has no query string; `facts` are
   * read only by routes with header or cookie conditions (canaries).
   */
  lookup(rawHost: string | undefined, path: string, facts?: RequestFacts): Route | undefined {
    const host = normalizeHost(rawHost);
    const exact = this.exactHosts.get(host)?.match(path, facts);
    if (exact) return exact;
    if (this.wildcardHosts.size > 0) {
      const key = wildcardKey(host);
      const wild = key === undefined ? undefined : this.wildcardHosts.get(key)?.match(path, facts);
      if (wild) return wild;
    }
    return this.anyHost?.match(path, facts) ?? this.defaultBackend;
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

  /** Every route, for the admin API, metrics and `routes` listing: gathered once per table (it never changes). */
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
