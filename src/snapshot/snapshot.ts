import type { FileReport } from "../config/store.js";
import type { L4Plan } from "../l4/plan.js";
import type { ConfigIssue } from "../model/issues.js";
import type { IgnoredIngress } from "../translate/ingress.js";
import { emptyGatewayApiStatus, type GatewayApiStatus } from "../translate/gateway/conditions.js";
import { RouteTable } from "../routing/routeTable.js";
import { TlsTable } from "../tls/tlsTable.js";
import type { PoolMap } from "../upstream/pools.js";

/**
 * One configuration generation: everything a request needs, immutable once published.
 * The proxy reads the current snapshot once per request; a reload builds the next one
 * aside and swaps a single reference, so a request in flight finishes on the snapshot
 * it started with and an old snapshot is garbage once its last request ends.
 */
export interface Snapshot {
  generation: number;
  loadedAt: Date;
  routes: RouteTable;
  pools: PoolMap;
  issues: readonly ConfigIssue[];
  files: readonly FileReport[];
  ignored: readonly IgnoredIngress[];
  /** The Ingresses this instance serves (of its classes), whose status it writes in a cluster: `namespace/name`. */
  ingresses: readonly string[];
  /** The TCP listeners NodePort and LoadBalancer Services ask for, with their ports. */
  l4: Omit<L4Plan, "issues">;
  /** SNI → certificate for the HTTPS listener. */
  tls: TlsTable;
  /** Gateway API status: what became of each GatewayClass, Gateway (and listener) and HTTPRoute. */
  gatewayApi: GatewayApiStatus;
  /** Ports opened for Gateway listeners (not ingressd's HTTP or HTTPS port), each with its own routing table. */
  gatewayPorts: ReadonlyMap<number, { protocol: "HTTP" | "HTTPS"; table: RouteTable }>;
}

export interface SnapshotSource {
  readonly current: Snapshot;
}

export function emptySnapshot(): Snapshot {
  return { generation: 0, loadedAt: new Date(), routes: RouteTable.empty(), pools: new Map(), issues: [], files: [], ignored: [], ingresses: [], l4: { listeners: [], nodePorts: new Map(), loadBalancers: new Map() }, tls: TlsTable.empty(), gatewayApi: emptyGatewayApiStatus(), gatewayPorts: new Map() };
}
