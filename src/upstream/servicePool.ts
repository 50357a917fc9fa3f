import { AffinityTable } from "./affinity.js";
import type { BackendSpec } from "./backendSpec.js";
import { clientIpAffinity, roundRobin, type Balancer, type ClientIpPlacement, type PickContext } from "./balancer.js";
import { HashRing, hash32, hashBalancer } from "./consistentHash.js";
import { cookieAffinity, cookieEndpointId, endpointCookieId } from "./cookieAffinity.js";
import type { Endpoint, PassiveHealthReader } from "./endpoint.js";
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
 * ClientIP affinity, and health. An endpoint is available when this Service's passive
 * limits (max-fails/fail-timeout, applied to the endpoint's shared failure history) have
 * not ejected it and active checks (if any) have not found it failing — one question,
 * asked by `available()` (cf. Caddy's `Upstream.Available()`). As nginx never marks its
 * last server down, passive health never leaves a Service without endpoints: when it
 * would, the passively ejected ones are offered still.
 */
export class ServicePool implements PassiveHealthReader {
  /** Active check verdicts by endpoint address; absent = not checked yet (in rotation). */
  readonly activeHealth: Map<string, boolean>;
  readonly affinity: AffinityTable | undefined;
  private readonly balancer: Balancer;
  /** Round robin: the Service's own policy, and where route policies place new clients. */
  private readonly rr = roundRobin();
  /** The routes' policies over this pool's endpoints; built on the first request that asks for one. */
  private routeBalancers: { cookie: Balancer; hash: Balancer } | undefined;
  /** The affinity-cookie ids of this pool's endpoints, built on first use. */
  private cookieIds: Set<string> | undefined;
  private checker: HealthChecker | undefined;
  private endpointRing: HashRing<Endpoint> | undefined;

  constructor(
    readonly spec: BackendSpec,
    readonly endpoints: readonly Endpoint[],
    private readonly onHealth: HealthListener,
    carry: PoolCarryOver = {},
    placement: ClientIpPlacement = "round-robin",
  ) {
    const addresses = new Set(endpoints.map((e) => e.address));
    this.activeHealth = new Map([...(carry.activeHealth ?? [])].filter(([a]) => addresses.has(a)));
    if (spec.affinity.kind === "ClientIP") {
      const timeoutMs = spec.affinity.timeoutSeconds * 1000;
      this.affinity = carry.affinity && carry.affinity.timeoutMs === timeoutMs ? carry.affinity : new AffinityTable(timeoutMs);
      this.balancer = clientIpAffinity(this.affinity, placement === "round-robin" ? this.rr : (available, ctx) => this.ring().find(hash32(ctx.clientIp), available));
    } else {
      this.balancer = this.rr;
    }
  }

  get key(): string {
    return this.spec.key;
  }

  get maxFails(): number {
    return this.spec.health.maxFails;
  }

  get failTimeoutMs(): number {
    return this.spec.health.failTimeoutMs;
  }

  /** Goes live: reads its endpoints' passive health, and starts active checks when the Service asks for them. */
  start(): void {
    for (const ep of this.endpoints) ep.addReader(this);
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
    for (const ep of this.endpoints) ep.removeReader(this);
  }

  /** Milliseconds `ep` stays out by this Service's passive limits; 0 when it is in. */
  ejectedForMs(ep: Endpoint, now: number): number {
    return Math.max(0, ep.outUntil(this.spec.health.maxFails, this.spec.health.failTimeoutMs) - now);
  }

  /** Whether the latest active check did not fail `ep` (or none ran). */
  private activelyHealthy(ep: Endpoint): boolean {
    return this.activeHealth.size === 0 || this.activeHealth.get(ep.address) !== false;
  }

  /** In rotation: neither this Service's passive limits nor active checks keep `ep` out. */
  isAvailable(ep: Endpoint, now: number): boolean {
    return ep.outUntil(this.spec.health.maxFails, this.spec.health.failTimeoutMs) <= now && this.activelyHealthy(ep);
  }

  /**
   * The endpoints to choose from now: those in rotation; if passive health has taken
   * them all, those active checks have not failed. The same array when all are in
   * (the common case, no allocation).
   */
  available(now: number): readonly Endpoint[] {
    const all = this.endpoints;
    for (let i = 0; i < all.length; i++) {
      if (this.isAvailable(all[i]!, now)) continue;
      const inRotation = all.filter((e) => this.isAvailable(e, now));
      return inRotation.length > 0 ? inRotation : all.filter((e) => this.activelyHealthy(e));
    }
    return all;
  }

  /**
   * An endpoint for this request. `retrying` ignores passive ejection: while a request
   * is held for a restarting upstream, an endpoint that refused a moment ago is worth
   * another try (a success brings it back). Active checks still decide.
   */
  pick(ctx: PickContext, retrying = false): Endpoint | undefined {
    const candidates = retrying ? this.endpoints.filter((e) => this.activelyHealthy(e)) : this.available(Date.now());
    return this.choose(candidates, ctx);
  }

  /** Another available endpoint than `failed`, for the one retry after a refused connection. */
  pickOther(failed: Endpoint, ctx: PickContext): Endpoint | undefined {
    const others = this.available(Date.now()).filter((e) => e !== failed);
    return others.length === 0 ? undefined : this.choose(others, ctx);
  }

  /**
   * A route's policy (cookie affinity, upstream-hash-by) decides when the request has
   * one, over the Service's sessionAffinity: the annotation on the route is the more
   * specific wish. Without one, the Service's own policy, as before.
   */
  private choose(candidates: readonly Endpoint[], ctx: PickContext): Endpoint | undefined {
    const policy = ctx.balance;
    if (policy === undefined) return this.balancer(candidates, ctx);
    const route = (this.routeBalancers ??= this.buildRouteBalancers());
    return (policy.kind === "cookie" ? route.cookie : route.hash)(candidates, ctx);
  }

  /**
   * Whether an affinity cookie names one of this pool's endpoints: how a route split
   * between a main and a canary backend keeps a session on the side it started on.
   */
  ownsAffinityCookie(cookie: string): boolean {
    this.cookieIds ??= new Set(this.endpoints.map((e) => endpointCookieId(this.key, e.address)));
    return this.cookieIds.has(cookieEndpointId(cookie));
  }

  /** One ring over every endpoint the Service lists (availability is asked per request): the pool is rebuilt when they change. */
  private ring(): HashRing<Endpoint> {
    return (this.endpointRing ??= new HashRing(this.endpoints, (e) => e.address));
  }

  private buildRouteBalancers(): { cookie: Balancer; hash: Balancer } {
    const ring = this.ring();
    return { cookie: cookieAffinity(this.key, ring, this.rr), hash: hashBalancer(ring) };
  }

  /** A refused or reset connection to `ep` (passive health, shared with every Service naming it). */
  reportFailure(ep: Endpoint, reason: string): void {
    ep.recordFailure(Date.now(), reason);
  }

  /** A connection to `ep` that worked. */
  reportSuccess(ep: Endpoint): void {
    ep.recordSuccess();
  }

  /** Told by `ep` when this Service's passive verdict on it changes: logged per Service. */
  passiveHealthChanged(ep: Endpoint, healthy: boolean, reason: string): void {
    const { maxFails, failTimeoutMs } = this.spec.health;
    const now = Date.now();
    const lastResort = !healthy && !this.endpoints.some((e) => this.isAvailable(e, now));
    this.onHealth({
      pool: this.key,
      endpoint: ep.address,
      healthy,
      reason: healthy
        ? reason
        : `${maxFails} failures within ${failTimeoutMs} ms (${reason}); out of rotation for ${failTimeoutMs} ms${lastResort ? ", still tried while no endpoint of the Service is in rotation" : ""}`,
    });
  }

  /**
   * Seconds until an endpoint may be back: for `Retry-After` when none answered. Passive
   * ejection never keeps a Service's last endpoints from the next request, so with one
   * that active checks have not failed that is at once (1 s); with all failing them, a
   * probe each interval may bring one back.
   */
  retryAfterSeconds(): number {
    if (this.endpoints.some((e) => this.activelyHealthy(e))) return 1;
    return Math.max(1, Math.ceil((this.spec.health.checkPath ? this.spec.health.checkIntervalMs : 1000) / 1000));
  }
}
