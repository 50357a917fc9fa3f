import { AffinityTable } from "./affinity.js";
import type { BackendSpec } from "./backendSpec.js";
import { clientIpAffinity, roundRobin, type Balancer, type PickContext } from "./balancer.js";
import type { Endpoint } from "./endpoint.js";
import { HealthChecker } from "./healthCheck.js";

/** Health transitions, reported upward (logs, metrics) through this callback. */
export type HealthListener = (event: { pool: string; endpoint: string; healthy: boolean; reason: string }) => void;

/** State a pool hands to its successor when a reload rebuilds it. */
export interface PoolCarryOver {
  affinity?: AffinityTable;
  activeHealth?: ReadonlyMap<string, boolean>;
}

/**
 * The endpoints behind one Service port: the policy that spreads requests over them,
 * ClientIP affinity, and health. An endpoint is available when passive checks have not
 * ejected it and active checks (if any) have not found it failing — one question,
 * asked by `available()` (cf. Caddy's `Upstream.Available()`).
 */
export class ServicePool {
  /** Active check verdicts by endpoint address; absent = not checked yet (in rotation). */
  readonly activeHealth: Map<string, boolean>;
  readonly affinity: AffinityTable | undefined;
  private readonly balancer: Balancer;
  private checker: HealthChecker | undefined;

  constructor(
    readonly spec: BackendSpec,
    readonly endpoints: readonly Endpoint[],
    private readonly onHealth: HealthListener,
    carry: PoolCarryOver = {},
  ) {
    const addresses = new Set(endpoints.map((e) => e.address));
    this.activeHealth = new Map([...(carry.activeHealth ?? [])].filter(([a]) => addresses.has(a)));
    const rr = roundRobin();
    if (spec.affinity.kind === "ClientIP") {
      const timeoutMs = spec.affinity.timeoutSeconds * 1000;
      this.affinity = carry.affinity && carry.affinity.timeoutMs === timeoutMs ? carry.affinity : new AffinityTable(timeoutMs);
      this.balancer = clientIpAffinity(this.affinity, rr);
    } else {
      this.balancer = rr;
    }
  }

  get key(): string {
    return this.spec.key;
  }

  /** Starts active health checks, when the Service asks for them. */
  start(): void {
    const { checkPath, checkIntervalMs } = this.spec.health;
    if (!checkPath || this.endpoints.length === 0) return;
    this.checker = new HealthChecker(this.endpoints, {
      path: checkPath,
      intervalMs: checkIntervalMs,
      host: `${this.spec.service}.${this.spec.namespace}`,
      onResult: (ep, healthy, detail) => {
        const before = this.activeHealth.get(ep.address);
        this.activeHealth.set(ep.address, healthy);
        if (before !== healthy && !(before === undefined && healthy)) {
          this.onHealth({ pool: this.key, endpoint: ep.address, healthy, reason: detail });
        }
      },
    });
    this.checker.start();
  }

  close(): void {
    this.checker?.stop();
  }

  isAvailable(ep: Endpoint, now: number): boolean {
    return !ep.isEjected(now) && this.activeHealth.get(ep.address) !== false;
  }

  /** The endpoints in rotation now; the same array when all are (the common case, no allocation). */
  available(now: number): readonly Endpoint[] {
    const all = this.endpoints;
    for (let i = 0; i < all.length; i++) {
      if (!this.isAvailable(all[i]!, now)) return all.filter((e) => this.isAvailable(e, now));
    }
    return all;
  }

  /**
   * An endpoint for this request. `retrying` ignores passive ejection: while a request
   * is held for a restarting upstream, an endpoint that refused a moment ago is worth
   * another try (a success brings it back). Active checks still decide.
   */
  pick(ctx: PickContext, retrying = false): Endpoint | undefined {
    const candidates = retrying ? this.endpoints.filter((e) => this.activeHealth.get(e.address) !== false) : this.available(Date.now());
    return this.balancer(candidates, ctx);
  }

  /** Another available endpoint than `failed`, for the one retry after a refused connection. */
  pickOther(failed: Endpoint, ctx: PickContext): Endpoint | undefined {
    const others = this.available(Date.now()).filter((e) => e !== failed);
    return others.length === 0 ? undefined : this.balancer(others, ctx);
  }

  /** A refused or reset connection to `ep` (passive health). */
  reportFailure(ep: Endpoint, reason: string): void {
    const { maxFails, failTimeoutMs } = this.spec.health;
    if (ep.recordFailure(Date.now(), maxFails, failTimeoutMs)) {
      this.onHealth({ pool: this.key, endpoint: ep.address, healthy: false, reason: `${maxFails} failures within ${failTimeoutMs} ms (${reason}); out of rotation for ${failTimeoutMs} ms` });
    }
  }

  /** A connection to `ep` that worked. */
  reportSuccess(ep: Endpoint): void {
    if (ep.recordSuccess()) this.onHealth({ pool: this.key, endpoint: ep.address, healthy: true, reason: "connection succeeded" });
  }

  /** Seconds until an endpoint may be back: for `Retry-After` when none is available. */
  retryAfterSeconds(now: number): number {
    let soonest = Number.POSITIVE_INFINITY;
    for (const ep of this.endpoints) if (ep.isEjected(now)) soonest = Math.min(soonest, ep.ejectedUntil - now);
    if (!Number.isFinite(soonest)) soonest = this.spec.health.checkPath ? this.spec.health.checkIntervalMs : 1000;
    return Math.max(1, Math.ceil(soonest / 1000));
  }
}
