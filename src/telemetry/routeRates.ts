import { describeConditions } from "../model/describeRoute.js";
import type { Route } from "../model/route.js";

/** How far back the server's rates look: sampled once a second, the oldest sample this many seconds old. */
export const RATE_WINDOW_SECONDS = 10;
const SLOTS = RATE_WINDOW_SECONDS + 1;

/** What `/api/stats` says of one route (or of requests no route matched). */
export interface RouteRate {
  /** Cumulative since the route (by its key) was first served. */
  requests: number;
  errors: number;
  /** Over the server's window (`windowSeconds`), so a page has rates at its first reading. */
  requestsPerSecond: number;
  errorsPerSecond: number;
}

/** Key of the default backend's route: it has no host or path of its own. */
export const DEFAULT_BACKEND_KEY = "(default backend)";

/**
 * How `/api/stats` and `/api/config` name a route: `host path (pathType)`, with its
 * canary conditions. A reload makes new route objects; the same key keeps its counts.
 */
export function routeKey(route: Route): string {
  const m = route.match;
  // origin.field builds its string when read: asked only of the few routes without a host.
  if (m.host === null && route.origin.field === "spec.defaultBackend") return DEFAULT_BACKEND_KEY;
  const conditions = describeConditions(route);
  return `${m.host ?? "*"} ${m.path} (${m.pathType})${conditions ? ` when ${conditions}` : ""}`;
}

/** One route's cumulative counts, and their values at each sample of the window. */
class RouteCounter {
  /** The route's rule host (null: no host, or the default backend), for `prune`. */
  constructor(readonly host: string | null = null) {}
  requests = 0;
  errors = 0;
  readonly requestSamples = new Float64Array(SLOTS);
  readonly errorSamples = new Float64Array(SLOTS);
}

/**
 * Requests and 5xx per route, with rates over the last seconds computed here rather
 * than by the page from two of its own readings (which showed "–" until a second poll).
 * Per request: one lookup by the route object and two additions; the key string is
 * built only for a route object's first request (after each reload).
 */
export class RouteRates {
  private readonly byRoute = new WeakMap<Route, RouteCounter>();
  private readonly byKey = new Map<string, RouteCounter>();
  private readonly unmatched = new RouteCounter();
  /** When each slot was sampled; `head` is the newest, `filled` how many hold a sample. */
  private readonly times = new Float64Array(SLOTS);
  private head = 0;
  private filled = 1;

  constructor(now: number) {
    this.times[0] = now;
  }

  /** `route` undefined: no route matched (ingressd's own 404). */
  count(route: Route | undefined, status: number): void {
    let counter = route === undefined ? this.unmatched : this.byRoute.get(route);
    if (counter === undefined) counter = this.counterOf(route!);
    counter.requests++;
    if (status >= 500) counter.errors++;
  }

  private counterOf(route: Route): RouteCounter {
    const key = routeKey(route);
    let counter = this.byKey.get(key);
    if (!counter) this.byKey.set(key, (counter = new RouteCounter(route.match.host)));
    this.byRoute.set(route, counter);
    return counter;
  }

  /** Once a second: each counter's cumulative values become the newest sample. */
  sample(now: number): void {
    const head = (this.head = (this.head + 1) % SLOTS);
    this.times[head] = now;
    if (this.filled < SLOTS) this.filled++;
    record(this.unmatched, head);
    for (const c of this.byKey.values()) record(c, head);
  }

  /** Rates from the oldest sample of the window to the counts now. */
  read(now: number): { windowSeconds: number; routes: Record<string, RouteRate>; unmatched: RouteRate; total: RouteRate } {
    const oldest = this.filled < SLOTS ? 0 : (this.head + 1) % SLOTS;
    // At least a second: right after start, 3 requests are not 30 per second.
    const seconds = Math.max(1, (now - this.times[oldest]!) / 1000);
    const rate = (c: RouteCounter): RouteRate => ({
      requests: c.requests,
      errors: c.errors,
      requestsPerSecond: (c.requests - c.requestSamples[oldest]!) / seconds,
      errorsPerSecond: (c.errors - c.errorSamples[oldest]!) / seconds,
    });
    const routes: Record<string, RouteRate> = {};
    const total = rate(this.unmatched);
    for (const [key, c] of this.byKey) {
      const r = (routes[key] = rate(c));
      total.requests += r.requests;
      total.errors += r.errors;
      total.requestsPerSecond += r.requestsPerSecond;
      total.errorsPerSecond += r.errorsPerSecond;
    }
    return { windowSeconds: Math.round(seconds * 10) / 10, routes, unmatched: rate(this.unmatched), total };
  }

  /**
   * Forgets routes the configuration no longer has, as the metrics series are.
   * `routesOf(host)`: the configuration's routes of a rule host (null: those without host and
   * the default backend). Only the hosts of counted routes are asked, so a reload of a large
   * configuration does not build the key of every route (measured: 20 ms for 11,000 routes).
   */
  prune(routesOf: (host: string | null) => readonly Route[]): void {
    const liveKeys = new Map<string | null, Set<string>>();
    for (const [key, counter] of this.byKey) {
      let live = liveKeys.get(counter.host);
      if (!live) liveKeys.set(counter.host, (live = new Set(routesOf(counter.host).map(routeKey))));
      if (!live.has(key)) this.byKey.delete(key);
    }
  }
}

function record(c: RouteCounter, slot: number): void {
  c.requestSamples[slot] = c.requests;
  c.errorSamples[slot] = c.errors;
}
