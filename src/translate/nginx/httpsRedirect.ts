import type { Filter } from "../../model/route.js";
import type { RouteContext } from "./routeContext.js";

/**
 * ingress-nginx docs, "Server-side HTTPS enforcement through redirect": a TLS host's
 * plain-HTTP requests get 308 to HTTPS unless ssl-redirect is "false"; force-ssl-redirect
 * redirects even without TLS.
 */
export function httpsRedirectFilters(ctx: RouteContext): Filter[] {
  const { settings, host } = ctx;
  if (settings.forceSslRedirect || (host !== null && settings.sslRedirect && ctx.isTlsHost(host))) return [{ type: "httpsRedirect" }];
  return [];
}
