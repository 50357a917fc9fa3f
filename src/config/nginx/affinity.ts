import { HASH_VARIABLES, type BalancePolicy, type CookieAffinityPolicy, type HashKeyPart, type HashPolicy, type HashVariable } from "../../model/route.js";
import type { AnnotationReader } from "./annotationReader.js";

/** What affinity, affinity-mode, session-cookie-* (and change-on-failure), upstream-hash-by ask for. */
export interface AffinitySettings {
  /** The cookie's Path is left out when session-cookie-path is not set: translate sets the Ingress path. */
  balance?: BalancePolicy;
}

/** ingress-nginx's `defaultAffinityCookieName`. */
export const DEFAULT_AFFINITY_COOKIE = "INGRESSCOOKIE";

const COOKIE_SETTINGS = [
  "affinity-mode",
  "session-cookie-name",
  "session-cookie-path",
  "session-cookie-domain",
  "session-cookie-max-age",
  "session-cookie-expires",
  "session-cookie-samesite",
  "session-cookie-secure",
  "session-cookie-change-on-failure",
] as const;

/**
 * Session affinity (ingress-nginx annotations.md § Session Affinity, § Cookie affinity)
 * and § Custom NGINX upstream hashing. Cookie affinity wins over upstream-hash-by, as in
 * ingress-nginx's balancer selection. Unlike ingress-nginx, whose affinity parser drops a
 * bad value silently, every bad value here is an error: a typo must not quietly turn
 * affinity off.
 */
export function readAffinity(a: AnnotationReader): AffinitySettings {
  const affinity = a.get("affinity");
  let cookie: CookieAffinityPolicy | undefined;
  if (affinity !== undefined && affinity !== "") cookie = readCookie(a, affinity);
  else for (const name of COOKIE_SETTINGS) if (a.get(name) !== undefined) a.warn(name, `has no effect without the affinity: "cookie" annotation`);
  const hash = readHash(a);
  if (cookie && hash) a.warn("upstream-hash-by", `is not used: cookie affinity (affinity: "cookie") decides, as in ingress-nginx`);
  const balance = cookie ?? hash;
  return balance ? { balance } : {};
}

function readCookie(a: AnnotationReader, affinity: string): CookieAffinityPolicy | undefined {
  if (affinity !== "cookie") {
    a.error("affinity", `must be "cookie" (the only affinity ingress-nginx knows), not "${affinity}"`);
    for (const name of COOKIE_SETTINGS) a.get(name); // read: the one error is enough
    return undefined;
  }
  const policy: CookieAffinityPolicy = { kind: "cookie", name: DEFAULT_AFFINITY_COOKIE, mode: "balanced" };

  const mode = a.get("affinity-mode");
  if (mode === "persistent" || mode === "balanced") policy.mode = mode;
  else if (mode !== undefined) a.error("affinity-mode", `must be "balanced" or "persistent", not "${mode}"`);

  const name = a.get("session-cookie-name");
  // A cookie-name token (RFC 6265) within ingress-nginx's basic characters.
  if (name !== undefined && /^[A-Za-z0-9._~-]+$/.test(name)) policy.name = name;
  else if (name !== undefined) a.error("session-cookie-name", `must be a cookie name of letters, digits, ".", "_", "~" and "-", not "${name}"`);

  const path = a.get("session-cookie-path");
  if (path !== undefined && /^\/[^\s;,\x00-\x1f\x7f]*$/.test(path)) policy.path = path;
  else if (path !== undefined) a.error("session-cookie-path", `must be a path starting with "/", without spaces, ";" or ",", not "${path}"`);

  const domain = a.get("session-cookie-domain");
  if (domain !== undefined && /^\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/.test(domain)) policy.domain = domain;
  else if (domain !== undefined) a.error("session-cookie-domain", `must be a domain name, not "${domain}"`);

  const maxAge = seconds(a, "session-cookie-max-age");
  if (maxAge !== undefined) policy.maxAgeSeconds = maxAge;
  const expires = seconds(a, "session-cookie-expires");
  if (expires !== undefined) policy.expiresSeconds = expires;

  const sameSite = a.get("session-cookie-samesite");
  const canonical = sameSite === undefined ? undefined : SAME_SITE[sameSite.toLowerCase()];
  if (canonical) policy.sameSite = canonical;
  else if (sameSite !== undefined) a.error("session-cookie-samesite", `must be Strict, Lax or None, not "${sameSite}"`);

  // "false" is the same as unset, as in ingress-nginx: Secure still follows the request's scheme.
  if (a.bool("session-cookie-secure", false)) policy.secure = true;
  if (a.bool("session-cookie-change-on-failure", false)) policy.changeOnFailure = true;
  return policy;
}

