import type { ConfigIssue } from "../../model/issues.js";
import { QuietPeriod } from "../quietPeriod.js";
import type { ConfigChange, ConfigSource, SourceStatus } from "../source.js";
import type { Backoff } from "./backoff.js";
import { KindInformer } from "./kindInformer.js";
import { KubeApiError, type KubeClient } from "./kubeClient.js";
import { objectOfPathName, objectPathName, objectText, type KubeObject } from "./objectText.js";
import { secretReferences } from "./secretReferences.js";
import { ENDPOINTS, objectPath, SECRETS, WATCHED_KINDS, type WatchedKind } from "./watchedKinds.js";

export interface KubernetesSourceOptions {
  client: KubeClient;
  /** `--namespace`: read only this namespace's objects (and the cluster-scoped classes). */
  namespace?: string;
  /** `--watch-namespace-selector`: read only the objects of namespaces with these labels. */
  namespaceSelector?: string;
  /** Quiet time before a batch of changes is applied (as for files). */
  debounceMs?: number;
  /** How often the referenced Secrets are read again (default 60 s). */
  secretRefreshMs?: number;
  /** Reconnection backoff per kind (tests shorten it). */
  backoff?: () => Backoff;
  /** The connection was lost or came back. */
  onStatus?: (status: SourceStatus) => void;
  /** A Secret could not be read (it keeps its last version). */
  onError?: (err: Error) => void;
}

/** The status's error until every kind was listed once. */
const NOT_SYNCED = "not synced yet";

/** Longest a change waits while others keep coming (as for files). */
const MAX_WAIT_MS = 500;

/**
 * The cluster's objects as a configuration source: the second implementation of what
 * the file watcher does. Each object is one "file" named `kubernetes:Kind/namespace/name`
 * whose text is the object as YAML, so it goes through the same parse → validate →
 * store → compile as a file, a bad object is rejected alone with line and field, and
 * its last good version keeps serving. Changes are batched over the same quiet period.
 *
 * Each kind has its own informer (list, then watch). Secrets are never listed or
 * watched: those an Ingress or Gateway names are read by name when a referencing object
 * changes and every `secretRefreshMs`. While the API server is gone the last objects
 * seen keep serving, and the status says since when.
 */
export class KubernetesSource implements ConfigSource {
  private readonly informers = new Map<string, KindInformer>();
  /** What each path was last handed over as. */
  private readonly delivered = new Map<string, string>();
  /** Paths whose objects changed since the last batch. */
  private readonly dirty = new Set<string>();
  /** Secrets (`namespace/name`) to read again in the next batch. */
  private readonly secretsToRead = new Set<string>();
  /** Secrets last read, by `namespace/name`. */
  private readonly secrets = new Map<string, KubeObject>();
  private readonly quiet: QuietPeriod;
  private listener: ((changes: ConfigChange[]) => void) | undefined;
  private batches: Promise<void> = Promise.resolve();
  private refresh: NodeJS.Timeout | undefined;
  private state: SourceStatus;
  /** Every kind was listed once. */
  private synced = false;
  private closed = false;

  constructor(private readonly options: KubernetesSourceOptions) {
    this.state = { kind: "kubernetes", connected: false, since: new Date(), server: options.client.server, error: NOT_SYNCED };
    this.quiet = new QuietPeriod(Math.max(options.debounceMs ?? 100, 0), MAX_WAIT_MS, () => this.deliver());
    for (const kind of WATCHED_KINDS) this.addInformer(kind);
  }

