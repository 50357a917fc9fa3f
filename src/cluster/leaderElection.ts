import { KubeApiError, type KubeClient } from "../config/kubernetes/kubeClient.js";

/** client-go's defaults (LeaseDuration 15 s, RenewDeadline 10 s, RetryPeriod 2 s). */
export interface LeaderTimings {
  /** How long a holder's claim lasts after its last renewal, as other candidates see it. */
  leaseDurationMs: number;
  /** How long the leader keeps trying to renew before it gives leadership up. */
  renewDeadlineMs: number;
  /** How often candidates try to acquire, and the leader renews. */
  retryPeriodMs: number;
}

export const DEFAULT_LEADER_TIMINGS: LeaderTimings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  /** The Lease's name: `ingressd-leader`. */
  name: string;
  identity: string;
  timings?: LeaderTimings;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  /** A try failed for another reason than another holder (the API server unreachable, forbidden). */
  onError?: (err: Error) => void;
  /** A try reached the API server (whether or not it won the Lease). */
  onSucceeded?: () => void;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/** A Lease's MicroTime: RFC 3339 with microseconds, as the API server stores it. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/**
 * Leader election on a `coordination.k8s.io/v1` Lease, as client-go's leaderelection
 * does it, so one replica writes status at a time. A candidate takes the Lease when it
 * does not exist, is released (no holder) or its holder has not renewed it for
 * `leaseDuration` — measured on this replica's own clock from when it last saw the
 * record change, never by comparing clocks across machines. Every write goes through the
 * Lease's resourceVersion, so of two candidates racing only one succeeds. The leader
 * renews every `retryPeriod`, and gives leadership up (before anyone else may take it)
 * when it could not renew for `renewDeadline`. On stop it releases the Lease.
 */
export class LeaderElection {
  private readonly timings: LeaderTimings;
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  /** The record last seen, and when (local monotonic-ish clock) it was first seen. */
  private observed: { spec: LeaseSpec; at: number } | undefined;
  /** When the leader last renewed successfully. */
  private renewedAt = 0;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly options: LeaderElectionOptions) {
    this.timings = options.timings ?? DEFAULT_LEADER_TIMINGS;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Who holds the Lease as last seen. */
  get holder(): string | undefined {
    return this.observed?.spec.holderIdentity || undefined;
  }

  start(): void {
    this.schedule(0);
  }

  /** Stops trying; a leader releases the Lease so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    if (!this.leading) return;
    this.leading = false;
    this.options.onStoppedLeading();
    try {
      const lease = await this.get();
      if (lease?.spec?.holderIdentity !== this.options.identity) return;
      const now = Date.now();
      // client-go's ReleaseOnCancel: no holder, a one-second lease, renewed now.
      await this.update({ ...lease, spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: microTime(now), acquireTime: microTime(now) } });
    } catch (err) {
      this.options.onError?.(err as Error);
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    // client-go's JitterFactor 1.2 on the retry period: candidates do not try in lockstep.
    const wait = ms === 0 ? 0 : Math.round(this.leading ? ms : ms * (1 + Math.random() * 1.2));
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => this.schedule(this.timings.retryPeriodMs));
    }, wait);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const now = Date.now();
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew(now);
      this.options.onSucceeded?.();
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 409)) this.options.onError?.(err as Error);
    }
    if (this.stopped) return;
    if (ok) {
      this.renewedAt = now;
      if (!this.leading) {
        this.leading = true;
        this.options.onStartedLeading();
      }
    } else if (this.leading && Date.now() - this.renewedAt >= this.timings.renewDeadlineMs) {
      // Not renewed within the deadline: give up before the lease can expire for others.
      this.leading = false;
      this.options.onStoppedLeading();
    }
  }

  /** One try: create the Lease, take it over, or renew it; false when another holder's claim stands or the write lost a race. */
  private async tryAcquireOrRenew(now: number): Promise<boolean> {
    const { identity } = this.options;
    const durationSeconds = Math.ceil(this.timings.leaseDurationMs / 1000);
    const lease = await this.get();
    if (!lease) {
      const spec: LeaseSpec = { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 };
      await this.options.client.request("POST", this.collection(), {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: this.options.name, namespace: this.options.namespace },
        spec,
      });
      this.observed = { spec, at: now };
      return true;
    }
    const spec = lease.spec ?? {};
    if (!this.observed || !sameRecord(this.observed.spec, spec)) this.observed = { spec, at: now };
    const holder = spec.holderIdentity ?? "";
    const claimMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (holder !== "" && holder !== identity && this.observed.at + claimMs > now) return false;
    const mine = holder === identity;
    const next: LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds: durationSeconds,
      acquireTime: mine && spec.acquireTime ? spec.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
    };
    await this.update({ ...lease, spec: next });
    this.observed = { spec: next, at: now };
    return true;
  }

  private collection(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.options.namespace)}/leases`;
  }

  private async get(): Promise<Lease | undefined> {
    try {
      return await this.options.client.get<Lease>(`${this.collection()}/${encodeURIComponent(this.options.name)}`);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** A PUT carrying the resourceVersion read: a 409 Conflict when someone wrote in between. */
  private async update(lease: Lease): Promise<void> {
    await this.options.client.request("PUT", `${this.collection()}/${encodeURIComponent(this.options.name)}`, lease);
  }
}

function sameRecord(a: LeaseSpec, b: LeaseSpec): boolean {
  return a.holderIdentity === b.holderIdentity && a.renewTime === b.renewTime && a.leaseTransitions === b.leaseTransitions && a.acquireTime === b.acquireTime;
}
