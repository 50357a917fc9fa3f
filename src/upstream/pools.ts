import type { BackendSpec } from "./backendSpec.js";
import type { EndpointTls } from "./backendSpec.js";
import { Endpoint, endpointId, type UpstreamTimeouts } from "./endpoint.js";
import { ServicePool, type HealthListener } from "./servicePool.js";
import type { ClientIpPlacement } from "./balancer.js";

/** The pools of one configuration generation, by backend key. Read-only once built. */
export type PoolMap = ReadonlyMap<string, ServicePool>;

export interface ReconcileResult {
  pools: Map<string, ServicePool>;
  endpoints: Map<string, Endpoint>;
  /** Pools built for this generation: start them once the snapshot is live. */
  added: ServicePool[];
  /** Pools of the previous generation not carried over: stop their health checks. */
  removed: ServicePool[];
  /** Endpoints no longer named by any pool: close them once the new snapshot is live. */
  retired: Endpoint[];
}

/**
 * Builds the next generation's pools from plain specs, reusing what it can: a pool
 * whose spec is unchanged is the same object (balancer position, affinity, health
 * checks kept); a changed pool inherits its affinity table and health verdicts; an
 * endpoint address still in use keeps its Endpoint (keep-alive sockets, passive health).
 */
export function reconcilePools(
  previousPools: ReadonlyMap<string, ServicePool>,
  previousEndpoints: ReadonlyMap<string, Endpoint>,
  specs: ReadonlyMap<string, BackendSpec>,
  timeouts: UpstreamTimeouts,
  onHealth: HealthListener,
  placement: ClientIpPlacement = "round-robin",
): ReconcileResult {
  const endpoints = new Map<string, Endpoint>();
  const pools = new Map<string, ServicePool>();
  const added: ServicePool[] = [];
  const endpointFor = (host: string, port: number, tls: EndpointTls | undefined, http2: boolean): Endpoint => {
    const id = endpointId({ host, port }, tls, http2);
    const ep = endpoints.get(id) ?? previousEndpoints.get(id) ?? new Endpoint({ host, port }, timeouts, tls, id, http2);
    endpoints.set(id, ep);
    return ep;
  };
  for (const [key, spec] of specs) {
    const eps = spec.endpoints.map((a) => endpointFor(a.host, a.port, spec.tls, spec.http2 === true));
    const prev = previousPools.get(key);
    if (prev && sameSpec(prev.spec, spec) && prev.endpoints.every((e, i) => e === eps[i])) {
      pools.set(key, prev);
    } else {
      const pool = new ServicePool(spec, eps, onHealth, prev ? { affinity: prev.affinity, activeHealth: prev.activeHealth } : {}, placement);
      pools.set(key, pool);
      added.push(pool);
    }
  }
  const removed = [...previousPools.values()].filter((p) => pools.get(p.key) !== p);
  const retired = [...previousEndpoints.values()].filter((e) => endpoints.get(e.id) !== e);
  return { pools, endpoints, added, removed, retired };
}

function sameSpec(a: BackendSpec, b: BackendSpec): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
