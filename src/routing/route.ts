import type { SourceLocation } from "../model/issues.js";

export type PathType = "Exact" | "Prefix" | "ImplementationSpecific";

/**
 * Where a route sends its traffic. The backend is named by key only
 * (`namespace/service:port`); the upstream side owns the pools behind that key,
 * so routing and upstream never hold references to each other.
 */
export interface BackendRef {
  key: string;
  namespace: string;
  service: string;
  /** The Service port as the Ingress named it (number, or name if unresolved). */
  port: number | string;
}

export interface Route {
  /** Rule host as written (`api.localhost`, `*.localhost`), or null for every host. */
  host: string | null;
  path: string;
  pathType: PathType;
  backend: BackendRef;
  /** `namespace/name` of the Ingress that declared it. */
  ingress: string;
  /** Plain-HTTP requests get a 308 to HTTPS (TLS host, or force-ssl-redirect). */
  redirectToHttps: boolean;
  readonly source: SourceLocation;
}

/** `namespace/service:port` — the one way a backend is named across the program. */
export function backendKey(namespace: string, service: string, port: number | string): string {
  return `${namespace}/${service}:${port}`;
}