  /** Kinds the API server refuses to ingressd (RBAC): served without them, each an issue. */
  missing(): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    for (const informer of this.informers.values()) {
      if (informer.forbidden === undefined) continue;
      issues.push({
        severity: informer.kind.optional ? "warning" : "error",
        code: "kubernetes-forbidden",
        message: `ingressd may not list and watch ${informer.kind.plural} (${informer.kind.apiVersion}): ${informer.forbidden}; it serves without them (grant list and watch, as deploy/clusterrole.yaml does)`,
        file: this.options.client.server,
        line: 1,
        col: 1,
      });
    }
    return issues;
  }

  status(): SourceStatus {
    return { ...this.state };
  }

  async watch(onChanges: (changes: ConfigChange[]) => void): Promise<void> {
    for (const informer of this.informers.values()) informer.start();
    await Promise.all([...this.informers.values()].map((i) => i.synced));
    const slices = this.informers.get("EndpointSlice")!;
    if (slices.absent) {
      // A cluster without discovery.k8s.io/v1 (before 1.21): its Endpoints instead.
      const endpoints = this.addInformer(ENDPOINTS);
      endpoints.start();
      await endpoints.synced;
    }
    this.synced = true;
    this.updateState();
    for (const path of this.visiblePaths()) this.dirty.add(path);
    const referenced = this.referencedSecrets();
    await this.readSecrets(referenced);
    this.collect(referenced);
    this.listener = onChanges;
    this.refresh = setInterval(() => {
      for (const ref of this.referencedSecrets()) this.secretsToRead.add(ref);
      this.quiet.touch();
    }, this.options.secretRefreshMs ?? 60_000).unref();
  }

  readAll(): Promise<ConfigChange[]> {
    return Promise.resolve([...this.delivered].map(([path, text]) => ({ path, text })));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.quiet.cancel();
    if (this.refresh) clearInterval(this.refresh);
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
    await this.batches;
  }

  private addInformer(kind: WatchedKind): KindInformer {
    const { namespace, namespaceSelector } = this.options;
    const isNamespaces = kind.kind === "Namespace";
    const informer = new KindInformer({
      client: this.options.client,
      kind,
      ...(namespace !== undefined ? { namespace } : {}),
      ...(isNamespaces && namespaceSelector !== undefined ? { labelSelector: namespaceSelector } : {}),
      ...(isNamespaces && namespace !== undefined ? { fieldSelector: `metadata.name=${namespace}` } : {}),
      onChange: (object) => this.changed(kind, object),
      onState: () => this.updateState(),
      ...(this.options.backoff ? { backoff: this.options.backoff() } : {}),
    });
    this.informers.set(kind.kind, informer);
    return informer;
  }

  private changed(kind: WatchedKind, object: KubeObject): void {
    const name = object.metadata?.name ?? "";
    const namespace = kind.namespaced ? object.metadata?.namespace : undefined;
    this.dirty.add(objectPathName(kind.kind, namespace, name));
    if (kind.kind === "Namespace" && this.options.namespaceSelector !== undefined) {
      // A namespace gaining or losing the selected labels brings or takes its objects.
      for (const path of this.pathsIn(name)) this.dirty.add(path);
    }
    for (const ref of secretReferences(kind.kind, object)) this.secretsToRead.add(ref);
    if (this.listener) this.quiet.touch();
  }

  /** Whether an object of this namespace is read: `--watch-namespace-selector` limits it to the selected namespaces. */
  private inSelectedNamespace(namespace: string | undefined): boolean {
    if (this.options.namespaceSelector === undefined || namespace === undefined) return true;
    return this.informers.get("Namespace")!.get(undefined, namespace) !== undefined;
  }

  /** Every path the informers hold now, within the selected namespaces. */
  private *visiblePaths(): Generator<string> {
    for (const informer of this.informers.values()) {
      for (const o of informer.list()) {
        const ns = informer.kind.namespaced ? o.metadata?.namespace : undefined;
        if (this.inSelectedNamespace(ns)) yield objectPathName(informer.kind.kind, ns, o.metadata?.name ?? "");
      }
    }
  }

  private *pathsIn(namespace: string): Generator<string> {
    for (const informer of this.informers.values()) {
      if (!informer.kind.namespaced) continue;
      for (const o of informer.list()) if (o.metadata?.namespace === namespace) yield objectPathName(informer.kind.kind, namespace, o.metadata?.name ?? "");
    }
  }

  /** The Secrets the Ingresses and Gateways read now name. */
  private referencedSecrets(): Set<string> {
    const refs = new Set<string>();
    for (const kind of ["Ingress", "Gateway"]) {
      const informer = this.informers.get(kind)!;
      for (const o of informer.list()) {
        if (this.inSelectedNamespace(o.metadata?.namespace)) for (const ref of secretReferences(kind, o)) refs.add(ref);
      }
    }
    return refs;
  }

  /** Reads these Secrets by name; one that is gone is forgotten, one that cannot be read now keeps its last version. */
  private async readSecrets(refs: Iterable<string>): Promise<void> {
    await Promise.all(
      [...refs].map(async (ref) => {
        const [namespace, name] = ref.split("/") as [string, string];
        try {
          this.secrets.set(ref, await this.options.client.get<KubeObject>(objectPath(SECRETS, namespace, name)));
        } catch (err) {
          if (err instanceof KubeApiError && err.status === 404) this.secrets.delete(ref);
          else this.options.onError?.(err as Error);
        }
      }),
    );
  }

  /** Reads the Secrets due, then hands over what changed as one batch. */
  private deliver(): void {
    if (this.closed) return;
    this.batches = this.batches
      .then(async () => {
        const due = [...this.secretsToRead];
        this.secretsToRead.clear();
        const referenced = this.referencedSecrets();
        await this.readSecrets(due.filter((ref) => referenced.has(ref)));
        const changes = this.collect(referenced);
        if (changes.length > 0 && !this.closed) this.listener?.(changes);
      })
      .catch((err: unknown) => this.options.onError?.(err as Error));
  }

  /**
   * The dirty objects' and the Secrets' changes against what was last handed over, now
   * recorded as handed over; `referenced`: the Secrets the objects name now.
   */
  private collect(referenced: ReadonlySet<string>): ConfigChange[] {
    const changes: ConfigChange[] = [];
    const record = (path: string, text: string | null): void => {
      if ((this.delivered.get(path) ?? null) === text) return;
      if (text === null) this.delivered.delete(path);
      else this.delivered.set(path, text);
      changes.push({ path, text });
    };
    const paths = [...this.dirty].sort();
    this.dirty.clear();
    for (const path of paths) record(path, this.currentText(path));
    // Secrets: those referenced, as last read; the others are no longer configuration.
    for (const ref of referenced) {
      const secret = this.secrets.get(ref);
      record(secretPath(ref), secret ? objectText(SECRETS, secret) : null);
    }
    for (const ref of [...this.secrets.keys()]) {
      if (referenced.has(ref)) continue;
      this.secrets.delete(ref);
      record(secretPath(ref), null);
    }
    return changes;
  }

  /** The text of the object a path names, as the informers hold it now; null when it is gone or not selected. */
  private currentText(path: string): string | null {
    const id = objectOfPathName(path);
    const informer = id && this.informers.get(id.kind);
    if (!id || !informer || !this.inSelectedNamespace(id.namespace)) return null;
    const object = informer.get(id.namespace, id.name);
    return object ? objectText(informer.kind, object) : null;
  }

  /** Connected: every kind synced once and none failing now; `since` moves only when that changes. */
  private updateState(): void {
    const failing = [...this.informers.values()].find((i) => i.error !== undefined);
    const connected = this.synced && failing === undefined;
    const error = failing ? `${failing.kind.plural}: ${failing.error!.message}` : connected ? undefined : NOT_SYNCED;
    const changed = connected !== this.state.connected;
    // Before the first sync it was never connected: its first failure is told too (nothing else would say why it is not ready).
    const firstFailure = !this.synced && failing !== undefined && this.state.error === NOT_SYNCED;
    this.state = {
      kind: "kubernetes",
      connected,
      since: changed ? new Date() : this.state.since,
      server: this.options.client.server,
      ...(error !== undefined ? { error } : {}),
    };
    if (changed || firstFailure) this.options.onStatus?.(this.status());
  }
}

/** The "file" of a Secret named `namespace/name`. */
function secretPath(ref: string): string {
  const [namespace, name] = ref.split("/") as [string, string];
  return objectPathName("Secret", namespace, name);
}
