import type { Entry, Route } from "../model/route.js";
import { PathMatcher } from "./pathMatcher.js";
import { RouteTable } from "./routeTable.js";

/** A route left out because an earlier one holds the same match — or, with `servedOn`, served on that entry only. */
export interface RouteConflict {
  route: Route;
  winner: Route;
  servedOn?: Entry;
}

/**
 * Routes (in precedence order) → the immutable lookup table: an exact-host map, a
 * wildcard map keyed by the parent domain, a map of Gateway API wildcards for deeper
 * hosts, and the rules without host.
 */
export function buildRouteTable(routes: readonly Route[], defaultBackend?: Route): { table: RouteTable; conflicts: RouteConflict[] } {
  const exactHosts = new Map<string, PathMatcher>();
  const wildcardHosts = new Map<string, PathMatcher>();
  const suffixHosts = new Map<string, PathMatcher>();
  const anyHost = new PathMatcher();
  const conflicts: RouteConflict[] = [];
  for (const route of routes) {
    const host = route.match.host;
    let matcher: PathMatcher;
    if (host === null) matcher = anyHost;
    else if (host.startsWith("*.")) matcher = getOrCreate(wildcardHosts, host.slice(2));
    else matcher = getOrCreate(exactHosts, host);
    const conflict = matcher.add(route);
    if (conflict) conflicts.push({ route, ...conflict });
    // Deeper names too (`a.b.foo.com` for `*.foo.com`): the conflict, if any, was reported above.
    if (route.match.hostSuffix && host !== null && host.startsWith("*.")) getOrCreate(suffixHosts, host.slice(2)).add(route);
  }
  return { table: new RouteTable(exactHosts, wildcardHosts, anyHost.size > 0 ? anyHost : undefined, defaultBackend, suffixHosts), conflicts };
}

function getOrCreate(map: Map<string, PathMatcher>, key: string): PathMatcher {
  let m = map.get(key);
  if (!m) map.set(key, (m = new PathMatcher()));
  return m;
}
