import type { KubeClient } from "../config/kubernetes/kubeClient.js";
import { objectOfPathName } from "../config/kubernetes/objectText.js";
import { formatIssue, type ConfigIssue } from "../model/issues.js";

/** client-go's EventSourceObjectSpamFilter: a burst of 25 events per object, then one per 5 minutes. */
const BURST = 25;
const REFILL_MS = 5 * 60_000;
/** The same message on the same object is told again no sooner than this while it lasts. */
const REPEAT_MS = 10 * 60_000;

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Kubernetes Events (`Warning`, reason `InvalidIngress`) on an Ingress for each error
 * found in it, with the message `ingressd check` prints, so `kubectl describe ingress`
 * shows why it is not served as written. Rate-limited as client-go's recorder limits
 * them: a message is told once and again only every 10 minutes while it lasts, and no
 * object gets more than a burst of 25, then one per 5 minutes.
 */
export class IngressEvents {
  private readonly told = new Map<string, number>();
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly client: KubeClient,
    private readonly reporter: { component: string; instance: string },
    private readonly now: () => number = Date.now,
  ) {}

  /** Posts the events `issues` call for now; resolves with the errors of posts that failed. */
  async report(issues: readonly ConfigIssue[]): Promise<Error[]> {
    const now = this.now();
    const current = new Set<string>();
    const posts: Promise<void>[] = [];
    const failures: Error[] = [];
    for (const issue of issues) {
      if (issue.severity !== "error") continue;
      const object = objectOfPathName(issue.file);
      if (!object || object.kind !== "Ingress" || object.namespace === undefined) continue;
      const message = formatIssue(issue);
      const key = `${object.namespace}/${object.name}\n${message}`;
      current.add(key);
      const last = this.told.get(key);
      if (last !== undefined && now - last < REPEAT_MS) continue;
      if (!this.take(`${object.namespace}/${object.name}`, now)) continue;
      this.told.set(key, now);
      posts.push(this.post(object.namespace, object.name, message, now).catch((err: unknown) => void failures.push(err as Error)));
    }
    // A fixed error may come back later: it is told again then.
    for (const key of [...this.told.keys()]) if (!current.has(key)) this.told.delete(key);
    await Promise.all(posts);
    return failures;
  }

  private take(object: string, now: number): boolean {
    const b = this.buckets.get(object) ?? { tokens: BURST, at: now };
    const refill = Math.floor((now - b.at) / REFILL_MS);
    if (refill > 0) {
      b.tokens = Math.min(BURST, b.tokens + refill);
      b.at += refill * REFILL_MS;
    }
    this.buckets.set(object, b);
    if (b.tokens === 0) return false;
    b.tokens--;
    return true;
  }

  private async post(namespace: string, name: string, message: string, now: number): Promise<void> {
    const time = new Date(now).toISOString().replace(/\.\d{3}Z$/, "Z");
    await this.client.request("POST", `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, {
      apiVersion: "v1",
      kind: "Event",
      metadata: { generateName: `${name}.`, namespace },
      involvedObject: { apiVersion: "networking.k8s.io/v1", kind: "Ingress", namespace, name },
      type: "Warning",
      reason: "InvalidIngress",
      // The API server refuses a message longer than 1 KiB.
      message: message.length > 1024 ? `${message.slice(0, 1021)}...` : message,
      source: { component: this.reporter.component },
      reportingComponent: this.reporter.component,
      reportingInstance: this.reporter.instance,
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
    });
  }
}
