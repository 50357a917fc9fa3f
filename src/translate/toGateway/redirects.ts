import { isIP } from "node:net";
import { GATEWAY_HOSTNAME, type RequestRedirect, type RouteFilter } from "./gatewayObjects.js";

/** The status codes RequestRedirect takes in the Gateway API v1 schema ingressd validates with. */
const REDIRECT_CODES = new Set([301, 302]);

export interface ConvertedRedirect {
  filter?: RouteFilter;
  /** Why the redirect is left out or changed, when it is. */
  note?: string;
}

/**
 * permanent-redirect / temporal-redirect: the URL split into RequestRedirect's scheme,
 * hostname, port and full path. nginx sends the URL as written (never the request's
 * path); a URL with a query has no RequestRedirect form.
 */
export function redirectFilter(location: string, code: number): ConvertedRedirect {
  const url = new URL(location, "http://relative.invalid");
  if (url.search !== "" || url.hash !== "") return { note: `"${location}" has a query or fragment; RequestRedirect cannot set one: left out` };
  // Gateway API's PreciseHostname: a name, "IPs are not allowed".
  if (!location.startsWith("/") && (isIP(url.hostname.replace(/^\[|\]$/g, "")) !== 0 || !GATEWAY_HOSTNAME.test(url.hostname))) return { note: `"${location}" names an address, not a host name; RequestRedirect takes host names only: left out` };
  const redirect: RequestRedirect = { path: { type: "ReplaceFullPath", replaceFullPath: url.pathname } };
  if (!location.startsWith("/")) {
    redirect.scheme = url.protocol === "https:" ? "https" : "http";
    redirect.hostname = url.hostname;
    if (url.port !== "") redirect.port = Number(url.port);
  }
  const permanent = code === 301 || code === 308;
  redirect.statusCode = REDIRECT_CODES.has(code) ? (code as 301 | 302) : permanent ? 301 : 302;
  const note = redirect.statusCode === code ? undefined : `status ${code} is not one RequestRedirect takes (301 or 302): ${redirect.statusCode} used`;
  return { filter: { type: "RequestRedirect", requestRedirect: redirect }, ...(note ? { note } : {}) };
}

/**
 * ssl-redirect / force-ssl-redirect. ingress-nginx answers 308; RequestRedirect takes
 * 301 or 302 in the v1 schema, so 301 (a client may change a POST into a GET on it).
 */
export const HTTPS_REDIRECT: RouteFilter = { type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } };

/** app-root: ingress-nginx answers `/` with 302 to the app root. */
export function appRootFilter(appRoot: string): RouteFilter {
  return { type: "RequestRedirect", requestRedirect: { path: { type: "ReplaceFullPath", replaceFullPath: appRoot }, statusCode: 302 } };
}
