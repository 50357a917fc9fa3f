import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import type { ConfigSource, ConfigChange, SourceStatus } from "../config/source.js";
import { ConfigStore } from "../config/store.js";
import { nothingServedIssue } from "../config/nothingServed.js";
import { formatIssue, type ConfigIssue } from "../model/issues.js";
import { compileConfig } from "./compileConfig.js";
import type { ClasslessIngresses } from "../translate/ingressClass.js";
import type { ContextCache } from "../tls/tlsTable.js";
import { emptySnapshot, type Snapshot, type SnapshotSource } from "./snapshot.js";
import type { Endpoint, UpstreamTimeouts } from "../upstream/endpoint.js";
import { reconcilePools } from "../upstream/pools.js";
import type { HealthListener } from "../upstream/servicePool.js";
import type { ClientIpPlacement } from "../upstream/balancer.js";

export interface RuntimeOptions {
  source: ConfigSource;
  /** Address NodePort listeners bind to (`--bind`). */
  bind: string;
  ingressClass: string;
  /** Which Ingresses without a class are served (default: all; `default-class` in a cluster). */
  classless?: ClasslessIngresses;
  /** Open NodePort and LoadBalancer listeners (default true; not in a cluster, where kube-proxy does). */
  serviceListeners?: boolean;
  /** Gateways of this class are served (`--gateway-class`; default `ingressd`). */
  gatewayClass?: string;
  /** ingressd's HTTP and HTTPS ports, when known before the first load: Gateway listeners naming them are served there. */
  httpPort?: number;
  httpsPort?: number;
  timeouts: UpstreamTimeouts;
  logger: Logger;
  /** The rules paths as given (`--rules`), named when they hold no resource. */
  rulesPaths?: readonly string[];
  /** Log each new configuration error and warning (default true; the workers of `--workers N` leave it to their primary). */
  logIssues?: boolean;
  /** How ClientIP affinity places new clients (default round-robin; workers of `--workers N` hash the address). */
  clientIpPlacement?: ClientIpPlacement;
}

/** What one reload did, beside the snapshot it published. */
export interface ReloadInfo {
  changed: string[];
  /** False when a file of this batch brought an error (syntax or validation). */
  ok: boolean;
}

export interface RuntimeEvents {
  reload: [Snapshot, ReloadInfo];
}

/**
 * Owns the current snapshot. Each batch of changes is parsed, validated and compiled
 * aside into a complete next snapshot `{ routes, pools }`; publishing it is one
 * reference swap. Nothing here runs per request.
 */
export class Runtime extends EventEmitter<RuntimeEvents> implements SnapshotSource {
  current: Snapshot = emptySnapshot();
  ready = false;
  private readonly store = new ConfigStore();
  private endpoints = new Map<string, Endpoint>();
  /** Issues already logged, so each is logged once, not on every reload. */
  private logged = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private tlsContexts: ContextCache = new Map();

  private readonly startedAt = new Date();

  constructor(private readonly options: RuntimeOptions) {
    super();
  }

  /** Whether the source sees changes now: files always do; a lost API server since when. */
  sourceStatus(): SourceStatus {
    return this.options.source.status?.() ?? { kind: "files", connected: true, since: this.startedAt };
  }

  async start(): Promise<void> {
    const { source } = this.options;
    // Watch first, then read: a change during the initial read is then seen twice, never missed.
    // (`--no-watch` gives a source that reports no changes of files.)
    await source.watch((changes) => this.enqueue(changes));
    this.enqueue(await source.readAll());
    await this.queue;
    this.ready = true;
  }

  /** Resolves once every change received so far is applied. */
  settled(): Promise<void> {
    return this.queue;
  }

  /**
   * Reads every rules file again now, without waiting for the watcher (or without one:
   * `--no-watch`), and resolves with the generation that applied them. Files gone since
   * the last load are removed. Queued behind any reload in progress.
   */
  rescan(): Promise<number> {
    const done = this.queue.then(async () => {
      const changes = await this.options.source.readAll();
      const present = new Set(changes.map((c) => c.path));
      const gone = this.current.files.filter((f) => !present.has(f.path)).map((f) => ({ path: f.path, text: null }));
      this.reload([...changes, ...gone]);
      return this.current.generation;
    });
    this.queue = done.then(
      () => undefined,
      (err: unknown) => this.options.logger.error({ err }, "reload failed"),
    );
    return done;
  }

  /** Endpoints leaving or rejoining rotation are logged as they happen. */
  private readonly onHealth: HealthListener = (e) => {
    const fields = { backend: e.pool, endpoint: e.endpoint, reason: e.reason };
    if (e.healthy) this.options.logger.info(fields, "endpoint back in rotation");
    else this.options.logger.warn(fields, "endpoint out of rotation");
  };

