import { splitCidr } from "../../net/cidr.js";
import type { AnnotationReader } from "./annotationReader.js";

/** What whitelist/allowlist/denylist-source-range, auth-type, auth-secret, auth-secret-type, auth-realm ask for. */
export interface AccessSettings {
  /** Client ranges let through (as written, trimmed); empty = everyone not denied. */
  sourceAllow: string[];
  /** Client ranges refused, judged before `sourceAllow` (nginx writes deny lines first). */
  sourceDeny: string[];
  /** Set when auth-type is. */
  auth?: AuthSettings;
}

export interface AuthSettings {
  /** digest is not served: its routes answer 503 rather than open. */
  type: "basic" | "digest";
  /** The Secret; no namespace = the Ingress's own. */
  secret: { namespace?: string; name: string };
  /** auth-file: an htpasswd text under key `auth`; auth-map: one key per user, the hash as value. */
  secretType: "auth-file" | "auth-map";
  realm: string;
}

/** ingress-nginx's validators: BasicCharsRegex for the Secret's name, CharsWithSpace for the realm. */
const SECRET_REF = /^(?:[a-z0-9.-]+\/)?[a-z0-9.-]+$/i;
const REALM = /^[/\-._~a-zA-Z0-9: ]*$/;

/**
 * ingress-nginx docs, "Whitelist source range", "Denylist source range", "Authentication".
 * allowlist-source-range is the code's name and whitelist-source-range its alias: the
 * alias counts only when the name itself is absent or empty.
 */
export function readAccess(a: AnnotationReader): AccessSettings {
  const allowlist = a.get("allowlist-source-range");
  const whitelist = a.get("whitelist-source-range");
  if (allowlist && whitelist) a.warn("whitelist-source-range", `is ignored: allowlist-source-range ("${allowlist}") is set and takes precedence`);
  const sourceAllow = allowlist ? ranges(a, "allowlist-source-range", allowlist) : whitelist ? ranges(a, "whitelist-source-range", whitelist) : [];
  const deny = a.get("denylist-source-range");
  const sourceDeny = deny ? ranges(a, "denylist-source-range", deny) : [];
  const auth = readAuth(a);
  return { sourceAllow, sourceDeny, ...(auth ? { auth } : {}) };
}

/** Comma-separated CIDRs or plain addresses (a /32 or /128), IPv4 or IPv6; duplicates dropped. */
function ranges(a: AnnotationReader, name: string, value: string): string[] {
  const out = new Set<string>();
  for (const raw of value.split(",")) {
    const entry = raw.trim();
    if (!splitCidr(entry)) {
      a.error(name, `must be comma-separated CIDRs or addresses such as 10.0.0.0/24,172.10.0.1 or ::1; "${entry}" is neither (in "${value}")`);
      return [];
    }
    out.add(entry);
  }
  return [...out];
}

function readAuth(a: AnnotationReader): AuthSettings | undefined {
  const type = a.get("auth-type");
  const secret = a.get("auth-secret");
  const secretType = a.get("auth-secret-type");
  const realm = a.get("auth-realm");
  if (!type) {
    for (const [name, v] of [["auth-secret", secret], ["auth-secret-type", secretType], ["auth-realm", realm]] as const) {
      if (v) a.warn(name, `is ignored without auth-type (as in ingress-nginx): requests are not authenticated`);
    }
    return undefined;
  }
  let ok = true;
  if (type !== "basic" && type !== "digest") {
    a.error("auth-type", `must be "basic" or "digest", not "${type}"`);
    ok = false;
  }
  if (!secret) {
    a.error("auth-secret", `is required with auth-type "${type}": the Secret holding the users (name or namespace/name)`);
    ok = false;
  } else if (!SECRET_REF.test(secret)) {
    a.error("auth-secret", `must name a Secret as name or namespace/name, not "${secret}"`);
    ok = false;
  }
  if (secretType !== undefined && secretType !== "auth-file" && secretType !== "auth-map") {
    a.error("auth-secret-type", `must be "auth-file" or "auth-map", not "${secretType}"`);
    ok = false;
  }
  if (realm !== undefined && !REALM.test(realm)) {
    a.error("auth-realm", `may hold only letters, digits, spaces and / - . _ ~ :, not "${realm}"`);
    ok = false;
  }
  if (!ok) return undefined;
  if (type === "digest") a.warn("auth-type", `"digest" is not supported by ingressd: the Ingress's paths answer 503 (never served without authentication); use "basic"`);
  const slash = secret!.indexOf("/");
  return {
    type: type as AuthSettings["type"],
    secret: slash < 0 ? { name: secret! } : { namespace: secret!.slice(0, slash), name: secret!.slice(slash + 1) },
    secretType: (secretType as AuthSettings["secretType"] | undefined) ?? "auth-file",
    realm: realm ?? "",
  };
}
