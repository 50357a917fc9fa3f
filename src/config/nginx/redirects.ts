import type { AnnotationReader } from "./annotationReader.js";

export interface RedirectSettings {
  /** ssl-redirect (default true): a TLS host's plain-HTTP requests get 308 to HTTPS. */
  sslRedirect: boolean;
  /** force-ssl-redirect: redirect to HTTPS even without TLS for the host. */
  forceSslRedirect: boolean;
  /** permanent-redirect or temporal-redirect: every request answered with a redirect to this URL. */
  redirect?: { location: string; code: number };
  /** from-to-www-redirect: the other name of each host (www.<host> ↔ <host>) redirects here (308). */
  fromToWwwRedirect: boolean;
}

/**
 * ingress-nginx docs, "Server-side HTTPS enforcement through redirect", "Permanent
 * Redirect", "Temporal Redirect", "Redirect from/to www".
 */
export function readRedirects(a: AnnotationReader): RedirectSettings {
  const permanent = redirectOf(a, "permanent-redirect", 301, 308);
  const temporal = redirectOf(a, "temporal-redirect", 302, 307);
  if (permanent && temporal) a.warn("permanent-redirect", "is ignored: temporal-redirect is also set, and wins (as in ingress-nginx)");
  const redirect = temporal ?? permanent;
  return {
    sslRedirect: a.bool("ssl-redirect", true),
    forceSslRedirect: a.bool("force-ssl-redirect", false),
    ...(redirect ? { redirect } : {}),
    fromToWwwRedirect: a.bool("from-to-www-redirect", false),
  };
}

/**
 * `<name>` (an http(s) URL, or a path on the request's own host) and `<name>-code`
 * (300 to `maxCode`, as ingress-nginx accepts). The URL is sent as written: nginx's
 * `return <code> <url>` appends neither the request's path nor its query.
 */
function redirectOf(a: AnnotationReader, name: string, defaultCode: number, maxCode: number): { location: string; code: number } | undefined {
  const url = a.get(name) || undefined; // empty: none, as in ingress-nginx
  const code = a.int(`${name}-code`, 300, maxCode) ?? defaultCode;
  if (url === undefined) return undefined;
  if (!isRedirectUrl(url)) {
    a.error(name, `must be an http:// or https:// URL (or a path starting with "/"), not "${url}"`);
    return undefined;
  }
  return { location: url, code };
}

function isRedirectUrl(url: string): boolean {
  // Nothing a Location header cannot carry as is: no spaces, controls or non-ASCII.
  if (!/^[\x21-\x7e]+$/.test(url)) return false;
  if (url.startsWith("/")) return !url.startsWith("//");
  try {
    const u = new URL(url);
    return (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== "";
  } catch {
    return false;
  }
}
