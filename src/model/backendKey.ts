/**
 * Where traffic goes, named by key only (`namespace/service:port`): routes name a
 * backend, the upstream side owns the pool behind the key, so neither holds a
 * reference to the other and a reload can rebuild either alone.
 */
export interface BackendRef {
  key: string;
  namespace: string;
  service: string;
  /** The Service port as the route named it (number, or name if unresolved). */
  port: number | string;
  /** Set when the upstream is spoken to over TLS (backend-protocol HTTPS); the key then says so. */
  tls?: UpstreamTls;
  /** Set when the upstream is spoken to over HTTP/2 (backend-protocol GRPC, GRPCS); the key then says so. */
  http2?: true;
  /** Set when requests go to the Service's cluster IP, not its endpoints (service-upstream); the key then says so. */
  serviceUpstream?: true;
}

/**
 * TLS to the upstream, as a route asks for it. Plain data: the upstream side builds
 * TLS endpoints from it, apart from the plain-HTTP ones of the same Service port.
 */
export interface UpstreamTls {
  /** SNI, and the name a verified certificate must carry; default: the Service's host name. */
  serverName?: string;
  /** PEM CAs the upstream's certificate must chain to; absent: the certificate is not verified. */
  ca?: string;
  /** PEM client certificate and key presented to the upstream. */
  cert?: string;
  key?: string;
  /** `namespace/name` of the Secret these come from, for explanations. */
  secret?: string;
  /** Why the upstream cannot be reached as asked (its Secret is missing or unusable): requests get 503. */
  unusable?: string;
}

/**
 * The key of a Service port spoken to over TLS: `ns/svc:443+https`, with what sets it
 * apart from another route's TLS to the same port in parentheses. Still readable as a
 * metrics and access-log label.
 */
export function tlsBackendKey(plainKey: string, tls: UpstreamTls): string {
  const parts = [tls.serverName !== undefined ? `name=${tls.serverName}` : "", tls.secret !== undefined ? `secret=${tls.secret}` : "", tls.ca !== undefined ? "verify" : ""].filter(Boolean);
  return `${plainKey}+https${parts.length > 0 ? `(${parts.join(",")})` : ""}`;
}

/** The key of a backend reached at its Service's cluster IP (service-upstream): `ns/svc:80+service`, after any TLS part. */
export function serviceUpstreamKey(key: string): string {
  return `${key}+service`;
}

/** The key of a backend spoken to over HTTP/2 (gRPC): `ns/svc:50051+h2`, after any TLS and service part. */
export function http2BackendKey(key: string): string {
  return `${key}+h2`;
}

/** `namespace/service:port` — the one way a backend is named across the program. */
export function backendKey(namespace: string, service: string, port: number | string): string {
  return `${namespace}/${service}:${port}`;
}

/**
 * The parts of a backend key (a TLS key's `+https…`, `+service` and an HTTP/2 key's `+h2` suffix allowed, its settings not
 * read back); undefined when `key` is not `namespace/service:port`.
 */
export function parseBackendKey(key: string): BackendRef | undefined {
  const m = /^([^/:]+)\/([^/:+]+):([^/:+]+)(?:\+https[^+]*)?(?:\+service)?(?:\+h2)?$/.exec(key);
  if (!m) return undefined;
  const port = /^\d+$/.test(m[3]!) ? Number(m[3]) : m[3]!;
  return { key, namespace: m[1]!, service: m[2]!, port };
}