  async stop(): Promise<void> {
    for (const pool of this.current.pools.values()) pool.close();
    await this.options.source.close();
    await Promise.all([...this.endpoints.values()].map((e) => e.close()));
  }

  /** Aborts whatever still runs upstream (after the shutdown grace period). */
  async destroy(): Promise<void> {
    await Promise.all([...this.endpoints.values()].map((e) => e.destroy()));
  }

  private enqueue(changes: ConfigChange[]): void {
    this.queue = this.queue.then(() => this.reload(changes)).catch((err: unknown) => {
      this.options.logger.error({ err }, "reload failed");
    });
  }

  private reload(changes: ConfigChange[]): void {
    const started = performance.now();
    const { logger } = this.options;
    this.store.apply(changes);
    const prev = this.current;
    const { resources, compiled, issues: configIssues, files } = this.store.serve((resources) =>
      compileConfig(resources, {
        ingressClass: this.options.ingressClass,
        ...(this.options.classless ? { classless: this.options.classless } : {}),
        ...(this.options.serviceListeners === false ? { serviceListeners: false } : {}),
        ...(this.options.gatewayClass !== undefined ? { gatewayClass: this.options.gatewayClass } : {}),
        ...(this.options.httpPort ? { httpPort: this.options.httpPort } : {}),
        ...(this.options.httpsPort ? { httpsPort: this.options.httpsPort } : {}),
        bind: this.options.bind,
        previousNodePorts: prev.l4.nodePorts,
        tlsContexts: this.tlsContexts,
      }),
    );
    const missing = this.options.source.missing?.() ?? [];
    const empty = missing.length === 0 ? nothingServedIssue(this.options.rulesPaths ?? [], resources) : undefined;
    const allIssues = [...missing, ...configIssues, ...(empty ? [empty] : [])];
    this.tlsContexts = compiled.tlsContexts;
    const { routes, l4 } = compiled;
    const next = reconcilePools(prev.pools, this.endpoints, compiled.backends, this.options.timeouts, this.onHealth, this.options.clientIpPlacement);
    const snapshot: Snapshot = {
      generation: prev.generation + 1,
      loadedAt: new Date(),
      routes: routes.table,
      pools: next.pools,
      issues: allIssues,
      files,
      ignored: routes.ignored,
      ingresses: servedIngresses(resources.ingresses, routes.ignored),
      l4: { listeners: l4.listeners, nodePorts: l4.nodePorts, loadBalancers: l4.loadBalancers },
      tls: compiled.tls,
      gatewayApi: routes.gateway,
      gatewayPorts: routes.ports,
    };
    this.current = snapshot;
    this.endpoints = next.endpoints;
    for (const pool of next.removed) pool.close();
    for (const pool of next.added) pool.start();
    // Retired endpoints finish their in-flight requests before their sockets close.
    for (const ep of next.retired) void ep.close();

    if (this.options.logIssues !== false) this.logNewIssues(allIssues);
    const errors = allIssues.filter((i) => i.severity === "error").length;
    logger.info(
      {
        generation: snapshot.generation,
        files: snapshot.files.length,
        changed: changes.length,
        hosts: snapshot.routes.hostCount,
        routes: snapshot.routes.routeCount,
        services: next.pools.size,
        errors,
        warnings: allIssues.length - errors,
        duration_ms: Math.round((performance.now() - started) * 100) / 100,
      },
      "configuration loaded",
    );
    const changedPaths = new Set(changes.map((c) => c.path));
    const ok = !allIssues.some((i) => i.severity === "error" && changedPaths.has(i.file));
    this.emit("reload", snapshot, { changed: [...changedPaths], ok });
  }

  private logNewIssues(issues: readonly ConfigIssue[]): void {
    const now = new Set<string>();
    for (const issue of issues) {
      const text = formatIssue(issue);
      now.add(text);
      if (this.logged.has(text)) continue;
      const fields = { file: issue.file, line: issue.line, col: issue.col, field: issue.field, code: issue.code, resource: issue.resource };
      if (issue.severity === "error") this.options.logger.error(fields, text);
      else this.options.logger.warn(fields, text);
    }
    this.logged = now;
  }
}

/** `namespace/name` of each Ingress not ignored for its class. */
function servedIngresses(ingresses: readonly { namespace: string; name: string }[], ignored: readonly { ingress: string }[]): string[] {
  const skip = new Set(ignored.map((i) => i.ingress));
  return ingresses.map((i) => `${i.namespace}/${i.name}`).filter((id) => !skip.has(id));
}
