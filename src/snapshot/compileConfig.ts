import type { ResourceSet } from "../config/resources.js";
import type { ConfigIssue } from "../model/issues.js";
import { planL4Listeners, type L4Plan } from "../l4/plan.js";
import { compileRoutes, type CompiledRoutes } from "../translate/ingress.js";
import { compileTls, type ContextCache } from "../tls/tlsTable.js";
import type { TlsTable } from "../tls/tlsTable.js";
import { resolveBackends, type BackendSpec } from "../upstream/backendSpec.js";

export interface CompileConfigOptions {
  ingressClass: string;
  /** Address NodePort listeners bind to. */
  bind: string;
  /** Node ports assigned by the previous generation, kept stable. */
  previousNodePorts?: ReadonlyMap<string, number>;
  /** Secure contexts of the previous generation, reused when the certificate is unchanged. */
  tlsContexts?: ContextCache;
}

/** Everything a configuration compiles to, as plain data — before any pool or socket exists. */
export interface CompiledConfig {
  routes: CompiledRoutes;
  tls: TlsTable;
  tlsContexts: ContextCache;
  backends: Map<string, BackendSpec>;
  l4: L4Plan;
  /** Every problem found after validation (cross-resource checks). */
  issues: ConfigIssue[];
}

/**
 * Validated resources → routing table, TLS table, backend specs and L4 plan. The one
 * compile step shared by the server (runtime) and `ingressd check`/`routes`, so both
 * judge a folder exactly alike.
 */
export function compileConfig(resources: ResourceSet, options: CompileConfigOptions): CompiledConfig {
  const tls = compileTls(resources, options.ingressClass, options.tlsContexts ?? new Map());
  const routes = compileRoutes(resources, { ingressClass: options.ingressClass, isTlsHost: (h) => tls.table.covers(h) });
  const referenced = routes.table.routes().map((r) => r.backend);
  if (routes.table.defaultBackend) referenced.push(routes.table.defaultBackend.backend);
  const backends = resolveBackends(resources, referenced);
  const l4 = planL4Listeners(resources.services, options.bind, options.previousNodePorts ?? new Map());
  return {
    routes,
    tls: tls.table,
    tlsContexts: tls.cache,
    backends: backends.specs,
    l4,
    issues: [...routes.issues, ...tls.issues, ...backends.issues, ...l4.issues],
  };
}
