import type { Filter } from "../../model/route.js";
import type { RouteContext } from "./routeContext.js";

/**
 * ingress-nginx docs, "Server-side HTTPS enforcement through redirect": a TLS host's
 * plain-HTTP requests get 308 to HTTPS unless ssl-redirect is "false"; force-ssl-redirect
 * redirects even without TLS.
 */
export function httpsRedirectFilters(ctx: Pick<RouteContext, "settings" | "host" | "isTlsHost">): Filter[] {
  const { settings, host } = ctx;
  // Shared, never changed: most routes of a large table get one of these two.
  if (settings.forceSslRedirect || (host !== null && settings.sslRedirect && ctx.isTlsHost(host))) return HTTPS_REDIRECT;
  return NO_FILTERS;
}

const HTTPS_REDIRECT: Filter[] = Object.freeze([Object.freeze({ type: "httpsRedirect" as const })]) as unknown as Filter[];
const NO_FILTERS: Filter[] = Object.freeze([]) as unknown as Filter[];
