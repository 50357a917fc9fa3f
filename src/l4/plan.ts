import type { Loaded } from "../config/resources.js";
import { NODE_PORT_MAX, NODE_PORT_MIN } from "../model/nodePorts.js";
import { fieldPath, type ConfigIssue, type SourceLocation } from "../model/issues.js";
import { backendKey } from "../model/backendKey.js";

/** One L4 (TCP) listener a Service asks for, as plain data. */
export interface L4ListenerSpec {
  /** `address:port`, the listener's identity across reloads. */
  id: string;
  address: string;
  port: number;
  /** The pool connections go to: `namespace/service:port`. */
  backend: string;
  /** `namespace/name` of the Service. */
  service: string;
  kind: "NodePort" | "LoadBalancer";
  /** The Service port asking for it (`spec.ports[i].nodePort` or `.port`), for errors such as a port in use. */
  field: string;
  /** Where that field is written (computed on demand: positions cost a second parse). */
  locate(): SourceLocation;
}

export interface L4Plan {
  listeners: L4ListenerSpec[];
  /** `namespace/service:port` → node port, explicit or assigned. */
  nodePorts: Map<string, number>;
  /** `namespace/name` → the LoadBalancer address (`status.loadBalancer.ingress[0].ip`). */
  loadBalancers: Map<string, string>;
  issues: ConfigIssue[];
}

/**
 * The TCP listeners kube-proxy would open for these Services: each port of a NodePort
 * or LoadBalancer Service at its nodePort on the bind address, and each port of a
 * LoadBalancer at `spec.loadBalancerIP` (default: the bind address). A missing nodePort
 * is assigned — the one it had before if still free, else one derived from the name —
 * so it stays the same across reloads and restarts.
 */
export function planL4Listeners(services: readonly Loaded<"Service">[], bind: string, previous: ReadonlyMap<string, number>): L4Plan {
  const plan: L4Plan = { listeners: [], nodePorts: new Map(), loadBalancers: new Map(), issues: [] };
  const exposed = services
    .filter((s) => s.object.spec?.type === "NodePort" || s.object.spec?.type === "LoadBalancer")
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.docIndex - b.docIndex));
  const taken = new Map<number, string>();
  const error = (svc: Loaded<"Service">, path: (string | number)[], code: string, message: string): void => {
    plan.issues.push({ severity: "error", code, message, field: fieldPath(path), resource: svc.id, ...svc.locate(path) });
  };

  // Explicit node ports first: they are what the user asked for, assigned ones make way.
  for (const svc of exposed) {
    (svc.object.spec?.ports ?? []).forEach((p, i) => {
      if (p.nodePort === undefined) return;
      const key = backendKey(svc.namespace, svc.name, p.port);
      const holder = taken.get(p.nodePort);
      if (holder) {
        error(svc, ["spec", "ports", i, "nodePort"], "node-port-conflict", `nodePort ${p.nodePort} is already used by ${holder}`);
        return;
      }
      taken.set(p.nodePort, key);
      plan.nodePorts.set(key, p.nodePort);
    });
  }
  // Then the ports assigned before, all of them, so a Service added later can never
  // take the port an existing Service's clients use; then fresh ones.
  const unassigned: string[] = [];
  for (const svc of exposed) {
    for (const p of svc.object.spec?.ports ?? []) {
      if (p.nodePort !== undefined) continue;
      const key = backendKey(svc.namespace, svc.name, p.port);
      const before = previous.get(key);
      if (before !== undefined && !taken.has(before)) {
        taken.set(before, key);
        plan.nodePorts.set(key, before);
      } else {
        unassigned.push(key);
      }
    }
  }
  for (const key of unassigned) {
    const port = assignNodePort(key, taken);
    if (port === undefined) continue; // the range is full: reported below as a missing listener
    taken.set(port, key);
    plan.nodePorts.set(key, port);
  }

  /** Listener address:port → the backend holding it: NodePort and LoadBalancer listeners share one space. */
  const addresses = new Map<string, string>();
  for (const [key, port] of plan.nodePorts) addresses.set(`${bind}:${port}`, key);
  for (const svc of exposed) {
    const spec = svc.object.spec!;
    const service = `${svc.namespace}/${svc.name}`;
    const kind = spec.type as "NodePort" | "LoadBalancer";
    (spec.ports ?? []).forEach((p, i) => {
      const backend = backendKey(svc.namespace, svc.name, p.port);
      const nodePort = plan.nodePorts.get(backend);
      if (nodePort === undefined) {
        if (p.nodePort === undefined) error(svc, ["spec", "ports", i], "node-ports-exhausted", `no free nodePort left in ${NODE_PORT_MIN}-${NODE_PORT_MAX}`);
        return;
      }
      const written = (path: (string | number)[]) => ({ field: fieldPath(path), locate: () => svc.locate(path) });
      plan.listeners.push({ id: `${bind}:${nodePort}`, address: bind, port: nodePort, backend, service, kind, ...written(["spec", "ports", i, p.nodePort === undefined ? "port" : "nodePort"]) });
      if (kind !== "LoadBalancer") return;
      const address = spec.loadBalancerIP ?? bind;
      const id = `${address}:${p.port}`;
      const holder = addresses.get(id);
      if (holder) {
        error(svc, ["spec", "ports", i, "port"], "load-balancer-conflict", `${id} is already taken by ${holder}`);
        return;
      }
      addresses.set(id, backend);
      plan.loadBalancers.set(service, address);
      plan.listeners.push({ id, address, port: p.port, backend, service, kind, ...written(["spec", "ports", i, "port"]) });
    });
  }
  return plan;
}

function assignNodePort(key: string, taken: ReadonlyMap<number, string>): number | undefined {
  const size = NODE_PORT_MAX - NODE_PORT_MIN + 1;
  const start = hash(key) % size;
  for (let i = 0; i < size; i++) {
    const port = NODE_PORT_MIN + ((start + i) % size);
    if (!taken.has(port)) return port;
  }
  return undefined;
}

/** FNV-1a: a stable, well-spread number from a name. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
