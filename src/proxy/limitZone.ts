import type { RateLimitFilter } from "../model/route.js";
import { bucketRate, drained, excessWith, type Bucket } from "./leakyBucket.js";

/** One client's state in a zone: its limit_req buckets and its requests in flight. */
export class ClientState {
  readonly rps: Bucket;
  readonly rpm: Bucket;
  connections = 0;
  /** When the client was last seen (ms, monotonic). */
  seen: number;
  /** Neighbours in the zone's least-recently-seen list. */
  older: ClientState | undefined;
  newer: ClientState | undefined;

  constructor(
    readonly client: string,
    now: number,
  ) {
    this.rps = { excess: 0, last: now };
    this.rpm = { excess: 0, last: now };
    this.seen = now;
  }
}

/** Clients a zone remembers at most (nginx's 5 MB zones hold some tens of thousands). */
export const MAX_CLIENTS_PER_ZONE = 50_000;
/** nginx forgets a client unseen for a minute whose buckets have drained. */
const IDLE_MS = 60_000;
/** Idle clients looked at per request: nginx's limit_req expires one or two per request. */
const EXPIRE_PER_REQUEST = 2;

/** Which limit refused a request: the annotation that set it. */
export type Refusal = "limit-rps" | "limit-rpm" | "limit-connections";

/**
 * The buckets of one ingress-nginx zone (an Ingress's limit-rps, limit-rpm and
 * limit-connections), per client address. Clients are kept in least-recently-seen order
 * (a linked list through their states: moving one costs nothing, as nginx's queue);
 * each request first forgets the oldest ones that are idle (unseen for a minute, buckets
 * drained, nothing in flight), as nginx expires its nodes, and a zone never holds more
 * than MAX_CLIENTS_PER_ZONE (then the longest unseen goes, as nginx does when its zone
 * is full).
 */
export class LimitZone {
  private readonly clients = new Map<string, ClientState>();
  private oldest: ClientState | undefined;
  private newest: ClientState | undefined;
  private readonly rpsRate: number;
  private readonly rpmRate: number;
  private readonly rpsBurst: number;
  private readonly rpmBurst: number;
  private readonly maxConnections: number;

  constructor(limits: Pick<RateLimitFilter, "rps" | "rpm" | "connections" | "burstMultiplier">) {
    this.rpsRate = limits.rps ? bucketRate(limits.rps, 1) : 0;
    this.rpmRate = limits.rpm ? bucketRate(limits.rpm, 60) : 0;
    this.rpsBurst = (limits.rps ?? 0) * limits.burstMultiplier * 1000;
    this.rpmBurst = (limits.rpm ?? 0) * limits.burstMultiplier * 1000;
    this.maxConnections = limits.connections ?? 0;
  }

  /** Clients remembered now. */
  get size(): number {
    return this.clients.size;
  }

  /**
   * Counts a request of `client` at `now` (ms, monotonic). Returns which limit refused it
   * (the buckets then stay as they were), or, when the zone limits connections, the
   * client's state to `release` once the request is over; else undefined.
   */
  admit(client: string, now: number): Refusal | ClientState | undefined {
    this.expire(now);
    let c = this.clients.get(client);
    const fresh = c === undefined;
    if (c) this.unlink(c);
    else this.clients.set(client, (c = new ClientState(client, now)));
    this.append(c);
    c.seen = now;

    // A client's first request leaves its buckets empty (nginx: a new node has excess 0).
    const rps = this.rpsRate > 0 && !fresh ? excessWith(c.rps, this.rpsRate, now) : 0;
    if (rps > this.rpsBurst) return "limit-rps";
    const rpm = this.rpmRate > 0 && !fresh ? excessWith(c.rpm, this.rpmRate, now) : 0;
    if (rpm > this.rpmBurst) return "limit-rpm";
    if (this.rpsRate > 0) account(c.rps, rps, now);
    if (this.rpmRate > 0) account(c.rpm, rpm, now);

    if (this.maxConnections === 0) return undefined;
    if (c.connections >= this.maxConnections) return "limit-connections";
    c.connections++;
    return c;
  }

  /** A request admitted with a connection slot is over. */
  release(state: ClientState): void {
    state.connections--;
  }

  private expire(now: number): void {
    while (this.oldest && this.clients.size >= MAX_CLIENTS_PER_ZONE) this.forget(this.oldest);
    for (let i = 0; i < EXPIRE_PER_REQUEST && this.oldest && this.idle(this.oldest, now); i++) this.forget(this.oldest);
  }

  private forget(c: ClientState): void {
    this.unlink(c);
    this.clients.delete(c.client);
  }

  private append(c: ClientState): void {
    c.older = this.newest;
    c.newer = undefined;
    if (this.newest) this.newest.newer = c;
    else this.oldest = c;
    this.newest = c;
  }

  private unlink(c: ClientState): void {
    if (c.older) c.older.newer = c.newer;
    else this.oldest = c.newer;
    if (c.newer) c.newer.older = c.older;
    else this.newest = c.older;
    c.older = c.newer = undefined;
  }

  private idle(c: ClientState, now: number): boolean {
    return (
      c.connections === 0 &&
      now - c.seen >= IDLE_MS &&
      (this.rpsRate === 0 || drained(c.rps, this.rpsRate, now)) &&
      (this.rpmRate === 0 || drained(c.rpm, this.rpmRate, now))
    );
  }
}

function account(b: Bucket, excess: number, now: number): void {
  b.excess = excess;
  b.last = now;
}

/**
 * Where the zones live: not in the immutable snapshot (a reload would reset every
 * client's buckets), but here, one per Ingress and limits, as long as some route still
 * uses it. Routes hold their zone through their built steps; once no live configuration
 * has a route of it, the zone is collected and its entry goes. An Ingress whose limits
 * change gets a new zone (nginx: a new zone name); unrelated reloads keep the buckets.
 */
const zones = new Map<string, WeakRef<LimitZone>>();
const forget = new FinalizationRegistry<string>((key) => {
  if (zones.get(key)?.deref() === undefined) zones.delete(key);
});

export function sharedZone(filter: RateLimitFilter): LimitZone {
  const key = `${filter.zone}|${filter.rps ?? ""}|${filter.rpm ?? ""}|${filter.connections ?? ""}|${filter.burstMultiplier}`;
  let zone = zones.get(key)?.deref();
  if (!zone) {
    zone = new LimitZone(filter);
    zones.set(key, new WeakRef(zone));
    forget.register(zone, key);
  }
  return zone;
}
