import type { RouteRate } from "./routeRates.js";

/** Cumulative per-host counts for the dashboard's live rates (`/api/stats`). */
export interface HostStats {
  requests: number;
  errors: number;
}

/** What `/api/stats` answers: per-host counts, and per-route counts and rates over the server's window. */
export interface StatsDocument {
  time: number;
  hosts: Record<string, HostStats>;
  windowSeconds: number;
  routes: Record<string, RouteRate>;
  unmatched: RouteRate;
  total: RouteRate;
}

/** What the admin API reads of the metrics: one process's, or every worker's added up (`--workers N`). */
export interface MetricsReader {
  statsDocument(time: number): StatsDocument | Promise<StatsDocument>;
  /** `/metrics`: the Prometheus text and its content type. */
  exposition(): Promise<{ contentType: string; text: string }>;
}

/**
 * The workers' documents as one: counts and rates add up (each worker counts the
 * requests it answered); the window is the longest of theirs.
 */
export function sumStats(time: number, docs: readonly StatsDocument[]): StatsDocument {
  const hosts: Record<string, HostStats> = {};
  const routes: Record<string, RouteRate> = {};
  const unmatched = zeroRate();
  const total = zeroRate();
  let windowSeconds = 0;
  for (const d of docs) {
    for (const [host, s] of Object.entries(d.hosts)) {
      const sum = (hosts[host] ??= { requests: 0, errors: 0 });
      sum.requests += s.requests;
      sum.errors += s.errors;
    }
    for (const [key, r] of Object.entries(d.routes)) addRate((routes[key] ??= zeroRate()), r);
    addRate(unmatched, d.unmatched);
    addRate(total, d.total);
    windowSeconds = Math.max(windowSeconds, d.windowSeconds);
  }
  return { time, hosts, windowSeconds, routes, unmatched, total };
}

function zeroRate(): RouteRate {
  return { requests: 0, errors: 0, requestsPerSecond: 0, errorsPerSecond: 0 };
}

function addRate(to: RouteRate, r: RouteRate): void {
  to.requests += r.requests;
  to.errors += r.errors;
  to.requestsPerSecond += r.requestsPerSecond;
  to.errorsPerSecond += r.errorsPerSecond;
}
