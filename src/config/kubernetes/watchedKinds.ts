import type { KindName } from "../resources.js";

/** A kind ingressd lists and watches, and where the API server serves it. */
export interface WatchedKind {
  kind: KindName;
  apiVersion: string;
  /** The resource's plural, as in its URL. */
  plural: string;
  namespaced: boolean;
  /**
   * A kind a cluster may not serve (the Gateway API's CustomResourceDefinitions not
   * installed, EndpointSlices before 1.21): its absence (404) is not an error, and it is
   * looked for again now and then.
   */
  optional?: boolean;
}

/**
 * What `--source kubernetes` reads: the kinds of a rules folder, but Secrets (read one
 * by one, only those referenced) and Endpoints (the fallback of a cluster without the
 * EndpointSlice API, see `ENDPOINTS`).
 */
export const WATCHED_KINDS: readonly WatchedKind[] = [
  { kind: "Service", apiVersion: "v1", plural: "services", namespaced: true },
  // Optional: a cluster without it is read through its Endpoints (see ENDPOINTS).
  { kind: "EndpointSlice", apiVersion: "discovery.k8s.io/v1", plural: "endpointslices", namespaced: true, optional: true },
  { kind: "Ingress", apiVersion: "networking.k8s.io/v1", plural: "ingresses", namespaced: true },
  { kind: "IngressClass", apiVersion: "networking.k8s.io/v1", plural: "ingressclasses", namespaced: false },
  { kind: "Namespace", apiVersion: "v1", plural: "namespaces", namespaced: false },
  { kind: "GatewayClass", apiVersion: "gateway.networking.k8s.io/v1", plural: "gatewayclasses", namespaced: false, optional: true },
  { kind: "Gateway", apiVersion: "gateway.networking.k8s.io/v1", plural: "gateways", namespaced: true, optional: true },
  { kind: "HTTPRoute", apiVersion: "gateway.networking.k8s.io/v1", plural: "httproutes", namespaced: true, optional: true },
  { kind: "ReferenceGrant", apiVersion: "gateway.networking.k8s.io/v1beta1", plural: "referencegrants", namespaced: true, optional: true },
];

/** Read instead of EndpointSlices only when the cluster does not serve discovery.k8s.io/v1 (before Kubernetes 1.21). */
export const ENDPOINTS: WatchedKind = { kind: "Endpoints", apiVersion: "v1", plural: "endpoints", namespaced: true };

export const SECRETS: WatchedKind = { kind: "Secret", apiVersion: "v1", plural: "secrets", namespaced: true };

/** The collection's URL path: all namespaces, or one. */
export function collectionPath(kind: WatchedKind, namespace?: string): string {
  const base = kind.apiVersion.includes("/") ? `/apis/${kind.apiVersion}` : `/api/${kind.apiVersion}`;
  return kind.namespaced && namespace !== undefined ? `${base}/namespaces/${encodeURIComponent(namespace)}/${kind.plural}` : `${base}/${kind.plural}`;
}

/** One object's URL path. */
export function objectPath(kind: WatchedKind, namespace: string, name: string): string {
  return `${collectionPath(kind, kind.namespaced ? namespace : undefined)}/${encodeURIComponent(name)}`;
}
