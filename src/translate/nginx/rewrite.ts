import { rewritesPath } from "../../config/nginx/rewrite.js";
import type { Filter } from "../../model/route.js";
import type { RouteContext } from "./routeContext.js";

/**
 * ingress-nginx docs, "Rewrite" (App Root): a request for exactly `/` gets 302 to the
 * app root, before anything else runs (nginx's server rewrite phase, before a location
 * is chosen) — the filter of the host's own Exact `/` route that translate adds.
 */
export function appRootFilters(ctx: RouteContext): Filter[] {
  const { appRoot } = ctx.settings;
  return appRoot === undefined ? [] : [{ type: "redirect", code: 302, location: appRoot, onlyPath: "/" }];
}

/**
 * ingress-nginx docs, "Permanent Redirect" / "Temporal Redirect": every request gets the
 * redirect, to the URL as written.
 */
export function redirectFilters(ctx: RouteContext): Filter[] {
  const { redirect } = ctx.settings;
  return redirect === undefined ? [] : [{ type: "redirect", code: redirect.code, location: redirect.location }];
}

/**
 * ingress-nginx docs, "Rewrite": the path sent upstream is rewrite-target, with `$1`…`$9`
 * from the path's expression (nginx's `rewrite "(?i)<path>" <target> break;`).
 */
export function rewriteFilters(ctx: RouteContext): Filter[] {
  const { settings, path } = ctx;
  return rewritesPath(settings, path) ? [{ type: "rewrite", pattern: path, target: settings.rewriteTarget! }] : [];
}

/**
 * ingress-nginx docs, "X-Forwarded-Prefix Header" (sent only along with a rewrite, as
 * ingress-nginx renders it) and "Custom NGINX upstream vhost" (the Host header sent).
 */
export function requestHeaderFilters(ctx: RouteContext): Filter[] {
  const { settings, path } = ctx;
  const set: [string, string][] = [];
  if (settings.xForwardedPrefix !== undefined && rewritesPath(settings, path)) set.push(["x-forwarded-prefix", settings.xForwardedPrefix]);
  if (settings.upstreamVhost !== undefined) set.push(["host", settings.upstreamVhost]);
  return set.length === 0 ? [] : [{ type: "requestHeaders", set }];
}
