/** Longest object name Kubernetes accepts (a DNS subdomain). */
const MAX_NAME = 253;

/**
 * A host as a name part: `*.example.com` → `wildcard-example-com`. Listener names and
 * HTTPRoute names are DNS labels/subdomains, so dots and the wildcard cannot stay.
 */
export function hostSlug(host: string | null): string {
  if (host === null) return "any-host";
  return host.toLowerCase().replace(/^\*\./, "wildcard.").replace(/\./g, "-");
}

/** The Gateway listener serving `host` over `protocol`: `example-com-https`; `http`/`https` for every host. */
export function listenerName(host: string | null, protocol: "HTTP" | "HTTPS"): string {
  const suffix = protocol.toLowerCase();
  return host === null ? suffix : `${hostSlug(host)}-${suffix}`;
}

/** An object name built of parts, cut to what Kubernetes accepts (never ending in `-` or `.`). */
export function objectName(...parts: string[]): string {
  return parts.join("-").slice(0, MAX_NAME).replace(/[-.]+$/, "");
}