/**
 * ingress-nginx validates these to be case-insensitively one of the three, then passes
 * the value on verbatim, and its cookie library drops anything but the exact spelling
 * (so `lax` gives no SameSite at all); ingressd sends the canonical spelling instead.
 */
const SAME_SITE: Record<string, CookieAffinityPolicy["sameSite"]> = { strict: "Strict", lax: "Lax", none: "None" };

/** Whole seconds, as ingress-nginx's `(^0|-?[1-9]\d*$)`; 0 or less makes the client drop the cookie at once. */
function seconds(a: AnnotationReader, name: string): number | undefined {
  const v = a.get(name);
  if (v === undefined) return undefined;
  if (!/^(0|-?[1-9]\d{0,9})$/.test(v)) {
    a.error(name, `must be a whole number of seconds, not "${v}"`);
    return undefined;
  }
  const n = Number(v);
  if (n <= 0) a.warn(name, `is ${n}: the client drops the cookie at once, so no session keeps its endpoint`);
  return n;
}

function readHash(a: AnnotationReader): HashPolicy | undefined {
  const raw = a.get("upstream-hash-by");
  if (raw === undefined) return undefined;
  const key = raw.replace(/\s+/g, ""); // ingress-nginx strips spaces before validating
  if (key === "") return undefined;
  const parts = parseHashKey(key);
  if (typeof parts === "string") {
    a.error("upstream-hash-by", `${parts} in "${raw}"`);
    return undefined;
  }
  if (!parts.some((p) => !("text" in p))) a.warn("upstream-hash-by", `"${raw}" names no variable: every request hashes to the same endpoint`);
  return { kind: "hash", key, parts };
}

const KNOWN = new Set<string>(HASH_VARIABLES);
const BY_NAME = [
  ["http_", (n: string): HashKeyPart => ({ header: n.replace(/_/g, "-").toLowerCase() })],
  ["cookie_", (n: string): HashKeyPart => ({ cookie: n })],
  ["arg_", (n: string): HashKeyPart => ({ arg: n })],
] as const;

/**
 * nginx's complex value, as ingress-nginx's `util.parse_complex_value` splits it: `$var`,
 * `${var}` and text between them. A string (the problem) when it does not parse or names
 * a variable ingressd cannot give.
 */
export function parseHashKey(key: string): HashKeyPart[] | string {
  if (!/^[A-Za-z0-9\-_${}]*$/.test(key)) return `only letters, digits, "-", "_" and nginx variables ($name or \${name}) may appear`;
  const parts: HashKeyPart[] = [];
  const re = /\$\{([A-Za-z0-9_]+)\}|\$([A-Za-z0-9_]+)|([^$]+)|(\$)/gy;
  for (let m = re.exec(key); m; m = re.exec(key)) {
    if (m[3] !== undefined) {
      parts.push({ text: m[3] });
      continue;
    }
    if (m[4] !== undefined) return `a "$" names no variable`;
    const name = (m[1] ?? m[2])!;
    const lower = name.toLowerCase();
    if (KNOWN.has(lower)) {
      parts.push({ variable: lower as HashVariable });
      continue;
    }
    const byName = BY_NAME.find(([prefix]) => lower.startsWith(prefix) && name.length > prefix.length);
    if (!byName) return `unknown variable $${name} (ingressd knows $${HASH_VARIABLES.join(", $")}, $http_<header>, $cookie_<name>, $arg_<name>)`;
    parts.push(byName[1](name.slice(byName[0].length)));
  }
  return parts;
}
