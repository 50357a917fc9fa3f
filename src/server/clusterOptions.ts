import { hostname } from "node:os";
import { isIP } from "node:net";

/** `--source kubernetes`: where the cluster is and what ingressd reads and writes there. */
export interface ClusterOptions {
  /** `--kubeconfig`, else `INGRESSD_KUBECONFIG`, else `KUBECONFIG` (a path list); absent: in-cluster, else ~/.kube/config. */
  kubeconfig?: string;
  /** KUBERNETES_SERVICE_HOST is set: ingressd runs in a pod, with a service account. */
  inCluster: boolean;
  /** The root the service account's files are found below (tests; a pod has them at /var/run/secrets/kubernetes.io/serviceaccount). */
  serviceAccountRoot?: string;
  /** Where ~/.kube/config is looked for. */
  home?: string;
  /** `--namespace`: only this namespace's objects. */
  namespace?: string;
  /** `--watch-namespace-selector`: only the objects of namespaces these labels select. */
  namespaceSelector?: string;
  /** `--publish-service NAMESPACE/NAME`: the Service whose LoadBalancer address is the Ingresses' status. */
  publishService?: { namespace: string; name: string };
  /** `--publish-status-address`: the addresses (IPs or host names) written as the Ingresses' status instead. */
  publishStatusAddress?: string[];
  /** The Lease `ingressd-leader` lives here: POD_NAMESPACE, default `ingressd`. */
  leaseNamespace: string;
  /** This replica's identity in the Lease: POD_NAME, else the host name. */
  identity: string;
}

/** The flags that only mean something with `--source kubernetes`. */
export const CLUSTER_FLAGS = {
  source: { type: "string" },
  kubeconfig: { type: "string" },
  namespace: { type: "string" },
  "watch-namespace-selector": { type: "string" },
  "publish-service": { type: "string" },
  "publish-status-address": { type: "string" },
} as const;

export type ClusterFlagValues = { [K in keyof typeof CLUSTER_FLAGS]?: string };

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** One requirement of a label selector: `key`, `!key`, `key=v`, `key==v`, `key!=v`, `key in (a,b)`, `key notin (a,b)`. */
const REQUIREMENT = /^\s*(!?[A-Za-z0-9./_-]+|[A-Za-z0-9./_-]+\s*(==?|!=)\s*[A-Za-z0-9._-]*|[A-Za-z0-9./_-]+\s+(in|notin)\s+\([A-Za-z0-9._,\s-]*\))\s*$/;

/** Splits a label selector at the commas outside parentheses. */
function requirements(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    if (selector[i] === "(") depth++;
    else if (selector[i] === ")") depth--;
    else if (selector[i] === "," && depth === 0) {
      parts.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(selector.slice(start));
  return parts;
}

/**
 * The source (`files` or `kubernetes`) and, for `kubernetes`, the cluster options, from
 * flags then `INGRESSD_*` variables (and the pod's POD_NAME/POD_NAMESPACE/KUBECONFIG).
 * Throws a message for a usage error.
 */
export function clusterOptions(
  v: ClusterFlagValues,
  env: Record<string, string | undefined>,
  named: (flag: string | undefined, option: string, variable: string) => string,
): ClusterOptions | undefined | string {
  const fromEnv = (name: string): string | undefined => (env[name] === "" ? undefined : env[name]);
  const pick = (flag: keyof ClusterFlagValues, variable: string): string | undefined => v[flag] ?? fromEnv(variable);
  const source = pick("source", "INGRESSD_SOURCE") ?? "files";
  if (source !== "files" && source !== "kubernetes") return `${named(v.source, "--source", "INGRESSD_SOURCE")} must be files or kubernetes, not "${source}"`;
  const given = (["kubeconfig", "namespace", "watch-namespace-selector", "publish-service", "publish-status-address"] as const).filter((f) => v[f] !== undefined);
  if (source === "files") {
    return given.length > 0 ? `--${given[0]} reads from a cluster: give --source kubernetes with it` : undefined;
  }
  const kubeconfig = pick("kubeconfig", "INGRESSD_KUBECONFIG") ?? fromEnv("KUBECONFIG");
  const namespace = pick("namespace", "INGRESSD_NAMESPACE");
  if (namespace !== undefined && !DNS_LABEL.test(namespace)) return `${named(v.namespace, "--namespace", "INGRESSD_NAMESPACE")} must be a namespace name (a DNS label), not "${namespace}"`;
  const selector = pick("watch-namespace-selector", "INGRESSD_WATCH_NAMESPACE_SELECTOR");
  const selectorNamed = named(v["watch-namespace-selector"], "--watch-namespace-selector", "INGRESSD_WATCH_NAMESPACE_SELECTOR");
  if (selector !== undefined) {
    const bad = selector.trim() === "" ? selector : requirements(selector).find((r) => !REQUIREMENT.test(r));
    if (bad !== undefined) return `${selectorNamed} must be a label selector such as team=shop or env in (dev,test), not "${selector}"`;
    if (namespace !== undefined) return `${selectorNamed} and --namespace both limit the namespaces read: give one`;
  }
  const publishRaw = pick("publish-service", "INGRESSD_PUBLISH_SERVICE");
  let publishService: ClusterOptions["publishService"];
  if (publishRaw !== undefined) {
    const [ns, name, extra] = publishRaw.split("/");
    if (extra !== undefined || !ns || !name || !DNS_LABEL.test(ns) || !DNS_LABEL.test(name)) {
      return `${named(v["publish-service"], "--publish-service", "INGRESSD_PUBLISH_SERVICE")} must be a Service as NAMESPACE/NAME, not "${publishRaw}"`;
    }
    publishService = { namespace: ns, name };
  }
  const addressRaw = pick("publish-status-address", "INGRESSD_PUBLISH_STATUS_ADDRESS");
  let publishStatusAddress: string[] | undefined;
  if (addressRaw !== undefined) {
    publishStatusAddress = addressRaw.split(",").map((a) => a.trim()).filter(Boolean);
    const bad = publishStatusAddress.find((a) => isIP(a) === 0 && !DNS_NAME.test(a));
    if (bad !== undefined || publishStatusAddress.length === 0) {
      return `${named(v["publish-status-address"], "--publish-status-address", "INGRESSD_PUBLISH_STATUS_ADDRESS")} must be comma-separated IP addresses or host names, not "${addressRaw}"`;
    }
  }
  return {
    ...(kubeconfig !== undefined ? { kubeconfig } : {}),
    inCluster: fromEnv("KUBERNETES_SERVICE_HOST") !== undefined,
    ...(fromEnv("HOME") !== undefined ? { home: fromEnv("HOME")! } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
    ...(selector !== undefined ? { namespaceSelector: selector.trim() } : {}),
    ...(publishService ? { publishService } : {}),
    ...(publishStatusAddress ? { publishStatusAddress } : {}),
    leaseNamespace: fromEnv("POD_NAMESPACE") ?? "ingressd",
    identity: fromEnv("POD_NAME") ?? hostname(),
  };
}
