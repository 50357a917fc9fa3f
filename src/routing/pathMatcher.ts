import { fullRegexPath, regexPath } from "../model/regexPath.js";
import type { Entry, Route } from "../model/route.js";
import { byConditions, conditionCount, conditionsHold, type RequestFacts } from "./requestFacts.js";

/**
 * The routes of one path: those with conditions first (see byConditions), then at most
 * one without. Usually just one route.
 */
type Slot = Route[];

interface RegexEntry {
  re: RegExp;
  path: string;
  pathType: "Regex" | "RegularExpression";
  slot: Slot;
}

/**
 * The routes of one host group. Exact paths sit in one map, prefixes in another keyed
 * by their normalized form, so a lookup costs a handful of map probes (one per path
 * element) whatever the number of rules.
 *
 * Precedence (Kubernetes Ingress spec): the longest matching path wins; at equal length
 * Exact beats Prefix. An Exact match always covers the whole request path, so it is
 * tried first. Regex paths (ingress-nginx's use-regex) are tried next, as nginx tries
 * `~*` locations after `=` ones and before plain prefixes: the longest expression
 * first, anchored at the path's start, case-insensitive. Then prefixes, from the
 * longest element-wise prefix down. Gateway API's order is the same (Exact, then
 * RegularExpression by length — the whole path, case-sensitive — as Envoy Gateway
 * sorts them, then the longest PathPrefix).
 */
export class PathMatcher {
  private readonly exact = new Map<string, Slot>();
  private readonly prefix = new Map<string, Slot>();
  private regex: RegexEntry[] = [];
  /** Entries (bit 1: plain HTTP, bit 2: HTTPS) on which this host group answers alone (see Route.isolatesHost). */
  private isolating = 0;

  /**
   * Adds a route. When an earlier route holds the same match on every entry the new one
   * serves, the new one is left out and the earlier one returned; when on some of them
   * only (an HTTPRoute of one listener protocol against an Ingress rule), the new one is
   * added, serving the other entry, and the earlier one returned with that entry.
   */
  add(route: Route): { winner: Route; servedOn?: Entry } | undefined {
    if (route.isolatesHost) this.isolating |= route.match.entry === "http" ? 1 : route.match.entry === "https" ? 2 : 3;
    const slot = this.slotFor(route);
    if (slot.length === 0) {
      slot.push(route); // the common case: a path no other route has
      return undefined;
    }
    const entry = route.match.entry;
    const same = slot.find((r) => sameConditions(r, route) && (r.match.entry === undefined || r.match.entry === entry));
    if (same) return { winner: same };
    slot.push(route);
    slot.sort(byConditions); // stable: equal routes keep their order
    // Only an entry-bound earlier route can overlap here, and it takes that entry: the new one serves the other.
    const partly = slot.find((r) => r !== route && sameConditions(r, route) && r.match.entry !== undefined && entry === undefined);
    return partly ? { winner: partly, servedOn: partly.match.entry === "http" ? "https" : "http" } : undefined;
  }

  /**
   * Whether a request on `entry` that no path here matches stops here (404) instead of
   * going on to a less specific host group: a Gateway API route of that entry is here.
   */
  isolates(entry: Entry | undefined): boolean {
    return this.isolating !== 0 && (this.isolating & (entry === "https" ? 2 : 1)) !== 0;
  }

  get size(): number {
    let n = 0;
    for (const s of this.exact.values()) n += s.length;
    for (const s of this.prefix.values()) n += s.length;
    for (const e of this.regex) n += e.slot.length;
    return n;
  }

  match(path: string, facts?: RequestFacts): Route | undefined {
    if (this.exact.size > 0) {
      const slot = this.exact.get(path);
      const hit = slot && pick(slot, facts);
      if (hit) return hit;
    }
    for (const e of this.regex) {
      if (!e.re.test(path)) continue;
      const hit = pick(e.slot, facts);
      if (hit) return hit;
    }
    if (this.prefix.size === 0) return undefined;
    let candidate = trimTrailingSlashes(path);
    for (;;) {
      const slot = this.prefix.get(candidate);
      const hit = slot && pick(slot, facts);
      if (hit) return hit;
      if (candidate === "/") return undefined;
      const slash = candidate.lastIndexOf("/");
      candidate = slash <= 0 ? "/" : candidate.slice(0, slash);
    }
  }

  routes(): Route[] {
    const out: Route[] = [];
    for (const slot of this.exact.values()) for (const r of slot) out.push(r);
    for (const e of this.regex) for (const r of e.slot) out.push(r);
    for (const slot of this.prefix.values()) for (const r of slot) out.push(r);
    return out;
  }

  private slotFor(route: Route): Slot {
    const { path, pathType } = route.match;
    if (pathType === "Regex" || pathType === "RegularExpression") {
      let entry = this.regex.find((e) => e.path === path && e.pathType === pathType);
      if (!entry) {
        entry = { re: pathType === "Regex" ? regexPath(path) : fullRegexPath(path), path, pathType, slot: [] };
        // The longest expression first, as ingress-nginx orders its regex locations (equal lengths: reverse byte order).
        this.regex = [...this.regex, entry].sort((a, b) => b.path.length - a.path.length || (a.path < b.path ? 1 : a.path > b.path ? -1 : 0));
      }
      return entry.slot;
    }
    const [map, key] = pathType === "Exact" ? [this.exact, path] : [this.prefix, normalizePrefix(path)];
    let slot = map.get(key);
    if (!slot) map.set(key, (slot = []));
    return slot;
  }
}

function pick(slot: Slot, facts: RequestFacts | undefined): Route | undefined {
  // The common case: one route without conditions.
  if (slot.length === 1 && conditionCount(slot[0]!) === 0) return slot[0];
  for (const r of slot) if (conditionsHold(r, facts)) return r;
  return undefined;
}

function sameConditions(a: Route, b: Route): boolean {
  return JSON.stringify(conditionsOf(a)) === JSON.stringify(conditionsOf(b));
}

/** The conditions two routes of one path must share to claim the same requests (the entry is compared apart). */
function conditionsOf(r: Route): unknown[] {
  const m = r.match;
  return [m.headers ?? [], m.cookies ?? [], m.method ?? "", m.query ?? []];
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
