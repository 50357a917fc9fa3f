import type { RedirectFilter } from "../../model/route.js";

/**
 * ingress-nginx docs, "Redirect from/to www": the Ingress's host is where requests go;
 * its other name (`www.<host>` ↔ `<host>`) answers 308 with the same URL on this host.
 * Undefined for a wildcard host, which has no single other name.
 */
export function wwwCounterpart(host: string): string | undefined {
  if (host.startsWith("*.")) return undefined;
  return host.startsWith("www.") ? host.slice(4) : `www.${host}`;
}

/** The filter of the other name's route: 308 (ingress-nginx's http-redirect-code) to the same URL on `host`. */
export function wwwRedirectFilter(host: string): RedirectFilter {
  return { type: "redirect", code: 308, host };
}
