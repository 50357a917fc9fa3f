/**
 * Host header → the name routes are keyed by: lowercase, without port or trailing dot.
 * Fast path for the common already-clean value, since this runs per request.
 */
export function normalizeHost(raw: string | undefined): string {
  if (!raw) return "";
  let host = raw;
  if (host.charCodeAt(0) === 91 /* [ */) {
    // IPv6 literal: `[::1]:8080` → `[::1]`
    const end = host.indexOf("]");
    host = end === -1 ? host : host.slice(0, end + 1);
  } else {
    const colon = host.indexOf(":");
    if (colon !== -1) host = host.slice(0, colon);
  }
  if (host.endsWith(".")) host = host.slice(0, -1);
  return /[A-Z]/.test(host) ? host.toLowerCase() : host;
}

/** `bar.foo.com` → `foo.com`: the key a `*.foo.com` rule is stored under (one label only). */
export function wildcardKey(host: string): string | undefined {
  const dot = host.indexOf(".");
  return dot === -1 ? undefined : host.slice(dot + 1);
}
