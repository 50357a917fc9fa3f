import type { Logger } from "pino";
import { CombinedSource, unwatched } from "../config/combinedSource.js";
import { FileSource } from "../config/fileSource.js";
import type { KubeClient } from "../config/kubernetes/kubeClient.js";
import type { MemorySource } from "../config/memorySource.js";
import type { ConfigSource } from "../config/source.js";
import type { ClusterOptions } from "./clusterOptions.js";
import type { ClusterReporter } from "../cluster/clusterReporter.js";
import { KubeconfigError } from "./kubeconfigError.js";
import type { LeaderTimings } from "../cluster/leaderElection.js";
import type { Runtime } from "../snapshot/runtime.js";

export interface ClusterTimings {
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  secretRefreshMs?: number;
  leader?: LeaderTimings;
  resyncMs?: number;
}

export interface SourceOptions {
  rules: string[];
  watch: boolean;
  debounceMs?: number;
  cluster?: ClusterOptions;
  /** Reconnection, Secret refresh, leader election and status resync times (tests shorten them). */
  clusterTimings?: ClusterTimings;
  logger: Logger;
}

/** The configuration's source and, for a cluster, what writes status back to it (made once the runtime exists). */
export interface RulesSource {
  source: ConfigSource;
  reporter?: (runtime: Runtime) => ClusterReporter;
}

/**
 * The rules files (watched unless --no-watch), or with `--source kubernetes` the
 * cluster's objects; in-memory rules (`ingressd run` registrations) beside either.
 * client-node (0.7 s to load) and everything using it are imported only for a cluster:
 * reading files does not pay for it.
 */
export async function rulesSource(options: SourceOptions, memory: MemorySource): Promise<RulesSource> {
  const { logger, cluster } = options;
  if (!cluster) {
    const files = new FileSource({
      paths: options.rules,
      debounceMs: options.debounceMs ?? 100,
      onError: (err) => logger.error({ err }, "watching the rules failed"),
    });
    return { source: new CombinedSource([options.watch ? files : unwatched(files), memory]) };
  }
  const [{ KubeClient, loadKubeConfig }, { KubernetesSource }, { Backoff }, { ClusterReporter }] = await Promise.all([
    import("../config/kubernetes/kubeClient.js"),
    import("../config/kubernetes/kubernetesSource.js"),
    import("../config/kubernetes/backoff.js"),
    import("../cluster/clusterReporter.js"),
  ]);
  let client: KubeClient;
  try {
    client = new KubeClient(loadKubeConfig(cluster));
  } catch (err) {
    throw new KubeconfigError(cluster, err);
  }
  const timings = options.clusterTimings ?? {};
  const kube = new KubernetesSource({
    client,
    ...(cluster.namespace !== undefined ? { namespace: cluster.namespace } : {}),
    ...(cluster.namespaceSelector !== undefined ? { namespaceSelector: cluster.namespaceSelector } : {}),
    debounceMs: options.debounceMs ?? 100,
    ...(timings.secretRefreshMs !== undefined ? { secretRefreshMs: timings.secretRefreshMs } : {}),
    backoff: () => new Backoff(timings.backoffInitialMs, timings.backoffMaxMs),
    onStatus: (s) => {
      if (s.connected) logger.info({ server: s.server }, "Kubernetes API server connected: changes are followed again");
      else logger.warn({ server: s.server, error: s.error }, "Kubernetes API server not reachable: the last configuration (if any) keeps serving; retrying with backoff");
    },
    onError: (err) => logger.warn({ err }, "reading a Secret from the Kubernetes API failed; its last version is kept"),
  });
  logger.info({ server: client.server, namespace: cluster.namespace ?? "all", namespaceSelector: cluster.namespaceSelector }, "reading the configuration from the Kubernetes API");
  return { source: new CombinedSource([kube, memory]), reporter: (runtime) => clusterReporter(ClusterReporter, options, cluster, client, runtime) };
}

/** The elected writer of status and Events, started once the first configuration is loaded. */
function clusterReporter(Reporter: typeof ClusterReporter, options: SourceOptions, cluster: ClusterOptions, client: KubeClient, runtime: Runtime): ClusterReporter {
  const timings = options.clusterTimings ?? {};
  return new Reporter({
    client,
    runtime,
    logger: options.logger,
    leaseNamespace: cluster.leaseNamespace,
    identity: cluster.identity,
    ...(cluster.publishService ? { publishService: cluster.publishService } : {}),
    ...(cluster.publishStatusAddress ? { publishStatusAddress: cluster.publishStatusAddress } : {}),
    ...(timings.leader ? { leaderTimings: timings.leader } : {}),
    ...(timings.resyncMs !== undefined ? { resyncMs: timings.resyncMs } : {}),
  });
}
