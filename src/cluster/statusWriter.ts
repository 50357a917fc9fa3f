import { KubeApiError, type KubeClient } from "../config/kubernetes/kubeClient.js";
import type { Snapshot } from "../snapshot/snapshot.js";
import type { Condition, ParentRefView } from "../translate/gateway/conditions.js";
import { GATEWAY_CONTROLLER_NAME } from "../translate/gateway/listeners.js";
import { normalizedAddresses, type LoadBalancerIngress } from "./publishedAddresses.js";

const GATEWAY_GROUP = "gateway.networking.k8s.io";
const GATEWAY_API = `/apis/${GATEWAY_GROUP}/v1`;

/** A condition as the API stores it. */
interface StoredCondition extends Condition {
  observedGeneration?: number;
  lastTransitionTime?: string;
}

interface Stored {
  metadata?: { generation?: number; resourceVersion?: string };
  status?: Record<string, unknown>;
}

/** What one write is about, for the log: `Ingress shop/web`. */
export interface WriteFailure {
  object: string;
  error: Error;
}

/**
 * Writes what ingressd found back to the cluster, through the `status` subresource:
 * each served Ingress's `status.loadBalancer.ingress`, the status of the GatewayClasses
 * naming ingressd's controller, of the Gateways served and of each HTTPRoute's parents
 * that are ingressd's (other controllers' entries are kept). An object is read first and
 * written only when its status differs, so a resync costs reads, not writes; a
 * condition keeps its `lastTransitionTime` while its status stays the same. Only the
 * leader calls `sync`.
 */
export class StatusWriter {
  /** Per object, the status last confirmed in the cluster: what need not be read again. */
  private confirmed = new Map<string, string>();

  constructor(private readonly client: KubeClient) {}

  /** Forget what was confirmed (leadership changed hands: someone else may have written since). */
  forget(): void {
    this.confirmed.clear();
  }

  /** Writes every status that differs from `snapshot`'s; resolves with the failures (each object alone). */
  async sync(snapshot: Snapshot, addresses: LoadBalancerIngress[] | undefined): Promise<WriteFailure[]> {
    const failures: WriteFailure[] = [];
    /** The objects of this sync: what is confirmed of the others (deleted, no longer served) is forgotten. */
    const current = new Set<string>();
    const attempt = async (object: string, desired: unknown, write: () => Promise<void>): Promise<void> => {
      current.add(object);
      const key = JSON.stringify(desired);
      if (this.confirmed.get(object) === key) return;
      try {
        await write();
        this.confirmed.set(object, key);
      } catch (err) {
        // Gone meanwhile: nothing to write. Conflict: another writer; the next sync reads again.
        if (err instanceof KubeApiError && err.status === 404) return;
        failures.push({ object, error: err as Error });
      }
    };
    const tasks: Promise<void>[] = [];
    if (addresses) {
      const lb = { ingress: normalizedAddresses(addresses) };
      for (const id of snapshot.ingresses) {
        const [namespace, name] = id.split("/") as [string, string];
        tasks.push(attempt(`Ingress ${id}`, lb, () => this.writeIngress(namespace, name, lb)));
      }
    }
    const gw = snapshot.gatewayApi;
    for (const c of gw.gatewayClasses) {
      if (c.controllerName !== GATEWAY_CONTROLLER_NAME) continue;
      tasks.push(attempt(`GatewayClass ${c.name}`, c.conditions, () => this.writeStatus(`${GATEWAY_API}/gatewayclasses/${c.name}`, (old, gen) => ({ conditions: this.conditions(c.conditions, old.conditions, gen) }))));
    }
    for (const g of gw.gateways) {
      const [namespace, name] = g.name.split("/") as [string, string];
      const gatewayAddresses = (addresses ?? []).map((a) => (a.ip ? { type: "IPAddress", value: a.ip } : { type: "Hostname", value: a.hostname! }));
      tasks.push(
        attempt(`Gateway ${g.name}`, [g, gatewayAddresses], () =>
          this.writeStatus(`${GATEWAY_API}/namespaces/${namespace}/gateways/${name}`, (old, gen) => {
            const oldListeners = (old.listeners as { name: string; conditions?: StoredCondition[] }[] | undefined) ?? [];
            return {
              ...(gatewayAddresses.length > 0 ? { addresses: gatewayAddresses } : {}),
              conditions: this.conditions(g.conditions, old.conditions, gen),
              listeners: g.listeners.map((l) => ({
                name: l.name,
                supportedKinds: l.supportedKinds.map((kind) => ({ group: GATEWAY_GROUP, kind })),
                attachedRoutes: l.attachedRoutes,
                conditions: this.conditions(l.conditions, oldListeners.find((o) => o.name === l.name)?.conditions, gen),
              })),
            };
          }),
        ),
      );
    }
    for (const r of gw.httpRoutes) {
      if (r.parents.length === 0) continue;
      const [namespace, name] = r.name.split("/") as [string, string];
      tasks.push(
        attempt(`HTTPRoute ${r.name}`, r.parents, () =>
          this.writeStatus(`${GATEWAY_API}/namespaces/${namespace}/httproutes/${name}`, (old, gen) => {
            const parents = (old.parents as { controllerName?: string; parentRef: ParentRefView; conditions?: StoredCondition[] }[] | undefined) ?? [];
            const others = parents.filter((p) => p.controllerName !== GATEWAY_CONTROLLER_NAME);
            const ours = r.parents.map((p) => {
              const before = parents.find((o) => o.controllerName === GATEWAY_CONTROLLER_NAME && sameParent(o.parentRef, p.parentRef));
              return { parentRef: parentRef(p.parentRef), controllerName: GATEWAY_CONTROLLER_NAME, conditions: this.conditions(p.conditions, before?.conditions, gen) };
            });
            return { parents: [...others, ...ours] };
          }),
        ),
      );
    }
    await Promise.all(tasks);
    for (const object of this.confirmed.keys()) if (!current.has(object)) this.confirmed.delete(object);
    return failures;
  }

