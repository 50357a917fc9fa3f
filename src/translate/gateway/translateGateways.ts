import type { ResourceSet } from "../../config/resources.js";
import type { ConfigIssue } from "../../model/issues.js";
import type { Route } from "../../model/route.js";
import type { GatewayApiStatus } from "./conditions.js";
import { translateHTTPRoutes } from "./httpRoutes.js";
import { serveGateways, type GatewayOptions, type ServedListener } from "./listeners.js";

export interface TranslatedGateways {
  /** In precedence order: where two routes claim the same match, the earlier one wins. */
  routes: Route[];
  /** Ports opened for Gateway listeners (neither ingressd's HTTP nor HTTPS port): their protocol and routes. */
  ports: Map<number, { protocol: "HTTP" | "HTTPS"; routes: Route[] }>;
  issues: ConfigIssue[];
  status: GatewayApiStatus;
  /** The served HTTPS listeners (on ingressd's HTTPS port or their own), for the TLS table (hostname → certificate). */
  httpsListeners: ServedListener[];
}

/**
 * Gateway API resources (GatewayClass, Gateway, HTTPRoute, ReferenceGrant) → routes of
 * the one route model, and the status a cluster would show. Pure: same input, same
 * routes.
 */
export function translateGateways(resources: ResourceSet, options: GatewayOptions): TranslatedGateways {
  if (resources.gateways.length === 0 && resources.httpRoutes.length === 0 && resources.gatewayClasses.length === 0) {
    return { routes: [], ports: new Map(), issues: [], status: { gatewayClasses: [], gateways: [], httpRoutes: [] }, httpsListeners: [] };
  }
  const gateways = serveGateways(resources, options);
  const httpRoutes = translateHTTPRoutes(resources, gateways);
  // Every port a served listener opens, with or without routes yet (a route added later is served without a restart).
  const ports = new Map<number, { protocol: "HTTP" | "HTTPS"; routes: Route[] }>();
  for (const l of gateways.listeners) {
    if (typeof l.entry === "number" && !ports.has(l.entry)) ports.set(l.entry, { protocol: l.status.protocol === "HTTPS" ? "HTTPS" : "HTTP", routes: httpRoutes.portRoutes.get(l.entry) ?? [] });
  }
  return {
    routes: httpRoutes.routes,
    ports,
    issues: [...gateways.issues, ...httpRoutes.issues],
    status: { gatewayClasses: gateways.gatewayClasses, gateways: gateways.gateways, httpRoutes: httpRoutes.status },
    httpsListeners: gateways.listeners.filter((l) => l.entry !== undefined && l.status.protocol === "HTTPS" && l.certificates.length > 0),
  };
}
