import { NGINX_PREFIX } from "../../config/nginx/annotationReader.js";

/** The annotations conversion writes in Gateway API terms (elsewhere in this folder). */
const CONVERTED = new Set([
  "ssl-redirect", "force-ssl-redirect", "permanent-redirect", "permanent-redirect-code", "temporal-redirect", "temporal-redirect-code",
  "rewrite-target", "use-regex", "app-root", "upstream-vhost", "x-forwarded-prefix",
  "canary", "canary-weight", "canary-weight-total", "canary-by-header", "canary-by-header-value", "canary-by-header-pattern",
]);

/** Why a group of annotations has no Gateway API (v1, standard channel) form. */
const REASONS: [RegExp, string][] = [
  [/^limit-(rps|rpm|connections|burst-multiplier|allowlist|whitelist|rate|rate-after)$/, "Gateway API has no rate or connection limit"],
  [/^(allowlist|whitelist|denylist)-source-range$/, "Gateway API has no client address filter"],
  [/^auth-/, "Gateway API has no authentication filter"],
  [/^(enable-cors|cors-)/, "the CORS filter (Gateway API v1.5, experimental) is not in the schema ingressd validates with (@kubernetes-models/gateway-api 0.5.1)"],
  [/^proxy-(read|send)-timeout$/, "it limits the wait between two reads or writes; timeouts.backendRequest limits the whole exchange, which is not the same"],
  [/^proxy-connect-timeout$/, "Gateway API has no connect timeout"],
  [/^proxy-body-size$/, "Gateway API has no request body limit"],
  [/^(affinity|session-cookie-|affinity-)/, "session persistence is experimental in Gateway API (not in the v1 schema)"],
  [/^(backend-protocol|proxy-ssl-)/, "the backend's protocol and TLS are a GRPCRoute or a BackendTLSPolicy, not an HTTPRoute field"],
  [/^canary-by-cookie$/, "a header match on Cookie compares the whole header, not one cookie: not the same"],
  [/^from-to-www-redirect$/, "write an HTTPRoute for the other name with a RequestRedirect to this one"],
  [/^(mirror-|load-balance|upstream-hash-by)/, "has no Gateway API form that means the same"],
];

/**
 * The nginx annotations of an Ingress that conversion leaves out, with why. On a canary
 * Ingress only its canary-* annotations count: ingress-nginx ignores the rest there.
 */
export function unconvertedAnnotations(annotations: Readonly<Record<string, string>> | undefined, canary: boolean): { name: string; reason: string }[] {
  const out: { name: string; reason: string }[] = [];
  for (const full of Object.keys(annotations ?? {})) {
    if (!full.startsWith(NGINX_PREFIX)) continue;
    const name = full.slice(NGINX_PREFIX.length);
    if (CONVERTED.has(name) || (canary && !name.startsWith("canary"))) continue;
    const reason = REASONS.find(([pattern]) => pattern.test(name))?.[1] ?? "has no Gateway API form";
    out.push({ name, reason: `${reason}; left out` });
  }
  return out;
}
