import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { L4ListenerStatus } from "../proxy/l4Listeners.js";
import type { Snapshot, SnapshotSource } from "../snapshot.js";

/** Removes a counter's series whose `service` label is not in `live`. */
async function pruneByService(counter: Counter<"service" | "endpoint"> | Counter<"service" | "port">, live: ReadonlySet<string>): Promise<void> {
  const { values } = await counter.get();
  for (const v of values) {
    const service = v.labels.service;
    if (typeof service === "string" && !live.has(service)) (counter as Counter<string>).remove(v.labels as Record<string, string>);
  }
}

/** What the proxy reports per request; labels come from the configuration, never from input. */
export interface RequestObservation {
  /** The matched rule's host as written (`api.localhost`, `*.apps.localhost`, `*`), or `_unmatched`. */
  host: string;
  /** `namespace/service:port`, or "" when no Service was selected. */
  service: string;
  status: number;
  durationMs: number;
  bytes: number;
}

export interface RequestObserver {
  request(o: RequestObservation): void;
  connectError(service: string, endpoint: string): void;
}

/** Cumulative per-host counts for the dashboard's live rates (`/api/stats`). */
export interface HostStats {
  requests: number;
  errors: number;
}

interface Children {
  host: string;
  service: string;
  byClass: Map<string, Counter.Internal>;
  duration: Histogram.Internal<"host" | "service">;
  bytes: Counter.Internal;
  stats: HostStats;
}

/**
 * Prometheus metrics in ingress-nginx's spirit, prefixed `ingressd_`. Label children are
 * cached per (host, service), so a request costs a map lookup and a few additions.
 */
export class Metrics implements RequestObserver {
  readonly registry = new Registry();
  private readonly requests: Counter<"host" | "service" | "status_class">;
  private readonly duration: Histogram<"host" | "service">;
  private readonly responseBytes: Counter<"host" | "service">;
  private readonly connectErrors: Counter<"service" | "endpoint">;
  private readonly reloads: Counter<"result">;
  private readonly lastReloadOk: Gauge;
  private readonly lastReloadTime: Gauge;
  private readonly configErrors: Gauge;
  private readonly l4Connections: Counter<"service" | "port">;
  private readonly children = new Map<string, Children>();
  private readonly hostStats = new Map<string, HostStats>();
  private readonly httpConnections = new Map<string, number>();

  constructor(snapshots: SnapshotSource, l4Status: () => readonly L4ListenerStatus[]) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({ name: "ingressd_requests_total", help: "HTTP requests answered, by matched host, Service and status class.", labelNames: ["host", "service", "status_class"], registers });
    this.duration = new Histogram({
      name: "ingressd_request_duration_seconds",
      help: "Time from request to the end of the response, by matched host and Service.",
      labelNames: ["host", "service"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.responseBytes = new Counter({ name: "ingressd_response_bytes_total", help: "Response body bytes sent to clients.", labelNames: ["host", "service"], registers });
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
    this.reloads = new Counter({ name: "ingressd_config_reloads_total", help: "Configuration reloads; result=error when a changed file brought an error.", labelNames: ["result"], registers });
    this.lastReloadOk = new Gauge({ name: "ingressd_config_last_reload_successful", help: "1 if the last reload brought no error in the files it changed, else 0.", registers });
    this.lastReloadTime = new Gauge({ name: "ingressd_config_last_reload_success_timestamp_seconds", help: "When the last successful reload happened.", registers });
    this.configErrors = new Gauge({
      name: "ingressd_config_errors",
      help: "Errors in the current configuration (each listed in /api/config), listeners that cannot bind included.",
      registers,
      collect() {
        const snapshot = snapshots.current;
        this.set(snapshot.issues.filter((i) => i.severity === "error").length + l4Status().filter((l) => l.state === "error").length);
      },
    });
    new Gauge({
      name: "ingressd_endpoint_up",
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
    const key = `${o.host}\u0000${o.service}`;
    let c = this.children.get(key);
    if (!c) {
      let stats = this.hostStats.get(o.host);
      if (!stats) this.hostStats.set(o.host, (stats = { requests: 0, errors: 0 }));
      c = {
        host: o.host,
        service: o.service,
        byClass: new Map(),
        duration: this.duration.labels(o.host, o.service),
        bytes: this.responseBytes.labels(o.host, o.service),
        stats,
      };
      this.children.set(key, c);
    }
    const cls = o.status === 499 ? "499" : `${Math.floor(o.status / 100)}xx`;
    let counter = c.byClass.get(cls);
    if (!counter) c.byClass.set(cls, (counter = this.requests.labels(o.host, o.service, cls)));
    counter.inc();
    c.duration.observe(o.durationMs / 1000);
    if (o.bytes > 0) c.bytes.inc(o.bytes);
    c.stats.requests++;
    if (o.status >= 500) c.stats.errors++;
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
    const live = new Set<string>(["_unmatched\u0000"]);
    const services = new Set(snapshot.pools.keys());
    const routes = snapshot.routes.routes();
    if (snapshot.routes.defaultBackend) routes.push(snapshot.routes.defaultBackend);
    for (const r of routes) {
      live.add(`${r.host ?? "*"}\u0000${r.backend.key}`);
      live.add(`${r.host ?? "*"}\u0000`);
    }
    for (const [key, c] of this.children) {
      if (live.has(key)) continue;
      for (const cls of c.byClass.keys()) this.requests.remove(c.host, c.service, cls);
      this.duration.remove(c.host, c.service);
      this.responseBytes.remove(c.host, c.service);
      this.children.delete(key);
    }
    const hosts = new Set([...this.children.values()].map((c) => c.host));
    for (const host of this.hostStats.keys()) if (!hosts.has(host)) this.hostStats.delete(host);
    void pruneByService(this.connectErrors, services);
    void pruneByService(this.l4Connections, new Set([...services].map((k) => k.slice(0, k.lastIndexOf(":")))));
  }

  /** Per-host cumulative counts; the dashboard turns two readings into rates. */
  stats(): Record<string, HostStats> {
    return Object.fromEntries([...this.hostStats].map(([h, s]) => [h, { ...s }]));
  }
}
