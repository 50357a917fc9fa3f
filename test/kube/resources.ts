/**
 * The kinds the test API server serves: one row per resource, as its discovery documents
 * them. Add a row to serve another kind.
 */
export interface Resource {
  /** API group; "" for the core group (served under /api/v1). */
  group: string;
  /** Versions served; the first is the preferred one. All see the same stored objects. */
  versions: string[];
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  /** Has a `/status` subresource: writes to the main resource keep the status, writes to `/status` change only it. */
  status: boolean;
  /** metadata.generation is kept and bumped when anything but metadata and status changes. */
  generation: boolean;
  /**
   * A CustomResourceDefinition: the real server puts kind/apiVersion on the items of a
   * list only for these (built-in lists leave them out).
   */
  crd: boolean;
  /** What a create through the API resets status to (the create strategies drop it); undefined: removed. */
  emptyStatus?: Record<string, unknown>;
  /** A label the server keeps set to the object's name (Namespaces' kubernetes.io/metadata.name, since 1.21). */
  nameLabel?: string;
}

const core = (plural: string, singular: string, kind: string, more: Partial<Resource> = {}): Resource => ({
  group: "",
  versions: ["v1"],
  plural,
  singular,
  kind,
  namespaced: true,
  status: false,
  generation: false,
  crd: false,
  ...more,
});

const gateway = (plural: string, singular: string, kind: string, namespaced: boolean, status: boolean): Resource => ({
  group: "gateway.networking.k8s.io",
  versions: ["v1", "v1beta1"],
  plural,
  singular,
  kind,
  namespaced,
  status,
  generation: true,
  crd: true,
});

export const RESOURCES: readonly Resource[] = [
  core("services", "service", "Service", { status: true, emptyStatus: { loadBalancer: {} } }),
  core("endpoints", "endpoints", "Endpoints"),
  core("secrets", "secret", "Secret"),
  core("namespaces", "namespace", "Namespace", { namespaced: false, status: true, emptyStatus: { phase: "Active" }, nameLabel: "kubernetes.io/metadata.name" }),
  core("events", "event", "Event"),
  core("endpointslices", "endpointslice", "EndpointSlice", { group: "discovery.k8s.io" }),
  core("ingresses", "ingress", "Ingress", { group: "networking.k8s.io", status: true, generation: true, emptyStatus: { loadBalancer: {} } }),
  core("ingressclasses", "ingressclass", "IngressClass", { group: "networking.k8s.io", namespaced: false, generation: true }),
  core("leases", "lease", "Lease", { group: "coordination.k8s.io" }),
  core("events", "event", "Event", { group: "events.k8s.io" }),
  gateway("gatewayclasses", "gatewayclass", "GatewayClass", false, true),
  gateway("gateways", "gateway", "Gateway", true, true),
  gateway("httproutes", "httproute", "HTTPRoute", true, true),
  gateway("referencegrants", "referencegrant", "ReferenceGrant", true, false),
];

export const NAMESPACES = RESOURCES.find((r) => r.plural === "namespaces")!;

/** "v1" for the core group, else "group/version". */
export function groupVersion(group: string, version: string): string {
  return group === "" ? version : `${group}/${version}`;
}

/** The name the real server gives a resource in messages: "services", "ingresses.networking.k8s.io". */
export function qualifiedName(r: Resource): string {
  return r.group === "" ? r.plural : `${r.plural}.${r.group}`;
}

/** The resource of an object's apiVersion and kind. */
export function resourceOfObject(apiVersion: string, kind: string): { resource: Resource; version: string } | undefined {
  const slash = apiVersion.lastIndexOf("/");
  const group = slash === -1 ? "" : apiVersion.slice(0, slash);
  const version = apiVersion.slice(slash + 1);
  const resource = RESOURCES.find((r) => r.group === group && r.kind === kind && r.versions.includes(version));
  return resource && { resource, version };
}

/** The resource of a path's group, version and plural. */
export function resourceOfPath(group: string, version: string, plural: string): Resource | undefined {
  return RESOURCES.find((r) => r.group === group && r.plural === plural && r.versions.includes(version));
}

/**
 * For the test controls: a kind ("Ingress"), plural ("ingresses") or qualified plural
 * ("events.events.k8s.io"); the core group wins a tie.
 */
export function resourceNamed(name: string): Resource {
  const r = RESOURCES.find((x) => x.kind === name || x.plural === name || qualifiedName(x) === name);
  if (!r) throw new Error(`test API server: no resource "${name}"`);
  return r;
}
