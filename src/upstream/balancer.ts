import type { Endpoint } from "./endpoint.js";

/** What a policy may look at to choose an endpoint. */
export interface PickContext {
  clientIp: string;
}

/**
 * A load-balancing policy: choose one of the available endpoints. Policies are small
 * stateful functions, one per Service pool, so new ones plug in without touching the
 * proxy (cf. Caddy's `Selector.Select(pool, request)`).
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
