import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClusterOptions } from "../src/server/clusterOptions.js";
import type { IngressdOptions } from "../src/server/ingressd.js";
import { startProxy } from "./helpers.js";
import { KubeApiServer } from "./kube/apiServer.js";

/** Short enough for tests, in client-go's proportions (lease 15 s / renew 10 s / retry 2 s). */
export const FAST_LEADER = { leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 200 };

/** A test API server, started, with its kubeconfig written to a temp dir. */
export async function startApiServer(): Promise<{ api: KubeApiServer; kubeconfig: string; close: () => Promise<void> }> {
  const api = new KubeApiServer({ bookmarkIntervalMs: 1_000 });
  await api.start();
  const dir = await mkdtemp(join(tmpdir(), "ingressd-kube-"));
  const kubeconfig = await api.writeKubeconfig(dir);
  return {
    api,
    kubeconfig,
    close: async () => {
      await api.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** An ingressd reading the cluster behind `kubeconfig` (as `--source kubernetes --kubeconfig FILE`). */
export function startClusterIngressd(kubeconfig: string, cluster: Partial<ClusterOptions> = {}, extra: Partial<IngressdOptions> = {}): ReturnType<typeof startProxy> {
  return startProxy([], {
    cluster: { kubeconfig, inCluster: false, leaseNamespace: "ingressd", identity: "ingressd-test-0", ...cluster },
    clusterTimings: { backoffInitialMs: 100, backoffMaxMs: 1_000, secretRefreshMs: 60_000, leader: FAST_LEADER, resyncMs: 60_000 },
    ...extra,
  });
}

/** Polls `probe` until it holds (no event tells it: another process's state over HTTP), at most `ms`. */
export async function eventually<T>(probe: () => Promise<T | undefined> | T | undefined, ms = 10_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
