import { isIP } from "node:net";
import { KubeApiError, type KubeClient } from "../config/kubernetes/kubeClient.js";

/** One `status.loadBalancer.ingress` entry of an Ingress (and a Service). */
export interface LoadBalancerIngress {
  ip?: string;
  hostname?: string;
}

interface ServiceObject {
  spec?: { type?: string; clusterIP?: string; externalIPs?: string[]; externalName?: string };
  status?: { loadBalancer?: { ingress?: LoadBalancerIngress[] } };
}

/** `--publish-status-address` entries: an IP is an `ip`, anything else a `hostname`. */
export function statusAddresses(addresses: readonly string[]): LoadBalancerIngress[] {
  return addresses.map((a) => (isIP(a) !== 0 ? { ip: a } : { hostname: a }));
}

/**
 * The addresses an Ingress served here is reached at, as ingress-nginx publishes them:
 * `--publish-status-address` when given, else the `--publish-service` Service's — a
 * LoadBalancer's status addresses (and its externalIPs), an ExternalName's name, or
 * otherwise its externalIPs, else its cluster IP. Undefined while nothing is known (the
 * load balancer not provisioned yet), so no empty status is written meanwhile.
 */
export async function publishedAddresses(
  client: KubeClient,
  options: { publishService?: { namespace: string; name: string }; publishStatusAddress?: readonly string[] },
): Promise<LoadBalancerIngress[] | undefined> {
  if (options.publishStatusAddress) return statusAddresses(options.publishStatusAddress);
  if (!options.publishService) return undefined;
  const { namespace, name } = options.publishService;
  let service: ServiceObject;
  try {
    service = await client.get<ServiceObject>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(name)}`);
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) return undefined;
    throw err;
  }
  const spec = service.spec ?? {};
  const external = (spec.externalIPs ?? []).map((ip) => ({ ip }));
  let found: LoadBalancerIngress[];
  if (spec.type === "LoadBalancer") {
    found = [...(service.status?.loadBalancer?.ingress ?? []), ...external];
  } else if (spec.type === "ExternalName") {
    found = spec.externalName ? [{ hostname: spec.externalName }] : [];
  } else {
    found = external.length > 0 ? external : spec.clusterIP && spec.clusterIP !== "None" ? [{ ip: spec.clusterIP }] : [];
  }
  return found.length > 0 ? normalizedAddresses(found) : undefined;
}

/** Only `ip` and `hostname` (a status entry may carry ports too), in a stable order, so equal sets compare equal. */
export function normalizedAddresses(list: readonly LoadBalancerIngress[]): LoadBalancerIngress[] {
  const key = (a: LoadBalancerIngress): string => `${a.ip ?? ""}|${a.hostname ?? ""}`;
  return list
    .map((i) => ({ ...(i.ip ? { ip: i.ip } : {}), ...(i.hostname ? { hostname: i.hostname } : {}) }))
    .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
