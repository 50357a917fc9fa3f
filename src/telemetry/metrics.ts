import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import type { L4ListenerStatus } from "../l4/listeners.js";
import type { Snapshot, SnapshotSource } from "../snapshot/snapshot.js";
import { parseBackendKey } from "../model/backendKey.js";
import type { RequestObservation, RequestObserver } from "../model/observers.js";
import type { Route } from "../model/route.js";
import { RouteRates } from "./routeRates.js";
import type { HostStats, MetricsReader, StatsDocument } from "./statsDocument.js";

/** `ingressd_request_duration_seconds` as a registry metric read from the plain series. */
function durationHistogram(series: () => Iterable<Series>) {
  const help = "Time from request to the end of the response, by matched host and Service.";
  return {
    name: DURATION_NAME,
    help,
    type: "histogram",
    aggregator: "sum",
    reset() {},
    async get() {
      const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
      for (const s of series()) {
        const labels = { host: s.host, service: s.service };
        let cumulative = 0;
        DURATION_BUCKETS.forEach((le, i) => {
          cumulative += s.buckets[i]!;
          values.push({ metricName: `${DURATION_NAME}_bucket`, labels: { ...labels, le }, value: cumulative });
        });
        values.push({ metricName: `${DURATION_NAME}_bucket`, labels: { ...labels, le: "+Inf" }, value: s.count });
        values.push({ metricName: `${DURATION_NAME}_sum`, labels, value: s.durationSum });
        values.push({ metricName: `${DURATION_NAME}_count`, labels, value: s.count });
      }
      return { name: DURATION_NAME, help, type: "histogram", values, aggregator: "sum" };
    },
  };
}

/** Removes a counter's series whose `service` label is not in `live`. */
async function pruneByService(counter: Counter<"service" | "endpoint"> | Counter<"service" | "port">, live: ReadonlySet<string>): Promise<void> {
  const { values } = await counter.get();
  for (const v of values) {
    const service = v.labels.service;
    if (typeof service === "string" && !live.has(service)) (counter as Counter<string>).remove(v.labels as Record<string, string>);
  }
}


/** One (host, Service) pair's request counts, kept as plain numbers on the request path. */
interface Series {
  host: string;
  service: string;
  /** Requests per status class, indexed by `statusClassIndex`. */
  byClass: number[];
  /** Count per histogram bucket (not cumulative; the last is +Inf). */
  buckets: number[];
  durationSum: number;
  count: number;
  bytes: number;
  stats: HostStats;
}

/** `status_class` label values; index 0 is unused (no status below 100). */
const STATUS_CLASSES = ["", "1xx", "2xx", "3xx", "4xx", "5xx", "499"];

/** 499 (the client closed the request) is kept apart from the 4xx routes answer; anything past 599 counts as 5xx. */
function statusClassIndex(status: number): number {
  return status === 499 ? 6 : Math.min(5, Math.max(1, Math.floor(status / 100)));
}

const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const DURATION_NAME = "ingressd_request_duration_seconds";

/**
 * Prometheus metrics in ingress-nginx's spirit, prefixed `ingressd_`. A request only
 * adds to plain numbers of its (host, Service) series — prom-client's labelled
 * `inc`/`observe` validate and hash the labels on every call, which showed in the proxy
 * benchmark — and the registry reads the series when scraped.
 */
export class Metrics implements RequestObserver, MetricsReader {
  readonly registry = new Registry();
  private readonly connectErrors: Counter<"service" | "endpoint">;
  private readonly reloads: Counter<"result">;
  private readonly lastReloadOk: Gauge;
  private readonly lastReloadTime: Gauge;
  private readonly l4Connections: Counter<"service" | "port">;
  /** host → Service → series: two lookups by strings the route table holds, no key built per request. */
  private readonly series = new Map<string, Map<string, Series>>();
  private readonly hostStats = new Map<string, HostStats>();
  private readonly httpConnections = new Map<string, number>();
  /** Requests per protocol: a handful of constant keys, a plain count each. */
  private readonly byProtocol = new Map<string, number>();
  /** Per-route counts and the server's window of rates, for the dashboard (`/api/stats`). */
  private readonly routeRates = new RouteRates(Date.now());
  private readonly sampler = setInterval(() => this.routeRates.sample(Date.now()), 1_000).unref();

