import type { GatewayObject, Listener } from "./gatewayObjects.js";
import { GATEWAY_API_VERSION, GATEWAY_CLASS_NAME } from "./gatewayObjects.js";
import { listenerName } from "./names.js";

/** A host's TLS as the Ingresses give it: the Secret, or none (ingressd's local CA serves the host). */
export interface HostTls {
  secretName?: string;
}

/**
 * The Gateway of one namespace for an ingress class: an HTTP listener per host (port 80),
 * and an HTTPS listener (port 443, terminating with the host's Secret) per TLS host.
 * `slugs`: every host a route of the namespace serves (null for "any host") → the
 * unique name part of its listeners.
 */
export function gatewayFor(name: string, namespace: string, slugs: ReadonlyMap<string | null, string | null>, tls: ReadonlyMap<string, HostTls>): GatewayObject {
  const listeners: Listener[] = [];
  for (const [host, slug] of slugs) {
    const hostname = host === null ? {} : { hostname: host };
    listeners.push({ name: listenerName(slug, "HTTP"), protocol: "HTTP", port: 80, ...hostname });
    const hostTls = host === null ? undefined : tls.get(host);
    if (hostTls) {
      listeners.push({
        name: listenerName(slug, "HTTPS"),
        protocol: "HTTPS",
        port: 443,
        ...hostname,
        tls: { mode: "Terminate", ...(hostTls.secretName ? { certificateRefs: [{ kind: "Secret", name: hostTls.secretName }] } : {}) },
      });
    }
  }
  return { apiVersion: GATEWAY_API_VERSION, kind: "Gateway", metadata: { name, namespace }, spec: { gatewayClassName: GATEWAY_CLASS_NAME, listeners } } as GatewayObject;
}
