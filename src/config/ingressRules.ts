import type { DroppedRule } from "../model/issues.js";

/** Enough to say where the requests of a large rejected Ingress go; the rest is in its file. */
const MAX_RULES = 20;

/**
 * The rules (host, path) a rejected Ingress names, read leniently from its raw value:
 * it failed validation, so any field may be missing or of the wrong type. Its default
 * backend (`spec.defaultBackend`, or the removed API's `spec.backend`) is host null, path `/`.
 */
export function rulesOfRawIngress(value: Record<string, unknown>): DroppedRule[] {
  const spec = record(value.spec);
  const out: DroppedRule[] = [];
  const seen = new Set<string>();
  const add = (host: string | null, path: string): void => {
    const key = `${host ?? ""} ${path}`;
    if (seen.has(key) || out.length >= MAX_RULES) return;
    seen.add(key);
    out.push({ host, path });
  };
  for (const rule of list(spec.rules)) {
    const r = record(rule);
    const host = typeof r.host === "string" && r.host !== "" ? r.host : null;
    const paths = list(record(r.http).paths);
    for (const p of paths) {
      const path = record(p).path;
      add(host, typeof path === "string" && path.startsWith("/") ? path : "/");
    }
    if (paths.length === 0) add(host, "/");
  }
  if (spec.defaultBackend !== undefined || spec.backend !== undefined) add(null, "/");
  return out;
}

function record(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