  constructor(snapshots: SnapshotSource, l4Status: () => readonly L4ListenerStatus[]) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const series = (): Iterable<Series> => this.allSeries();
    new Counter({
      name: "ingressd_requests_total",
      help: "HTTP requests answered, by matched host, Service and status class.",
      labelNames: ["host", "service", "status_class"],
      registers,
      collect() {
        this.reset();
        for (const s of series()) {
          s.byClass.forEach((n, i) => {
            if (n > 0) this.inc({ host: s.host, service: s.service, status_class: STATUS_CLASSES[i]! }, n);
          });
        }
      },
    });
    this.registry.registerMetric(durationHistogram(series) as never);
    new Counter({
      name: "ingressd_response_bytes_total",
      help: "Response body bytes sent to clients.",
      labelNames: ["host", "service"],
      registers,
      collect() {
        this.reset();
        for (const s of series()) if (s.bytes > 0) this.inc({ host: s.host, service: s.service }, s.bytes);
      },
    });
    const byProtocol = this.byProtocol;
    new Counter({
      name: "ingressd_requests_by_protocol_total",
      help: "HTTP requests answered, by protocol (HTTP/1.0, HTTP/1.1, HTTP/2.0).",
      labelNames: ["protocol"],
      registers,
      collect() {
        this.reset();
        for (const [protocol, n] of byProtocol) this.inc({ protocol }, n);
      },
    });
    this.connectErrors = new Counter({ name: "ingressd_upstream_connect_errors_total", help: "Connections to an endpoint refused, reset or timed out.", labelNames: ["service", "endpoint"], registers });
    const connections = this.httpConnections;
    new Gauge({
      name: "ingressd_active_connections",
      help: "Open client connections, by listener (http, https, or an L4 address:port).",
      labelNames: ["listener"],
      registers,
      collect() {
        this.reset();
        for (const [listener, n] of connections) this.set({ listener }, n);
        for (const l of l4Status()) this.set({ listener: l.id }, l.connections);
      },
    });
    // `aggregator`: how the primary of --workers N merges the workers' values. Every worker
    // reloads the same configuration, so its reloads and errors are counted once, not N times.
    this.reloads = new Counter({ name: "ingressd_config_reloads_total", help: "Configuration reloads; result=error when a changed file brought an error.", labelNames: ["result"], registers, aggregator: "max" });
    this.lastReloadOk = new Gauge({ name: "ingressd_config_last_reload_successful", help: "1 if the last reload brought no error in the files it changed, else 0.", registers, aggregator: "min" });
    this.lastReloadTime = new Gauge({ name: "ingressd_config_last_reload_success_timestamp_seconds", help: "When the last successful reload happened.", registers, aggregator: "min" });
    new Gauge({
      name: "ingressd_config_errors",
      aggregator: "max",
      help: "Errors in the current configuration (each listed in /api/config), listeners that cannot bind included.",
      registers,
      collect() {
        const snapshot = snapshots.current;
        this.set(snapshot.issues.filter((i) => i.severity === "error").length + l4Status().filter((l) => l.state === "error").length);
      },
    });
    new Gauge({
      name: "ingressd_endpoint_up",
      aggregator: "min",
      help: "1 while an endpoint is in rotation, 0 while health checks keep it out.",
      labelNames: ["service", "endpoint"],
      registers,
      collect() {
        this.reset();
        const now = Date.now();
        for (const pool of snapshots.current.pools.values()) {
          for (const ep of pool.endpoints) this.set({ service: pool.key, endpoint: ep.address }, pool.isAvailable(ep, now) ? 1 : 0);
        }
      },
    });
    this.l4Connections = new Counter({ name: "ingressd_l4_connections_total", help: "Connections accepted by NodePort/LoadBalancer listeners.", labelNames: ["service", "port"], registers });
  }

  request(o: RequestObservation): void {
    let byService = this.series.get(o.host);
    if (!byService) this.series.set(o.host, (byService = new Map()));
    let series = byService.get(o.service);
    if (!series) {
      let stats = this.hostStats.get(o.host);
      if (!stats) this.hostStats.set(o.host, (stats = { requests: 0, errors: 0 }));
      series = { host: o.host, service: o.service, byClass: new Array<number>(STATUS_CLASSES.length).fill(0), buckets: new Array<number>(DURATION_BUCKETS.length + 1).fill(0), durationSum: 0, count: 0, bytes: 0, stats };
      byService.set(o.service, series);
    }
    series.byClass[statusClassIndex(o.status)]!++;
    const seconds = o.durationMs / 1000;
    let b = 0;
    while (b < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[b]!) b++;
    series.buckets[b]!++;
    series.durationSum += seconds;
    series.count++;
    series.bytes += o.bytes;
    series.stats.requests++;
    if (o.status >= 500) series.stats.errors++;
    this.routeRates.count(o.route, o.status);
    this.byProtocol.set(o.protocol, (this.byProtocol.get(o.protocol) ?? 0) + 1);
  }

  connectError(service: string, endpoint: string): void {
    this.connectErrors.inc({ service, endpoint });
  }

  connectionOpened(listener: string): void {
    this.httpConnections.set(listener, (this.httpConnections.get(listener) ?? 0) + 1);
  }

  connectionClosed(listener: string): void {
    this.httpConnections.set(listener, (this.httpConnections.get(listener) ?? 1) - 1);
  }

  l4Connection(service: string, port: number): void {
    this.l4Connections.inc({ service, port: String(port) });
  }

  reloaded(ok: boolean): void {
    this.reloads.inc({ result: ok ? "success" : "error" });
    this.lastReloadOk.set(ok ? 1 : 0);
    if (ok) this.lastReloadTime.set(Date.now() / 1000);
  }

  /**
   * Drops the series of hosts and Services the configuration no longer has, as
   * ingress-nginx does: label sets come from the configuration, so without this a
   * long session of renames would grow the registry (and memory) without bound.
   */
  prune(snapshot: Snapshot): void {
    const table = snapshot.routes;
    // Only the hosts that have series are looked up, not every route of the configuration.
    const routesOf = (host: string | null): readonly Route[] => (host === null && table.defaultBackend ? [...table.routesOf(null), table.defaultBackend] : table.routesOf(host));
    const services = new Set(snapshot.pools.keys());
    for (const [host, byService] of this.series) {
      if (host === "_unmatched") continue; // its one series, service "", stays
      const routes = routesOf(host === "*" ? null : host);
      const keep = new Set([""]);
      for (const r of routes) for (const b of r.backends) keep.add(b.backend.key);
      for (const service of byService.keys()) if (routes.length === 0 || !keep.has(service)) byService.delete(service);
      if (byService.size === 0) this.series.delete(host);
    }
    for (const host of this.hostStats.keys()) if (!this.series.has(host)) this.hostStats.delete(host);
    this.routeRates.prune(routesOf);
    void pruneByService(this.connectErrors, services);
    void pruneByService(this.l4Connections, new Set([...services].map(serviceOfKey)));
  }

  private *allSeries(): Iterable<Series> {
    for (const byService of this.series.values()) yield* byService.values();
  }

  /** Per-host cumulative counts. */
  stats(): Record<string, HostStats> {
    return Object.fromEntries([...this.hostStats].map(([h, s]) => [h, { ...s }]));
  }

  /** Per-route counts and rates over the server's last seconds (keys: `routeKey`). */
  routeStats(now = Date.now()): ReturnType<RouteRates["read"]> {
    return this.routeRates.read(now);
  }

  /** What `/api/stats` answers. */
  statsDocument(time: number): StatsDocument {
    return { time, hosts: this.stats(), ...this.routeStats(time) };
  }

  async exposition(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }

  /** Stops sampling rates (shutdown). */
  close(): void {
    clearInterval(this.sampler);
  }
}

/** `namespace/service` of a backend key (the L4 connection gauge is labelled by Service). */
function serviceOfKey(key: string): string {
  const ref = parseBackendKey(key);
  return ref ? `${ref.namespace}/${ref.service}` : key;
}
