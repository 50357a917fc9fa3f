import type { IngressBackend } from "kubernetes-types/networking/v1.js";
import type { Loaded } from "../../config/resources.js";
import type { BackendRef } from "./gatewayObjects.js";

/**
 * An Ingress backend as an HTTPRoute backendRef. A backendRef names a Service port by
 * number only, so a named port is looked up in the Service of the files; a message
 * says why when it cannot be.
 */
export function serviceBackendRef(ing: Loaded<"Ingress">, backend: IngressBackend, services: ReadonlyMap<string, Loaded<"Service">>): BackendRef | string {
  const svc = backend.service;
  if (!svc) return "a resource backend has no HTTPRoute form (backendRefs name Services): left out";
  const number = svc.port?.number;
  if (number !== undefined) return { name: svc.name, port: number };
  const service = services.get(`${ing.namespace}/${svc.name}`);
  if (!service) return `port "${svc.port?.name}" is named and Service ${ing.namespace}/${svc.name} is not in the files: its number is unknown; left out`;
  const found = (service.object.spec?.ports ?? []).find((p) => p.name === svc.port?.name);
  if (!found) return `Service ${ing.namespace}/${svc.name} has no port named "${svc.port?.name}": left out`;
  return { name: svc.name, port: found.port };
}
