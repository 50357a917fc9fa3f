/**
 * Whether a request's Origin is one of a CORS origin list, as ingress-nginx's
 * buildOriginRegex matches it: case-insensitively, and `scheme://*.rest` standing for
 * exactly one DNS label (`[A-Za-z0-9-]+`) in place of the `*`. Unlike ingress-nginx's
 * regex, which is anchored only at its end (so `https://evil.https://abc.com` passes
 * for `https://abc.com`), the whole Origin must match.
 *
 * Per request: a Set lookup, then a prefix/suffix test per wildcard; nothing compiled
 * or allocated beyond the lower-cased Origin.
 */
export function originMatcher(origins: readonly string[]): (origin: string) => boolean {
  const exact = new Set<string>();
  const wildcards: { prefix: string; suffix: string }[] = [];
  for (const o of origins) {
    const lower = o.toLowerCase();
    const star = lower.indexOf("*");
    if (star === -1) exact.add(lower);
    else wildcards.push({ prefix: lower.slice(0, star), suffix: lower.slice(star + 1) });
  }
  return (origin) => {
    const o = origin.toLowerCase();
    if (exact.has(o)) return true;
    for (const { prefix, suffix } of wildcards) {
      const end = o.length - suffix.length;
      if (end > prefix.length && o.startsWith(prefix) && o.endsWith(suffix) && isLabel(o, prefix.length, end)) return true;
    }
    return false;
  };
}

/** `s[from, to)` is one lower-case DNS label: letters, digits and hyphens, no dot. */
function isLabel(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45)) return false;
  }
  return true;
}
