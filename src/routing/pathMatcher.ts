import type { Route } from "./route.js";

/**
 * The routes of one host group. Exact paths sit in one map, prefixes in another keyed
 * by their normalized form, so a lookup costs a handful of map probes (one per path
 * element) whatever the number of rules.
 *
 * Precedence (Kubernetes Ingress spec): the longest matching path wins; at equal length
 * Exact beats Prefix. An Exact match always covers the whole request path, so it is
 * tried first; prefixes are then tried from the longest element-wise prefix down.
 */
export class PathMatcher {
  private readonly exact = new Map<string, Route>();
  private readonly prefix = new Map<string, Route>();

  /** Adds a route; returns the route already holding that slot, if any (the earlier one keeps it). */
  add(route: Route): Route | undefined {
    const [map, key] = route.pathType === "Exact" ? [this.exact, route.path] : [this.prefix, normalizePrefix(route.path)];
    const existing = map.get(key);
    if (existing) return existing;
    map.set(key, route);
    return undefined;
  }

  get size(): number {
    return this.exact.size + this.prefix.size;
  }

  match(path: string): Route | undefined {
    const exact = this.exact.size > 0 ? this.exact.get(path) : undefined;
    if (exact) return exact;
    if (this.prefix.size === 0) return undefined;
    let candidate = trimTrailingSlashes(path);
    for (;;) {
      const hit = this.prefix.get(candidate);
      if (hit) return hit;
      if (candidate === "/") return undefined;
      const slash = candidate.lastIndexOf("/");
      candidate = slash <= 0 ? "/" : candidate.slice(0, slash);
    }
  }

  routes(): Route[] {
    return [...this.exact.values(), ...this.prefix.values()];
  }
}

/** `/foo/` and `/foo` are the same Prefix rule: the trailing slash is ignored. */
export function normalizePrefix(path: string): string {
  return trimTrailingSlashes(path);
}

function trimTrailingSlashes(path: string): string {
  let end = path.length;
  while (end > 1 && path.charCodeAt(end - 1) === 47 /* / */) end--;
  const trimmed = end === path.length ? path : path.slice(0, end);
  return trimmed === "" ? "/" : trimmed;
}
