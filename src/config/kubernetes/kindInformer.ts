import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from "@kubernetes/client-node";
import { Backoff } from "./backoff.js";
import { KubeApiError, type KubeClient } from "./kubeClient.js";
import type { KubeObject } from "./objectText.js";
import { collectionPath, type WatchedKind } from "./watchedKinds.js";

/** Items per page of a list, as client-go's reflector asks for them. */
const PAGE_SIZE = 500;
/** A CRD the cluster does not have is looked for again this often. */
const ABSENT_RETRY_MS = 60_000;

export interface KindInformerOptions {
  client: KubeClient;
  kind: WatchedKind;
  /** One namespace (`--namespace`), else all. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** An object was added, changed or deleted (after the first list too). */
  onChange: (object: KubeObject) => void;
  /** The connection's state changed (`error` set while it is lost). */
  onState: () => void;
  /** Reconnection backoff (tests shorten it). */
  backoff?: Backoff;
}

/**
 * One kind's objects, kept up to date by client-node's `ListWatch`: list, then watch from
 * the list's resourceVersion, with bookmarks requested so a quiet watch still advances
 * it; a `410 Gone` (the resourceVersion compacted away) lists again, and a relist tells
 * what disappeared meanwhile as deletions. ListWatch gives up on any other error: here it
 * is restarted after a backoff with jitter, from the last resourceVersion it saw.
 */
export class KindInformer {
  readonly kind: WatchedKind;
  /** The last list or watch failed, and the retry has not succeeded yet. */
  error: Error | undefined;
  /** The cluster does not serve this kind (a Gateway API CRD not installed). */
  absent = false;
  /** The API server refuses to list this kind to ingressd (RBAC): why. Read again now and then. */
  forbidden: string | undefined;
  /** The first list is in the cache and its watch open (or the kind was found absent). */
  synced: Promise<void>;
  private markSynced!: () => void;
  private readonly informer: ListWatch<KubernetesObject>;
  private readonly backoff: Backoff;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: KindInformerOptions) {
    this.kind = options.kind;
    this.backoff = options.backoff ?? new Backoff();
    this.synced = new Promise((res) => (this.markSynced = res));
    const path = collectionPath(options.kind, options.namespace);
    // Synced once the first watch opens: ListWatch has put the list's items in its cache by then.
    const watch = new BookmarkedWatch(options.client.config, () => {
      this.succeeded();
      this.markSynced();
    });
    this.informer = new ListWatch(path, watch, () => this.list(path), false, options.labelSelector, options.fieldSelector);
    for (const verb of ["add", "update", "delete"] as const) this.informer.on(verb, (o) => options.onChange(o as KubeObject));
    this.informer.on("error", (err?: unknown) => this.failed(err));
  }

  start(): void {
    void this.informer.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    await this.informer.stop();
  }

  /** The objects as last seen (none while the kind is absent). */
  list(): readonly KubeObject[];
  list(path: string): Promise<KubernetesListObject<KubernetesObject>>;
  list(path?: string): readonly KubeObject[] | Promise<KubernetesListObject<KubernetesObject>> {
    if (path === undefined) return this.absent ? [] : (this.informer.list() as KubeObject[]);
    return this.listPages(path);
  }

  get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.absent ? undefined : (this.informer.get(name, namespace) as KubeObject | undefined);
  }

  /** A paged list, as client-go's reflector makes it; pages past the first share its resourceVersion. */
  private async listPages(path: string): Promise<KubernetesListObject<KubernetesObject>> {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (this.options.labelSelector) query.set("labelSelector", this.options.labelSelector);
    if (this.options.fieldSelector) query.set("fieldSelector", this.options.fieldSelector);
    type Page = KubernetesListObject<KubernetesObject> & { metadata?: { continue?: string; resourceVersion?: string } };
    const first = await this.options.client.get<Page>(`${path}?${query}`);
    const items = [...first.items];
    let page = first;
    while (page.metadata?.continue) {
      query.set("continue", page.metadata.continue);
      page = await this.options.client.get<Page>(`${path}?${query}`);
      items.push(...page.items);
    }
    const wasAbsent = this.absent;
    this.absent = false;
    // The kind appeared (its CRD installed): what the informer kept is its again.
    if (wasAbsent) for (const o of this.informer.list()) this.options.onChange(o as KubeObject);
    this.succeeded();
    return { ...first, items };
  }

  private succeeded(): void {
    this.backoff.reset();
    this.forbidden = undefined;
    if (this.error === undefined) return;
    this.error = undefined;
    this.options.onState();
  }

  private failed(err: unknown): void {
    if (this.stopped) return;
    const error = err instanceof Error ? err : new Error(String(err));
    const status = err instanceof KubeApiError ? err.status : (err as { statusCode?: number }).statusCode;
    if (status === 403) {
      // Not allowed (a Role without this kind): ingressd serves without it, says so, and asks again later.
      this.succeeded();
      this.forbidden = error.message;
      this.markSynced();
      this.retry = setTimeout(() => this.start(), ABSENT_RETRY_MS).unref();
      return;
    }
    if (this.kind.optional && status === 404) {
      // Not installed: nothing to read, and nothing wrong with the connection.
      if (!this.absent) {
        this.absent = true;
        for (const o of this.informer.list()) this.options.onChange(o as KubeObject);
      }
      this.succeeded();
      this.markSynced();
      this.retry = setTimeout(() => this.start(), ABSENT_RETRY_MS).unref();
      return;
    }
    const first = this.error === undefined;
    this.error = error;
    if (first) this.options.onState();
    this.retry = setTimeout(() => this.start(), this.backoff.next()).unref();
  }
}

/**
 * client-node's Watch, asking for bookmarks (ListWatch does not) and for a server-side
 * timeout of 5 to 10 minutes as client-go does, so a connection that died silently is
 * replaced; it tells when the API server accepted the watch.
 */
class BookmarkedWatch extends Watch {
  constructor(
    config: KubeConfig,
    private readonly opened: () => void,
  ) {
    super(config);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    let failed = false;
    const params = { ...queryParams, allowWatchBookmarks: true, timeoutSeconds: 300 + Math.floor(Math.random() * 300) };
    const controller = await super.watch(path, params, callback, (err: unknown) => {
      if (err) failed = true;
      done(err);
    });
    if (!failed) this.opened();
    return controller;
  }
}
