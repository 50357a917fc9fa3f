import type { Snapshot } from "../snapshot.js";

/**
 * The `/api/config` document: everything ingressd is doing, as plain JSON. The
 * dashboard and tools read this; it is the source of truth for what is served.
 */
export function configView(snapshot: Snapshot, ready: boolean) {
  const hosts: Record<string, { path: string; pathType: string; backend: string; endpoints: string[]; ingress: string; source: string }[]> = {};
  for (const r of snapshot.routes.routes()) {
    const host = r.host ?? "*";
    const pool = snapshot.pools.get(r.backend.key);
    (hosts[host] ??= []).push({
      path: r.path,
      pathType: r.pathType,
      backend: r.backend.key,
      endpoints: pool ? pool.endpoints.map((e) => e.address) : [],
      ingress: r.ingress,
      source: `${r.source.file}:${r.source.line}:${r.source.col}`,
    });
  }
  const def = snapshot.routes.defaultBackend;
  return {
    ready,
    generation: snapshot.generation,
    lastReload: snapshot.loadedAt.toISOString(),
    files: snapshot.files,
    errors: snapshot.issues.filter((i) => i.severity === "error"),
    warnings: snapshot.issues.filter((i) => i.severity === "warning"),
    ignored: snapshot.ignored.map((i) => ({ ingress: i.ingress, reason: i.reason, source: `${i.source.file}:${i.source.line}` })),
    hosts,
    defaultBackend: def
      ? { backend: def.backend.key, ingress: def.ingress, endpoints: snapshot.pools.get(def.backend.key)?.endpoints.map((e) => e.address) ?? [] }
      : null,
    services: [...snapshot.pools.values()].map((p) => ({
      backend: p.key,
      type: p.spec.type,
      endpoints: p.endpoints.map((e) => e.address),
    })),
  };
}
