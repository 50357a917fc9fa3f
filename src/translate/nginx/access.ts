import { secretField } from "../../config/certificates.js";
import type { AuthSettings } from "../../config/nginx/access.js";
import { NGINX_PREFIX } from "../../config/nginx/annotationReader.js";
import type { NginxSettings } from "../../config/nginx/settings.js";
import type { BasicAuthFilter, Filter } from "../../model/route.js";
import { parseHtpasswd, unsupportedHash } from "./htpasswd.js";
import type { RouteContext } from "./routeContext.js";

/**
 * An Ingress's settings are read once per translation and shared by all its paths: the
 * access filters (and the problems of its Secret) are built once per Ingress, not per path.
 */
const perIngress = new WeakMap<NginxSettings, Filter[]>();

/**
 * ingress-nginx docs, "Whitelist source range", "Denylist source range", "Authentication":
 * the access phase, where nginx's deny/allow lines (403) come before auth_basic (401) and
 * both must pass (satisfy all).
 */
export function accessFilters(ctx: RouteContext): Filter[] {
  let filters = perIngress.get(ctx.settings);
  if (!filters) {
    filters = buildAccessFilters(ctx);
    perIngress.set(ctx.settings, filters);
  }
  return filters;
}

function buildAccessFilters(ctx: RouteContext): Filter[] {
  const { sourceAllow, sourceDeny, auth } = ctx.settings;
  const filters: Filter[] = [];
  if (sourceAllow.length > 0 || sourceDeny.length > 0) filters.push({ type: "accessList", allow: sourceAllow, deny: sourceDeny });
  if (auth) filters.push(basicAuthFilter(ctx, auth));
  return filters;
}

/**
 * The users of the auth Secret, read now (a changed Secret is a new configuration). A
 * Secret ingressd cannot use leaves the paths answering 503, as ingress-nginx denies the
 * location: an error at auth-secret says so.
 */
function basicAuthFilter(ctx: RouteContext, auth: AuthSettings): BasicAuthFilter {
  const namespace = auth.secret.namespace ?? ctx.ing.namespace;
  const ref = `${namespace}/${auth.secret.name}`;
  const at = ["metadata", "annotations", `${NGINX_PREFIX}auth-secret`];
  const unavailable = (code: string, reason: string): BasicAuthFilter => {
    ctx.issue("error", code, at, `${NGINX_PREFIX}auth-secret: ${reason}; the Ingress's paths are served but answer 503 until that is fixed`);
    return { type: "basicAuth", realm: auth.realm, users: {}, secret: ref, unavailable: reason };
  };
  // The reader already warned that digest is not served.
  if (auth.type === "digest") return { type: "basicAuth", realm: auth.realm, users: {}, secret: ref, unavailable: "digest authentication is not supported" };
  if (namespace !== ctx.ing.namespace) {
    return unavailable("auth-secret-namespace", `Secret ${ref} is in another namespace than the Ingress; as ingress-nginx by default (allow-cross-namespace-resources: false), it is not used`);
  }
  const secret = ctx.resources.secrets.find((s) => s.namespace === namespace && s.name === auth.secret.name)?.object;
  if (!secret) return unavailable("auth-secret-missing", `Secret ${ref} does not exist`);

  let users: Record<string, string>;
  const problems: string[] = [];
  if (auth.secretType === "auth-file") {
    const text = secretField(secret, "auth");
    if (text === undefined) return unavailable("auth-secret-no-auth", `Secret ${ref} has no key "auth" (data or stringData) holding the htpasswd users`);
    const parsed = parseHtpasswd(text);
    users = parsed.users;
    for (const p of parsed.problems) problems.push(`key "auth" line ${p.line}: ${p.message}`);
  } else {
    // auth-map: each key is a user, its value the hash.
    const entries: [string, string][] = [];
    for (const user of new Set([...Object.keys(secret.data ?? {}), ...Object.keys(secret.stringData ?? {})])) {
      const hash = secretField(secret, user)!.trim();
      const why = unsupportedHash(hash);
      if (why) problems.push(`key "${user}": ${why}`);
      else entries.push([user, hash]);
    }
    users = Object.fromEntries(entries);
  }
  for (const p of problems) ctx.issue("warning", "auth-secret-user", at, `${NGINX_PREFIX}auth-secret: Secret ${ref}, ${p}; ignored`);
  if (Object.keys(users).length === 0) ctx.issue("warning", "auth-secret-no-users", at, `${NGINX_PREFIX}auth-secret: Secret ${ref} holds no usable user: every request gets 401`);
  return { type: "basicAuth", realm: auth.realm, users, secret: ref };
}
