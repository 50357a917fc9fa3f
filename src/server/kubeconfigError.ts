import type { ClusterOptions } from "./clusterOptions.js";

const REASONS: Record<string, string> = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EISDIR: "a directory, not a file",
};

/**
 * The cluster's connection settings cannot be used (a kubeconfig missing, unreadable, or
 * naming no cluster): one line that names the file and what to change, printed by the CLI
 * without a stack trace (the cause is the machine's setup, not ingressd).
 */
export class KubeconfigError extends Error {
  constructor(cluster: Pick<ClusterOptions, "kubeconfig">, cause: unknown) {
    const err = cause as NodeJS.ErrnoException;
    const reason = err.code !== undefined ? REASONS[err.code] : undefined;
    super(
      reason !== undefined && err.path !== undefined
        ? `cannot read the kubeconfig ${err.path} (${reason}): give another with --kubeconfig, INGRESSD_KUBECONFIG or KUBECONFIG`
        : cluster.kubeconfig !== undefined
          ? `cannot use the kubeconfig ${cluster.kubeconfig}: ${err.message}`
          : err.message,
    );
    this.name = "KubeconfigError";
  }
}
