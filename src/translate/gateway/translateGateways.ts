import type { ResourceSet } from "../../config/resources.js";
import type { ConfigIssue } from "../../model/issues.js";
import type { Route } from "../../model/route.js";
import type { GatewayApiStatus } from "./conditions.js";
import { translateHTTPRoutes } from "./httpRoutes.js";
import { serveGateways, type GatewayOptions, type ServedListener } from "./listeners.js";

export interface TranslatedGateways {
  /** In precedence order: where two routes claim the same match, the earlier one wins. */
  routes: Route[];
  issues: ConfigIssue[];
  status: GatewayApiStatus;
  /** The served HTTPS listeners, for the TLS table (hostname → certificate). */
  httpsListeners: ServedListener[];
}

/**
 * Gateway API resources (GatewayClass, Gateway, HTTPRoute, ReferenceGrant) → routes of
 * the one route model, and the status a cluster would show. Pure: same input, same
 * routes.
 */
export function translateGateways(resources: ResourceSet, options: GatewayOptions): TranslatedGateways {
  if (resources.gateways.length === 0 && resources.httpRoutes.length === 0 && resources.gatewayClasses.length === 0) {
    return { routes: [], issues: [], status: { gatewayClasses: [], gateways: [], httpRoutes: [] }, httpsListeners: [] };
  }
  const gateways = serveGateways(resources, options);
  const httpRoutes = translateHTTPRoutes(resources, gateways);
  return {
    routes: httpRoutes.routes,
    issues: [...gateways.issues, ...httpRoutes.issues],
    status: { gatewayClasses: gateways.gatewayClasses, gateways: gateways.gateways, httpRoutes: httpRoutes.status },
    httpsListeners: gateways.listeners.filter((l) => l.entry === "https" && l.certificates.length > 0),
  };
}
