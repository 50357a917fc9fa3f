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
}

/** `namespace/service:port` — the one way a backend is named across the program. */
export function backendKey(namespace: string, service: string, port: number | string): string {
  return `${namespace}/${service}:${port}`;
}

/** The parts of a backend key; undefined when `key` is not `namespace/service:port`. */
export function parseBackendKey(key: string): BackendRef | undefined {
  const m = /^([^/:]+)\/([^/:]+):([^/:]+)$/.exec(key);
  if (!m) return undefined;
  const port = /^\d+$/.test(m[3]!) ? Number(m[3]) : m[3]!;
  return { key, namespace: m[1]!, service: m[2]!, port };
}
