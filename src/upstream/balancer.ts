import type { BalancePolicy } from "../model/route.js";
import type { AffinityTable } from "./affinity.js";
import type { Endpoint } from "./endpoint.js";

/** What a policy may look at to choose an endpoint. */
export interface PickContext {
  /** The client's address (the socket peer, or from X-Forwarded-For behind a trusted proxy). */
  clientIp: string;
  /** The route's own policy (an annotation): when set it decides, not the Service's sessionAffinity. */
  balance?: BalancePolicy;
  /** Cookie affinity: the value of the affinity cookie the request carries. */
  cookie?: string;
  /** Hash policy: the request's key, its variables filled in. */
  hashKey?: string;
  /** Written by cookie affinity when the client must be given a (new) cookie value. */
  setCookie?: string;
}

/**
 * A load-balancing policy: choose one of the available endpoints. Policies are small
 * functions with their own state, one per Service pool, so new ones plug in without
 * touching the proxy (cf. Caddy's `Selector.Select(pool, request)`).
 */
export type Balancer = (available: readonly Endpoint[], ctx: PickContext) => Endpoint | undefined;

export function roundRobin(): Balancer {
  let next = 0;
  return (available) => {
    if (available.length === 0) return undefined;
    const ep = available[next % available.length];
    next = (next + 1) % 1_000_000_007;
    return ep;
  };
}

/**
 * Where ClientIP affinity places a client it holds no pin for: the next endpoint in
 * turn (one process), or where the client's address hashes on the ring of the
 * endpoints, which every worker of `--workers N` computes alike, so a client answered
 * by any of them goes to the same endpoint.
 */
export type ClientIpPlacement = "round-robin" | "address-hash";

/**
 * `sessionAffinity: ClientIP`, as kube-proxy does it: a client keeps its endpoint while
 * it stays available and the client keeps coming back within the timeout; otherwise it
 * is (re-)pinned to the endpoint `choose` gives.
 */
export function clientIpAffinity(table: AffinityTable, choose: Balancer): Balancer {
  return (available, ctx) => {
    const now = Date.now();
    const pinned = table.get(ctx.clientIp, now);
    let ep = pinned === undefined ? undefined : available.find((e) => e.address === pinned);
    ep ??= choose(available, ctx);
    if (ep) table.pin(ctx.clientIp, ep.address, now);
    return ep;
  };
}
