import type { Loaded, ResourceSet } from "../../config/resources.js";
import { backendKey, http2BackendKey, type BackendRef } from "../../model/backendKey.js";
import { GATEWAY_GROUP } from "./listeners.js";
import { referencePermitted } from "./referenceGrants.js";

/** A Gateway API BackendObjectReference (backendRefs[], a mirror's backendRef). */
export interface GatewayBackendRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
}

/** A reference resolved to a Service port, or why it cannot be used, with the ResolvedRefs reason it gives. */
export type ResolvedBackend = { ok: true; backend: BackendRef } | { ok: false; reason: "InvalidKind" | "RefNotPermitted" | "BackendNotFound"; message: string; key: string };

/**
 * A route's reference to a backend → the backend key of a Service port. Only core
 * Services; another namespace's only with a ReferenceGrant there allowing HTTPRoutes of
 * the route's namespace. A port with `appProtocol: kubernetes.io/h2c` is spoken to over
 * HTTP/2 with prior knowledge.
 */
export function resolveBackendRef(resources: ResourceSet, services: ReadonlyMap<string, Loaded<"Service">>, route: Loaded<"HTTPRoute">, ref: GatewayBackendRef): ResolvedBackend {
  const namespace = ref.namespace ?? route.namespace;
  const key = backendKey(namespace, ref.name, ref.port ?? "?");
  const group = ref.group ?? "";
  const kind = ref.kind ?? "Service";
  if (group !== "" || kind !== "Service") {
    return { ok: false, reason: "InvalidKind", key, message: `backend ${group === "" ? "" : `${group}/`}${kind} ${namespace}/${ref.name} is not supported: ingressd routes to core Services only` };
  }
  if (!referencePermitted(resources, { group: GATEWAY_GROUP, kind: "HTTPRoute", namespace: route.namespace }, { group: "", kind: "Service", namespace, name: ref.name })) {
    return { ok: false, reason: "RefNotPermitted", key, message: `Service ${namespace}/${ref.name} is in another namespace and no ReferenceGrant there allows HTTPRoutes of ${route.namespace} to use it` };
  }
  const svc = services.get(`${namespace}/${ref.name}`);
  if (!svc) {
    const error = resources.rejected?.get(`Service ${namespace}/${ref.name}`);
    return { ok: false, reason: "BackendNotFound", key, message: error ? `Service ${namespace}/${ref.name} is invalid (see the error at ${error.file}:${error.line})` : `Service ${namespace}/${ref.name} is not defined` };
  }
  if (ref.port === undefined) return { ok: false, reason: "BackendNotFound", key, message: `backendRef to Service ${namespace}/${ref.name} needs a port` };
  const ports = svc.object.spec?.ports ?? [];
  const port = ports.find((p) => p.port === ref.port);
  // An ExternalName Service may declare no ports: the reference's port is used as is.
  if (!port && ports.length > 0) {
    return { ok: false, reason: "BackendNotFound", key, message: `Service ${namespace}/${ref.name} has no port ${ref.port}; its ports: ${ports.map((p) => p.port).join(", ")}` };
  }
  const plain = backendKey(namespace, ref.name, ref.port);
  const h2c = port?.appProtocol === "kubernetes.io/h2c";
  return { ok: true, backend: { key: h2c ? http2BackendKey(plain) : plain, namespace, service: ref.name, port: ref.port, ...(h2c ? { http2: true as const } : {}) } };
}
