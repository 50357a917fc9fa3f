import type { ResourceSet } from "../config/resources.js";
import type { ConfigIssue } from "../model/issues.js";
import type { BackendRef } from "../model/backendKey.js";
import type { Filter, Route } from "../model/route.js";
import { planL4Listeners, type L4Plan } from "../l4/plan.js";
import { buildRouteTable } from "../routing/buildTable.js";
import type { RouteTable } from "../routing/routeTable.js";
import { translateIngresses, type IgnoredIngress, type TranslateOptions } from "../translate/ingress.js";
import { mergeByAge } from "../translate/mergeByAge.js";
import type { GatewayApiStatus } from "../translate/gateway/conditions.js";
import { translateGateways, type TranslatedGateways } from "../translate/gateway/translateGateways.js";
import { compileTls, type ContextCache } from "../tls/tlsTable.js";
import type { ClasslessIngresses } from "../translate/ingressClass.js";
import type { TlsTable } from "../tls/tlsTable.js";
import { resolveBackends, type BackendSpec } from "../upstream/backendSpec.js";

export interface CompileConfigOptions {
  ingressClass: string;
  /** Which Ingresses without a class are served (default: all; in a cluster: only while ingressd's class is the default). */
  classless?: ClasslessIngresses;
  /** Gateways of this class are served (`--gateway-class`; default `ingressd`). */
  gatewayClass?: string;
  /** ingressd's HTTP and HTTPS ports: Gateway listeners on them are served as those on 80 and 443. */
  httpPort?: number;
  httpsPort?: number;
  /** Address NodePort listeners bind to. */
  bind: string;
  /**
   * Open NodePort and LoadBalancer Services' listeners, as kube-proxy would (default true).
   * Not in a cluster: kube-proxy is there and does it.
   */
  serviceListeners?: boolean;
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
  const gateways = translateGateways(resources, {
    gatewayClass: options.gatewayClass ?? "ingressd",
    ...(options.httpPort !== undefined ? { httpPort: options.httpPort } : {}),
    ...(options.httpsPort !== undefined ? { httpsPort: options.httpsPort } : {}),
  });
  const classless = options.classless ?? "served";
  const tls = compileTls(resources, options.ingressClass, classless, options.tlsContexts ?? new Map(), gateways.httpsListeners);
  const routes = compileRoutes(resources, { ingressClass: options.ingressClass, classless, isTlsHost: (h) => tls.table.covers(h) }, gateways);
  const referenced = routes.table.routes().flatMap(backendsOf);
  for (const port of routes.ports.values()) referenced.push(...port.table.routes().flatMap(backendsOf));
  if (routes.table.defaultBackend) referenced.push(...routes.table.defaultBackend.backends.map((b) => b.backend));
  const backends = resolveBackends(resources, referenced);
  const l4 = planL4Listeners(options.serviceListeners === false ? [] : resources.services, options.bind, options.previousNodePorts ?? new Map());
  return {
    routes,
    tls: tls.table,
    tlsContexts: tls.cache,
    backends: backends.specs,
    l4,
    issues: [...routes.issues, ...tls.issues, ...backends.issues, ...l4.issues],
  };
}

export interface CompiledRoutes {
  table: RouteTable;
  issues: ConfigIssue[];
  ignored: IgnoredIngress[];
  /** Gateway API status: GatewayClasses, Gateways and their listeners, HTTPRoutes' parents. */
  gateway: GatewayApiStatus;
  /** Ports opened for Gateway listeners other than on ingressd's HTTP and HTTPS ports, each with its own table. */
  ports: ReadonlyMap<number, GatewayPort>;
}

/** A port opened for Gateway listeners: its protocol and the routes attached to them. */
export interface GatewayPort {
  protocol: "HTTP" | "HTTPS";
  table: RouteTable;
}

/**
 * Ingresses and HTTPRoutes → routes → one lookup table; a route shadowed by an earlier
 * one is a warning at its path. Between the two APIs the older resource comes first
 * (creation time, then file, then document), as between two Ingresses.
 */
export function compileRoutes(resources: ResourceSet, options: TranslateOptions, gateways?: TranslatedGateways): CompiledRoutes {
  const translated = translateIngresses(resources, options);
  const gw = gateways ?? translateGateways(resources, { gatewayClass: "ingressd" });
  const routes = gw.routes.length === 0 ? translated.routes : mergeByAge(translated.routes, gw.routes, resources);
  const { table, conflicts } = buildRouteTable(routes, translated.defaultBackend);
  const issues = [...translated.issues, ...gw.issues];
  const ports = new Map<number, GatewayPort>();
  for (const [port, { protocol, routes: portRoutes }] of gw.ports) {
    const built = buildRouteTable(portRoutes);
    ports.set(port, { protocol, table: built.table });
    conflicts.push(...built.conflicts);
  }
  for (const { route, winner, servedOn } of conflicts) {
    const m = route.match;
    const by = `${winner.origin.kind} ${winner.origin.name} at ${winner.origin.source.file}:${winner.origin.source.line}`;
    issues.push({
      severity: "warning",
      code: "duplicate-path",
      message: servedOn
        ? `${m.host ?? "*"} ${m.path} (${m.pathType}) is already routed over ${servedOn === "https" ? "plain HTTP" : "HTTPS"} by ${by}, which takes precedence there; this path is served over ${servedOn === "https" ? "HTTPS" : "plain HTTP"} only`
        : `${m.host ?? "*"} ${m.path} (${m.pathType}) is already routed by ${by}, which takes precedence; this path is not served`,
      field: `${route.origin.field}.path`,
      resource: route.origin.resource,
      ...route.origin.locate(["path"]),
    });
  }
  return { table, issues, ignored: translated.ignored, gateway: gw.status, ports };
}

/** The backends a route may send to: its own, and the mirrors of its filters and its backends' filters. */
function backendsOf(route: Route): BackendRef[] {
  const out: BackendRef[] = [];
  const mirrors = (filters: readonly Filter[] | undefined): void => {
    for (const f of filters ?? []) if (f.type === "mirror") out.push(f.backend);
  };
  mirrors(route.filters);
  for (const b of route.backends) {
    if (b.invalid === undefined) out.push(b.backend);
    mirrors(b.filters);
  }
  return out;
}