  /** A merge patch of `status.loadBalancer` (an array in a merge patch is replaced whole), when it differs. */
  private async writeIngress(namespace: string, name: string, lb: { ingress: LoadBalancerIngress[] }): Promise<void> {
    const path = `/apis/networking.k8s.io/v1/namespaces/${namespace}/ingresses/${name}`;
    const current = await this.client.get<Stored>(path);
    const now = (current.status?.loadBalancer as { ingress?: LoadBalancerIngress[] } | undefined)?.ingress ?? [];
    if (JSON.stringify(normalizedAddresses(now)) === JSON.stringify(lb.ingress)) return;
    await this.client.request("PATCH", `${path}/status`, { status: { loadBalancer: lb } }, "application/merge-patch+json");
  }

  /**
   * Reads the object, builds its status from the old one, and replaces the status
   * (a PUT with the resourceVersion read: a concurrent writer makes it a 409, retried at
   * the next sync) — only when it differs, conditions' times aside.
   */
  private async writeStatus(path: string, build: (old: Record<string, unknown> & { conditions?: StoredCondition[] }, generation: number | undefined) => Record<string, unknown>): Promise<void> {
    const current = await this.client.get<Stored & Record<string, unknown>>(path);
    const old = (current.status ?? {}) as Record<string, unknown> & { conditions?: StoredCondition[] };
    const status = { ...old, ...build(old, current.metadata?.generation) };
    if (JSON.stringify(withoutTimes(status)) === JSON.stringify(withoutTimes(old))) return;
    await this.client.request("PUT", `${path}/status`, { ...current, status });
  }

  /** Conditions as stored: each with the object's generation, keeping its transition time while its status is unchanged. */
  private conditions(conditions: readonly Condition[], before: readonly StoredCondition[] | undefined, generation: number | undefined): StoredCondition[] {
    const at = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    return conditions.map((c) => {
      const prev = before?.find((b) => b.type === c.type);
      return {
        type: c.type,
        status: c.status,
        reason: c.reason,
        message: c.message,
        ...(generation !== undefined ? { observedGeneration: generation } : {}),
        lastTransitionTime: prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : at,
      };
    });
  }
}

function parentRef(p: ParentRefView): Record<string, unknown> {
  return { group: GATEWAY_GROUP, kind: "Gateway", namespace: p.namespace, name: p.name, ...(p.sectionName !== undefined ? { sectionName: p.sectionName } : {}), ...(p.port !== undefined ? { port: p.port } : {}) };
}

function sameParent(a: Partial<ParentRefView> | undefined, b: ParentRefView): boolean {
  return a !== undefined && a.name === b.name && (a.namespace ?? b.namespace) === b.namespace && a.sectionName === b.sectionName && a.port === b.port;
}

/** The status without lastTransitionTime: what a change of it is judged by. */
function withoutTimes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTimes);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).filter(([k]) => k !== "lastTransitionTime").map(([k, v]) => [k, withoutTimes(v)]));
  }
  return value;
}
