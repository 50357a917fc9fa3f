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

/** The Gateway listener for a host (by its slug, null for every host) and protocol: `example-com-https`; `http`/`https`. */
export function listenerName(slug: string | null, protocol: "HTTP" | "HTTPS"): string {
  const suffix = protocol.toLowerCase();
  return slug === null ? suffix : `${slug}-${suffix}`;
}

/** An object name built of parts, cut to what Kubernetes accepts (never ending in `-` or `.`). */
export function objectName(...parts: string[]): string {
  return parts.join("-").slice(0, MAX_NAME - 4).replace(/[-.]+$/, "");
}

/**
 * Names unique within one scope (a Gateway's listeners, a namespace's HTTPRoutes):
 * `a-b.com` and `a.b.com` slug alike, and the second one taken gets `-2`.
 */
export class UniqueNames {
  private readonly used = new Set<string>();

  take(base: string): string {
    let name = base;
    for (let n = 2; this.used.has(name); n++) name = `${base}-${n}`;
    this.used.add(name);
    return name;
  }
}
