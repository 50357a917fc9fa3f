import { randomBytes, randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { qualifiedName, type Resource } from "./resources.js";
import type { KubeObject } from "./selectors.js";
import { ApiError } from "./status.js";

/** One write, as a watch sees it; `previous` is the state before (for selector transitions and continue tokens). */
export interface Change {
  rv: number;
  resource: Resource;
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: KubeObject;
  previous?: KubeObject;
}

/** What a replace writes: the whole object (the test's controls), the main resource, or its `/status`. */
export type ReplacePart = "all" | "main" | "status";

/** The metadata fields the server owns: a client's values are ignored. */
const SERVER_OWNED = ["uid", "resourceVersion", "creationTimestamp", "generation", "selfLink", "managedFields", "deletionTimestamp"];

/** JSON with sorted keys: two objects are the same state when these are equal. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x,
  );
}

/** Everything but metadata and status: what bumps metadata.generation. */
function specOf(o: KubeObject): string {
  const { metadata: _m, status: _s, kind: _k, apiVersion: _a, ...rest } = o;
  return canonical(rest);
}

function withoutType(o: KubeObject): KubeObject {
  const { kind: _k, apiVersion: _a, ...rest } = o;
  return rest as KubeObject;
}

export function notFound(r: Resource, name: string): ApiError {
  return new ApiError(404, "NotFound", `${qualifiedName(r)} "${name}" not found`, { name, ...(r.group ? { group: r.group } : {}), kind: r.plural });
}

/** RFC 3339 to the second, as metav1.Time serializes. */
function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

/**
 * Objects of every kind and the history of writes, with one resourceVersion counter for
 * all kinds (etcd's revision). Emits "change" (a Change) after every write.
 */
export class Store extends EventEmitter {
  private rv = 1;
  /** Watches from a resourceVersion older than this get "too old resource version". */
  private compactedRv = 0;
  private history: Change[] = [];
  private readonly objects = new Map<Resource, Map<string, KubeObject>>();

  get resourceVersion(): number {
    return this.rv;
  }

  /** The oldest resourceVersion a watch can still start from. */
  get oldestResourceVersion(): number {
    return this.compactedRv;
  }

  private table(r: Resource): Map<string, KubeObject> {
    let t = this.objects.get(r);
    if (!t) this.objects.set(r, (t = new Map()));
    return t;
  }

  private key(r: Resource, namespace: string | undefined, name: string): string {
    return r.namespaced ? `${namespace ?? ""}/${name}` : name;
  }

  /** Items sorted as etcd keys are (namespace, then name). */
  items(r: Resource): KubeObject[] {
    return [...this.table(r).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => o);
  }

  /** The items as they were at `rv` (a continue token's snapshot), or undefined when history no longer reaches it. */
  itemsAt(r: Resource, rv: number): KubeObject[] | undefined {
    if (rv < this.compactedRv) return undefined;
    const t = new Map(this.table(r));
    for (const c of [...this.history].reverse()) {
      if (c.rv <= rv) break;
      if (c.resource !== r) continue;
      const k = this.key(r, c.object.metadata.namespace, c.object.metadata.name);
      if (c.previous) t.set(k, c.previous);
      else t.delete(k);
    }
    return [...t.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => o);
  }

  get(r: Resource, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.table(r).get(this.key(r, namespace, name));
  }

  /** Writes after `rv` of resource `r`, or undefined when compacted away. */
  since(r: Resource, rv: number): Change[] | undefined {
    if (rv < this.compactedRv) return undefined;
    return this.history.filter((c) => c.rv > rv && c.resource === r);
  }

  /** Forgets the history, as etcd's compaction (and the watch cache's limited window) does. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history = [];
  }

  private record(change: Omit<Change, "rv">): void {
    const c = { ...change, rv: this.rv };
    this.history.push(c);
    this.emit("change", c);
  }

  /**
   * Creates `input` in `namespace` (ignored for cluster-scoped kinds). `fromApi`: a client's
   * create, which resets status as the create strategies do (the test's controls keep it).
   */
  create(r: Resource, input: KubeObject, namespace: string | undefined, fromApi: boolean): KubeObject {
    const meta = { ...(input.metadata ?? {}) } as KubeObject["metadata"];
    for (const f of SERVER_OWNED) delete meta[f];
    if (!meta.name && typeof meta.generateName === "string") meta.name = meta.generateName + randomBytes(3).toString("hex").slice(0, 5);
    if (!meta.name) throw new ApiError(422, "Invalid", `${r.kind} "" is invalid: metadata.name: Required value: name or generateName is required`, { kind: r.kind });
    if (r.namespaced) meta.namespace = namespace ?? "default";
    else delete meta.namespace;
    const k = this.key(r, meta.namespace, meta.name);
    if (this.table(r).has(k))
      throw new ApiError(409, "AlreadyExists", `${qualifiedName(r)} "${meta.name}" already exists`, { name: meta.name, ...(r.group ? { group: r.group } : {}), kind: r.plural });
    const obj = withoutType(input);
    if (fromApi && r.status) {
      if (r.emptyStatus) obj.status = structuredClone(r.emptyStatus);
      else delete obj.status;
    }
    if (r.nameLabel) meta.labels = { ...meta.labels, [r.nameLabel]: meta.name };
    this.rv++;
    const { name, namespace: ns, ...rest } = meta;
    obj.metadata = {
      name,
      ...(ns !== undefined ? { namespace: ns } : {}),
      uid: randomUUID(),
      resourceVersion: String(this.rv),
      ...(r.generation ? { generation: 1 } : {}),
      creationTimestamp: now(),
      ...rest,
    };
    this.table(r).set(k, obj);
    this.record({ resource: r, type: "ADDED", object: obj });
    return obj;
  }

  /**
   * Replaces an object. A set metadata.resourceVersion that is not the stored one is a
   * 409 Conflict (optimistic concurrency; the "all" part of the test's controls skips it).
   * A write that changes nothing keeps the resourceVersion and sends no event, as the real
   * server does.
   */
  replace(r: Resource, input: KubeObject, part: ReplacePart): KubeObject {
    const name = input.metadata?.name ?? "";
    const existing = this.get(r, input.metadata?.namespace, name);
    if (!existing) throw notFound(r, name);
    const sent = input.metadata.resourceVersion;
    if (part !== "all" && sent !== undefined && sent !== "" && sent !== existing.metadata.resourceVersion)
      throw new ApiError(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${qualifiedName(r)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name, ...(r.group ? { group: r.group } : {}), kind: r.plural },
      );
    let next: KubeObject;
    if (part === "status") next = { ...existing, status: structuredClone(input.status) };
    else {
      next = withoutType(structuredClone(input));
      const meta = { ...next.metadata };
      for (const f of SERVER_OWNED) delete meta[f];
      next.metadata = { ...meta, namespace: existing.metadata.namespace, ...Object.fromEntries(SERVER_OWNED.filter((f) => f in existing.metadata).map((f) => [f, existing.metadata[f]])) } as KubeObject["metadata"];
      if (!r.namespaced) delete next.metadata.namespace;
      if (r.nameLabel) next.metadata.labels = { ...next.metadata.labels, [r.nameLabel]: name };
      if (part === "main" && r.status) {
        if (existing.status === undefined) delete next.status;
        else next.status = existing.status;
      }
    }
    if (r.generation && specOf(next) !== specOf(existing)) next.metadata = { ...next.metadata, generation: Number(existing.metadata.generation ?? 0) + 1 };
    if (canonical(next) === canonical(existing)) return existing;
    this.rv++;
    next.metadata = { ...next.metadata, resourceVersion: String(this.rv) };
    this.table(r).set(this.key(r, next.metadata.namespace, name), next);
    this.record({ resource: r, type: "MODIFIED", object: next, previous: existing });
    return next;
  }

  /** Deletes at once (no finalizers, no graceful deletion); the DELETED event carries a new resourceVersion. */
  remove(r: Resource, namespace: string | undefined, name: string): KubeObject {
    const existing = this.get(r, namespace, name);
    if (!existing) throw notFound(r, name);
    this.rv++;
    const gone = { ...existing, metadata: { ...existing.metadata, resourceVersion: String(this.rv) } };
    this.table(r).delete(this.key(r, namespace, name));
    this.record({ resource: r, type: "DELETED", object: gone, previous: existing });
    return gone;
  }
}
