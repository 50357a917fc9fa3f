import { NGINX_PREFIX } from "../../config/nginx/annotationReader.js";
import type { CanaryRules } from "../../config/nginx/canary.js";
import type { BackendRef } from "../../model/backendKey.js";
import type { ConfigIssue } from "../../model/issues.js";
import type { CookieMatch, HeaderMatch, PathType, Route, RouteOrigin, WeightedBackend } from "../../model/route.js";

/** One path of a canary Ingress: the main route it takes a share of is the one with the same host, path and pathType. */
export interface CanaryPath {
  /** `namespace/name` of the canary Ingress. */
  ingress: string;
  /** From `canaryKey`. */
  key: string;
  backend: BackendRef;
  rules: CanaryRules;
  /** The canary's path: where the routes it adds are written. */
  origin: RouteOrigin;
  /** Reports a problem at this path of the canary Ingress. */
  issue(severity: ConfigIssue["severity"], code: string, message: string): void;
}

/**
 * What a canary and its main Ingress must share, as ingress-nginx compares them: the
 * host (none = every host), the path as written and its pathType as the spec gives it.
 */
export function canaryKey(host: string | null, path: string, pathType: PathType): string {
  return `${host?.toLowerCase() ?? ""} ${pathType} ${path}`;
}

/**
 * The main routes (in precedence order) with the canaries merged in. A main route with
 * a canary becomes, in the order ingress-nginx's balancer decides: routes on the
 * canary's header, then on its cookie (the routing table tries routes with conditions
 * first, in this order), then the main route itself with its backend split by weight.
 * Every one of them keeps the main route's filters: as in ingress-nginx, where the
 * canary has no location of its own, the main Ingress's annotations apply to both.
 */
export function mergeCanaries(routes: Route[], mainRoutes: ReadonlyMap<string, Route>, canaries: readonly CanaryPath[]): Route[] {
  if (canaries.length === 0) return routes;
  const applied = new Map<Route, CanaryPath>();
  for (const c of canaries) {
    const main = mainRoutes.get(c.key);
    if (!main) {
      c.issue("error", "canary-without-main",
        `Ingress ${c.ingress} is a canary (nginx.ingress.kubernetes.io/canary: "true"), but no main Ingress routes this host, path and pathType: the canary gets no traffic`);
      continue;
    }
    const where = `${main.match.host ?? "*"} ${main.match.path}`;
    const taken = applied.get(main);
    if (taken) {
      c.issue("warning", "second-canary", `Ingress ${taken.ingress} is already the canary of ${where}; only one canary per path is used (as in ingress-nginx), so this one gets no traffic`);
    } else if (main.backends.some((b) => b.backend.key === c.backend.key)) {
      c.issue("warning", "canary-same-backend", `the canary's backend ${c.backend.key} is the main Ingress's own backend for ${where}: there is nothing to split`);
    } else {
      applied.set(main, c);
    }
  }
  return routes.flatMap((r) => {
    const c = applied.get(r);
    return c ? withCanary(r, c) : [r];
  });
}

function withCanary(main: Route, c: CanaryPath): Route[] {
  const { header, cookie, weight, weightTotal } = c.rules;
  const toCanary: WeightedBackend[] = [{ backend: c.backend, weight: 1, canary: true }];
  const toMain = main.backends;
  const when = (condition: { headers: HeaderMatch[] } | { cookies: CookieMatch[] }, backends: readonly WeightedBackend[]): Route => ({
    ...main,
    match: { ...main.match, ...condition },
    backends,
    origin: c.origin,
  });
  const out: Route[] = [];
  // balancer.lua: a header with any other value (or none) falls through to the cookie, then the weight.
  if (header?.value !== undefined) {
    out.push(when({ headers: [{ name: header.name, type: "Exact", value: header.value }] }, toCanary));
  } else if (header?.pattern !== undefined) {
    out.push(when({ headers: [{ name: header.name, type: "Regex", value: header.pattern }] }, toCanary));
  } else if (header) {
    out.push(when({ headers: [{ name: header.name, type: "Exact", value: "always" }] }, toCanary));
    out.push(when({ headers: [{ name: header.name, type: "Exact", value: "never" }] }, toMain));
  }
  if (cookie !== undefined) {
    out.push(when({ cookies: [{ name: cookie, value: "always" }] }, toCanary));
    out.push(when({ cookies: [{ name: cookie, value: "never" }] }, toMain));
  }
  if (weight === 0) {
    out.push(main);
  } else {
    const [primary] = toMain;
    out.push({ ...main, backends: [{ ...primary!, weight: weightTotal - weight }, { backend: c.backend, weight, canary: true }] });
  }
  return out;
}

/**
 * A canary Ingress has no location of its own in ingress-nginx: its other annotations
 * are ignored, the main Ingress's apply. Said once per annotation instead of silently.
 */
export function annotationsIgnoredOnCanary(annotations: Readonly<Record<string, string>> | undefined): string[] {
  return Object.keys(annotations ?? {}).filter((n) => n.startsWith(NGINX_PREFIX) && !n.startsWith(`${NGINX_PREFIX}canary`));
}
