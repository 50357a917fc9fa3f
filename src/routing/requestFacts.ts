import type { CookieMatch, HeaderMatch, Route } from "../model/route.js";

/** What a route's extra conditions (headers, cookies) are judged on; read only when a route has some. */
export interface RequestFacts {
  /** A request header by lower-case name (repeated ones joined as Node joins them). */
  header(name: string): string | undefined;
  cookie(name: string): string | undefined;
}

/** Whether every header and cookie condition of `route` holds (true when it has none). */
export function conditionsHold(route: Route, facts: RequestFacts | undefined): boolean {
  const { headers, cookies } = route.match;
  if (!headers && !cookies) return true;
  if (!facts) return false;
  // Per request: plain loops, no array built for a missing list.
  if (headers) for (const h of headers) if (!headerHolds(h, facts)) return false;
  if (cookies) for (const c of cookies) if (!cookieHolds(c, facts)) return false;
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

const patterns = new Map<string, RegExp>();
/** Header patterns are few and fixed per configuration: compile each once. */
function compiled(source: string): RegExp {
  let re = patterns.get(source);
  if (!re) patterns.set(source, (re = new RegExp(source)));
  return re;
}

/** Number of extra conditions: routes with more are tried first within one path. */
export function conditionCount(route: Route): number {
  return (route.match.headers?.length ?? 0) + (route.match.cookies?.length ?? 0);
}
