/**
 * The hostnames a route serves through a listener (Gateway API "hostname
 * intersection"): both unset → every host (null); one unset → the other's; both set →
 * each route hostname the listener's covers, or the listener's where a route wildcard
 * covers it. `*.` wildcards are suffixes of any depth. Empty: they do not intersect.
 */
export function intersectHostnames(listener: string | undefined, route: readonly string[]): (string | null)[] {
  if (route.length === 0) return [listener ?? null];
  if (listener === undefined) return [...new Set(route)];
  const out = new Set<string>();
  for (const h of route) {
    if (covers(listener, h)) out.add(h);
    else if (covers(h, listener)) out.add(listener);
  }
  return [...out];
}

/** Whether hostname pattern `outer` covers every name `inner` covers (`*.a.com` covers `x.a.com`, `*.x.a.com`). */
export function covers(outer: string, inner: string): boolean {
  if (outer === inner) return true;
  if (!outer.startsWith("*.")) return false;
  const suffix = outer.slice(1); // `.a.com`
  return inner.endsWith(suffix) && inner.length > suffix.length;
}
