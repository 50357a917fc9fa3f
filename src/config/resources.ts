import type { IngressClass, Ingress } from "kubernetes-types/networking/v1.js";
import type { Endpoints, Namespace, Secret, Service } from "kubernetes-types/core/v1.js";
import type { IGateway, IGatewayClass, IHTTPRoute } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1";
import type { IReferenceGrant } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1beta1";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import type { SourceLocation } from "../model/issues.js";

/** The kinds ingressd reads. Everything else is reported and ignored. */
export interface KindMap {
  Service: Service;
  Endpoints: Endpoints;
  EndpointSlice: EndpointSlice;
  Ingress: Ingress;
  IngressClass: IngressClass;
  Secret: Secret;
  /** Read for its labels: a Gateway listener's `allowedRoutes.namespaces.selector` selects on them. */
  Namespace: Namespace;
  GatewayClass: IGatewayClass;
  Gateway: IGateway;
  HTTPRoute: IHTTPRoute;
  /** v1beta1 and v1 (the same spec). */
  ReferenceGrant: IReferenceGrant;
}
export type KindName = keyof KindMap;

/** A validated resource with where it came from. Immutable once loaded. */
export interface Loaded<K extends KindName = KindName> {
  kind: K;
  object: KindMap[K];
  namespace: string;
  name: string;
  /** `Kind namespace/name`, how logs and errors name the resource. */
  id: string;
  /** The file it came from. */
  file: string;
  /** Where the resource starts (computed on first use: positions cost a second parse). */
  readonly source: SourceLocation;
  /** 0-based document index in its file, the last tie-breaker of precedence. */
  docIndex: number;
  locate(path: readonly (string | number)[]): SourceLocation;
}

/** All resources currently loaded, grouped by kind. Plain data, built fresh per reload. */
export interface ResourceSet {
  services: Loaded<"Service">[];
  endpoints: Loaded<"Endpoints">[];
  endpointSlices: Loaded<"EndpointSlice">[];
  ingresses: Loaded<"Ingress">[];
  ingressClasses: Loaded<"IngressClass">[];
  secrets: Loaded<"Secret">[];
  namespaces: Loaded<"Namespace">[];
  gatewayClasses: Loaded<"GatewayClass">[];
  gateways: Loaded<"Gateway">[];
  httpRoutes: Loaded<"HTTPRoute">[];
  referenceGrants: Loaded<"ReferenceGrant">[];
  /**
   * Resources defined but not served because every version of them was rejected
   * (`Kind namespace/name` → where their first error is), so a reference to one can
   * point at that error instead of calling it undefined.
   */
  rejected?: Map<string, SourceLocation>;
}

export function emptyResourceSet(): ResourceSet {
  return {
    services: [], endpoints: [], endpointSlices: [], ingresses: [], ingressClasses: [], secrets: [],
    namespaces: [], gatewayClasses: [], gateways: [], httpRoutes: [], referenceGrants: [],
  };
}

/** How many resources `set` serves. */
export function resourceCount(set: ResourceSet): number {
  return (
    set.services.length + set.endpoints.length + set.endpointSlices.length + set.ingresses.length + set.ingressClasses.length + set.secrets.length +
    set.namespaces.length + set.gatewayClasses.length + set.gateways.length + set.httpRoutes.length + set.referenceGrants.length
  );
}

export function addToSet(set: ResourceSet, res: Loaded): void {
  switch (res.kind) {
    case "Service": set.services.push(res as Loaded<"Service">); break;
    case "Endpoints": set.endpoints.push(res as Loaded<"Endpoints">); break;
    case "EndpointSlice": set.endpointSlices.push(res as Loaded<"EndpointSlice">); break;
    case "Ingress": set.ingresses.push(res as Loaded<"Ingress">); break;
    case "IngressClass": set.ingressClasses.push(res as Loaded<"IngressClass">); break;
    case "Secret": set.secrets.push(res as Loaded<"Secret">); break;
    case "Namespace": set.namespaces.push(res as Loaded<"Namespace">); break;
    case "GatewayClass": set.gatewayClasses.push(res as Loaded<"GatewayClass">); break;
    case "Gateway": set.gateways.push(res as Loaded<"Gateway">); break;
    case "HTTPRoute": set.httpRoutes.push(res as Loaded<"HTTPRoute">); break;
    case "ReferenceGrant": set.referenceGrants.push(res as Loaded<"ReferenceGrant">); break;
  }
}
