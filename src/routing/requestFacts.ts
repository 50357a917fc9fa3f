import type { CookieMatch, Entry, HeaderMatch, QueryMatch, Route } from "../model/route.js";

/** What a route's extra conditions are judged on; read only when a route has some. */
export interface RequestFacts {
  /** A request header by lower-case name (repeated ones joined as Node joins them). */
  header(name: string): string | undefined;
  cookie(name: string): string | undefined;
  /** The first value of a query parameter, decoded. */
  query?(name: string): string | undefined;
  method?: string;
  /** The front end the request came in on; unset is plain HTTP. */
  entry?: Entry;
}

/** Whether every condition of `route` (headers, cookies, method, query, entry) holds (true when it has none). */
export function conditionsHold(route: Route, facts: RequestFacts | undefined): boolean {
  const { headers, cookies, method, query, entry } = route.match;
  if (!headers && !cookies && method === undefined && !query && entry === undefined) return true;
  if (!facts) return false;
  if (entry !== undefined && entry !== (facts.entry ?? "http")) return false;
  if (method !== undefined && facts.method !== method) return false;
  // Per request: plain loops, no array built for a missing list.
  if (headers) for (const h of headers) if (!headerHolds(h, facts)) return false;
  if (cookies) for (const c of cookies) if (!cookieHolds(c, facts)) return false;
  if (query) for (const q of query) if (!queryHolds(q, facts)) return false;
  return true;
}

function headerHolds(h: HeaderMatch, facts: RequestFacts): boolean {
  const v = facts.header(h.name);
  if (v === undefined) return false;
  return h.type === "Exact" ? v === h.value : compiled(h.value).test(v);
}

function cookieHolds(c: CookieMatch, facts: RequestFacts): boolean {
  return facts.cookie(c.name) === c.value;
}

function queryHolds(q: QueryMatch, facts: RequestFacts): boolean {
  const v = facts.query?.(q.name);
  if (v === undefined) return false;
  return q.type === "Exact" ? v === q.value : compiled(q.value).test(v);
}

const patterns = new Map<string, RegExp>();
/** Header and query patterns are few and fixed per configuration: compile each once. */
function compiled(source: string): RegExp {
  let re = patterns.get(source);
  if (!re) patterns.set(source, (re = new RegExp(source)));
  return re;
}

/** Number of extra conditions: 0 means the route takes every request of its host and path. */
export function conditionCount(route: Route): number {
  const m = route.match;
  return (m.headers?.length ?? 0) + (m.cookies?.length ?? 0) + (m.query?.length ?? 0) + (m.method !== undefined ? 1 : 0) + (m.entry !== undefined ? 1 : 0);
}

/**
 * Orders routes of one path, the one to try first first: Gateway API's precedence (a
 * method match, then the most header matches, then the most query matches) — for
 * ingress-nginx canaries, the most header and cookie conditions. Equal routes keep their
 * order (older resource first); the entry ranks nothing: an Ingress rule and an
 * HTTPRoute of one listener protocol on the same path are settled by age.
 */
export function byConditions(a: Route, b: Route): number {
  const am = a.match;
  const bm = b.match;
  return (
    (bm.method !== undefined ? 1 : 0) - (am.method !== undefined ? 1 : 0) ||
    (bm.headers?.length ?? 0) + (bm.cookies?.length ?? 0) - (am.headers?.length ?? 0) - (am.cookies?.length ?? 0) ||
    (bm.query?.length ?? 0) - (am.query?.length ?? 0)
  );
}
