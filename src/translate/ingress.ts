import type { IngressBackend } from "kubernetes-types/networking/v1.js";
import type { Loaded, ResourceSet } from "../config/resources.js";
import { NGINX_PREFIX } from "../config/nginx/annotationReader.js";
import { readNginxSettings } from "../config/nginx/settings.js";
import { backendKey, type BackendRef } from "../model/backendKey.js";
import { fieldPath, type ConfigIssue, type DroppedRule, type SourceLocation } from "../model/issues.js";
import { regexPathProblem } from "../model/regexPath.js";
import type { BalancePolicy, Filter, PathType, Route, RouteMatch } from "../model/route.js";
import { ResourceOrigin } from "./resourceOrigin.js";
import { byPrecedence, classNames, CONTROLLER_NAME, ingressClassOf, isServedIngress, servedClasses, type ClasslessIngresses } from "./ingressClass.js";
import { accessFilters } from "./nginx/access.js";
import { annotationsIgnoredOnCanary, canaryKey, mergeCanaries, type CanaryPath } from "./nginx/canary.js";
import { upstreamTls, withUpstreamProtocol } from "./nginx/backendProtocol.js";
import { corsFilters } from "./nginx/cors.js";
import { httpsRedirectFilters } from "./nginx/httpsRedirect.js";
import { bodyLimitFilters, rateLimitFilters, timeoutFilters } from "./nginx/limits.js";
import { appRootFilters, redirectFilters, requestHeaderFilters, rewriteFilters } from "./nginx/rewrite.js";
import { regexHosts } from "./nginx/regexHosts.js";
import type { RouteContext } from "./nginx/routeContext.js";
import { wwwCounterpart, wwwRedirectFilter } from "./nginx/wwwRedirect.js";

export interface TranslateOptions {
  /** The class this instance serves (`--ingress-class`). */
  ingressClass: string;
  /** Whether a rule host is listed in some served Ingress's `spec.tls` (HTTPS redirects). */
  isTlsHost?: (host: string) => boolean;
  /** Which Ingresses without a class are served (default: all of them). */
  classless?: ClasslessIngresses;
}

export interface IgnoredIngress {
  ingress: string;
  reason: string;
  source: SourceLocation;
}

export interface TranslatedIngresses {
  /** In precedence order: where two routes claim the same match, the earlier one wins. */
  routes: Route[];
  /** `spec.defaultBackend` of the first Ingress (by precedence) that has one. */
  defaultBackend?: Route;
  issues: ConfigIssue[];
  ignored: IgnoredIngress[];
}

/**
 * Served Ingresses (and their ingress-nginx annotations) → routes of the one route
 * model. Pure: same input, same routes.
 */
export function translateIngresses(resources: ResourceSet, options: TranslateOptions): TranslatedIngresses {
  const issues: ConfigIssue[] = [];
  const ignored: IgnoredIngress[] = [];
  const routes: Route[] = [];
  let defaultBackend: Route | undefined;
  const services = new Map(resources.services.map((s) => [`${s.namespace}/${s.name}`, s]));
  const classes = servedClasses(resources, options.ingressClass, options.classless);
  const isTlsHost = options.isTlsHost ?? (() => false);
  const resolved = new Map<string, BackendRef | string>();
  /** The first (winning) main route of each host, path and pathType, which a canary may join. */
  const mainRoutes = new Map<string, Route>();
  const canaries: CanaryPath[] = [];
  const regex = regexHosts(resources.ingresses.filter((ing) => isServedIngress(ing, classes)));
  /** Every rule host of a served Ingress: a from-to-www redirect never takes a name some rule serves. */
  const ruleHosts = new Set<string | null>();
  const wwwRedirects: Route[] = [];
  /** app-root's `/` of each host, ahead of every path: nginx answers it before choosing a location. */
  const appRoots: Route[] = [];

  const anyCanary = resources.ingresses.some((ing) => String(ing.object.metadata?.annotations?.[`${NGINX_PREFIX}canary`] ?? "").trim() === "true");
  for (const ing of byPrecedence(resources.ingresses)) {
    if (!isServedIngress(ing, classes)) {
      const cls = ingressClassOf(ing);
      ignored.push({
        ingress: `${ing.namespace}/${ing.name}`,
        reason:
          cls === undefined
            ? `it has no ingress class, and no IngressClass of ingressd's is the cluster's default (serving: ${classNames(classes)})`
            : `ingress class "${cls}" is not served here (serving: ${classNames(classes)})`,
        source: ing.source,
      });
      // In a cluster, other controllers' Ingresses are theirs, not mistakes.
      if (cls === undefined || options.classless === "default-class") continue;
      // A folder written for another controller is the commonest first-run surprise: say how to serve it.
      const at = ing.object.spec?.ingressClassName !== undefined ? ["spec", "ingressClassName"] : ["metadata", "annotations", "kubernetes.io/ingress.class"];
      issues.push({
        severity: "warning",
        code: "other-ingress-class",
        message:
          `Ingress ${ing.namespace}/${ing.name} has class "${cls}", which this ingressd does not serve (it serves ${classNames(classes).split(", ").map((c) => `"${c}"`).join(", ")}): ` +
          `run with --ingress-class ${cls}, or add an IngressClass named ${cls} with spec.controller ${CONTROLLER_NAME}`,
        field: fieldPath(at),
        resource: ing.id,
        ...ing.locate(at),
      });
      continue;
    }
    const spec = ing.object.spec ?? {};
    const ingressName = `${ing.namespace}/${ing.name}`;
    /** `dropped`: the rule an error keeps from being served (the dashboard says where its requests go now). */
    const issue = (severity: ConfigIssue["severity"], code: string, path: (string | number)[], message: string, dropped?: DroppedRule): void => {
      issues.push({ severity, code, message, field: fieldPath(path), resource: ing.id, ...ing.locate(path), ...(dropped ? { dropped: [dropped] } : {}) });
    };
    // Values were checked by validation: an Ingress with a bad one never gets here.
    const { settings, annotated } = readNginxSettings(ing.object.metadata?.annotations);
    const canary = settings.canary;
    if (canary) {
      for (const name of annotationsIgnoredOnCanary(ing.object.metadata?.annotations)) {
        issue("warning", "ignored-on-canary", ["metadata", "annotations", name],
          `${name} is ignored on a canary Ingress: requests it takes get the main Ingress's annotations, as in ingress-nginx`);
      }
    }
    const tls = upstreamTls(ing, settings, resources, issue);
    /** `[...at, field]` is where the backend is written (a path's `backend`, or `spec.defaultBackend`), built only for an issue. */
    const resolve = (backend: IngressBackend, at: (string | number)[], field: string, dropped: DroppedRule): BackendRef | undefined => {
      // Many paths name the same backend: resolve each (namespace, service, port) once.
      const port = backend.service?.port;
      const cacheKey = `${ing.namespace}/${backend.service?.name}:${port?.number ?? `name:${port?.name}`}`;
      let ref = resolved.get(cacheKey);
      if (ref === undefined) resolved.set(cacheKey, (ref = resolveBackend(ing, backend, services)));
      if (typeof ref === "string") {
        issue("error", "unknown-port", [...at, field, "service", "port"], ref, dropped);
        return undefined;
      }
      if (!services.has(`${ref.namespace}/${ref.service}`)) {
        const name = `${ref.namespace}/${ref.service}`;
        const error = resources.rejected?.get(`Service ${name}`);
        issue("warning", "unknown-service", [...at, field, "service", "name"], error
          ? `Service ${name} is invalid (see the error at ${error.file}:${error.line}) and is not served: requests to it get 503`
          : `Service ${name} is not defined; requests to it get 503 until it is`);
      }
      return withUpstreamProtocol(ref, tls, settings, settings.serviceUpstream && serviceUpstreamPossible(ref));
    };
    /** The Services service-upstream could not send to the cluster IP of, told once each. */
    const withoutClusterIp = new Set<string>();
    /** service-upstream needs a cluster IP to send to: a Service from a file usually has none (its endpoints are used, with a warning). */
    const serviceUpstreamPossible = (ref: BackendRef): boolean => {
      const name = `${ref.namespace}/${ref.service}`;
      const spec = services.get(name)?.object.spec;
      if (!spec || spec.type === "ExternalName") return false;
      if (spec.clusterIP && spec.clusterIP !== "None") return true;
      if (!withoutClusterIp.has(name)) {
        withoutClusterIp.add(name);
        issue("warning", "service-upstream-without-cluster-ip", ["metadata", "annotations", `${NGINX_PREFIX}service-upstream`],
          `Service ${name} has no cluster IP (spec.clusterIP ${spec.clusterIP === "None" ? "is None: a headless Service" : "is not set"}): requests go to its endpoints instead`);
      }
      return false;
    };

    (spec.rules ?? []).forEach((rule, i) => {
      const host = rule.host ?? null;
      ruleHosts.add(host);
      (rule.http?.paths ?? []).forEach((p, j) => {
        const at = ["spec", "rules", i, "http", "paths", j];
        const path = p.path || "/";
        const backend = resolve(p.backend, at, "backend", { host, path });
        if (!backend) return;
        // Keyed for canaries only when there are some: a string per path otherwise wasted on thousands of routes.
        const key = anyCanary ? canaryKey(host, path, pathTypeOf(p.pathType)) : "";
        if (canary) {
          // A canary serves no route of its own: it takes a share of its main Ingress's.
          canaries.push({ ingress: ingressName, key, backend, rules: canary, origin: new ResourceOrigin("Ingress", ing, at), issue: (severity, code, message) => issue(severity, code, at, message) });
          return;
        }
        const match: RouteMatch = { host, path, pathType: regex.has(host) ? "Regex" : pathTypeOf(p.pathType) };
        // This Ingress's own regex paths were checked by validation; another Ingress of the host can make a literal path one.
        const problem = match.pathType === "Regex" ? regexPathProblem(path) : undefined;
        if (problem !== undefined) {
          issue("error", "invalid-regex-path", [...at, "path"],
            `path "${path}" is not a valid regular expression (${problem}); use-regex or rewrite-target on host ${host ?? "*"} makes every path of the host one, as in ingress-nginx`, { host, path });
          return;
        }
        // Without nginx annotations only the HTTPS redirect of a TLS host can apply (most Ingresses: a reload builds thousands of routes).
        const ctx: RouteContext | undefined = annotated ? { ing, ingress: ingressName, host, path, at, settings, resources, isTlsHost, issue } : undefined;
        const filters = ctx ? filtersFor(ctx) : httpsRedirectFilters({ settings, host, isTlsHost });
        const route = ingressRoute(ing, at, match, filters, backend, balanceFor(settings.balance, path));
        routes.push(route);
        if (anyCanary && !mainRoutes.has(key)) mainRoutes.set(key, route);
        if (j > 0) return;
        // Routes of the rule's host that an annotation asks for, on the first path's backend (never reached: they answer).
        if (settings.appRoot !== undefined && ctx) {
          appRoots.push(ingressRoute(ing, annotationAt("app-root"), { host, path: "/", pathType: "Exact" }, appRootFilters(ctx), backend));
        }
        const other = host !== null && settings.fromToWwwRedirect ? wwwCounterpart(host) : undefined;
        if (other !== undefined) {
          wwwRedirects.push(ingressRoute(ing, annotationAt("from-to-www-redirect"), { host: other, path: "/", pathType: "Prefix" }, [wwwRedirectFilter(host!)], backend));
        }
      });
    });

    if (spec.defaultBackend && canary) {
      issue("warning", "ignored-on-canary", ["spec", "defaultBackend"], "a canary Ingress's spec.defaultBackend is not served by ingressd: it is ignored");
    } else if (spec.defaultBackend) {
      const at = ["spec", "defaultBackend"];
      const backend = resolve(spec.defaultBackend, ["spec"], "defaultBackend", { host: null, path: "/" });
      if (backend && defaultBackend) {
        issue("warning", "duplicate-default-backend", at,
          `a default backend is already set by Ingress ${defaultBackend.origin.name} at ${defaultBackend.origin.source.file}:${defaultBackend.origin.source.line}, which takes precedence`);
      } else if (backend) {
        defaultBackend = ingressRoute(ing, at, { host: null, path: "/", pathType: "Prefix" }, [], backend);
      }
    }
  }
  // After every rule is known: ingress-nginx skips the redirect when some Ingress defines the other name itself.
  for (const r of wwwRedirects) if (!ruleHosts.has(r.match.host)) routes.push(r);
  return { routes: [...appRoots, ...mergeCanaries(routes, mainRoutes, canaries)], ...(defaultBackend ? { defaultBackend } : {}), issues, ignored };
}

/** ImplementationSpecific is served as Prefix. */
function pathTypeOf(pathType: string): PathType {
  return pathType === "Exact" ? "Exact" : "Prefix";
}

/**
 * The filters an Ingress's annotations give each of its paths, in the order nginx's
 * phases run them for an ingress-nginx location: in the rewrite phase the CORS
 * preflight, the configured redirect, the rewrite and the HTTPS redirect; then limits
 * (pre-access); then allow/deny and auth (access); then what shapes the upstream request
 * (body size, headers, timeouts). (app-root, nginx's server-level redirect of `/`, runs
 * before any of these: it is a route of its own, ahead of the host's paths.)
 */
function filtersFor(ctx: RouteContext): Filter[] {
  const filters: Filter[] = [];
  for (const build of FILTER_BUILDERS) {
    const some = build(ctx);
    if (some.length > 0) filters.push(...some);
  }
  return filters;
}

const FILTER_BUILDERS: readonly ((ctx: RouteContext) => Filter[])[] = [
  corsFilters,
  redirectFilters,
  rewriteFilters,
  httpsRedirectFilters,
  rateLimitFilters,
  accessFilters,
  bodyLimitFilters,
  requestHeaderFilters,
  timeoutFilters,
];

/** Where an annotation of an Ingress is written, as the origin of a route it asks for. */
function annotationAt(name: string): (string | number)[] {
  return ["metadata", "annotations", NGINX_PREFIX + name];
}

function ingressRoute(ing: Loaded<"Ingress">, at: (string | number)[], match: RouteMatch, filters: Filter[], backend: BackendRef, balance?: BalancePolicy): Route {
  // A literal, not a spread: thousands of routes per reload keep one object shape.
  const route: { -readonly [K in keyof Route]: Route[K] } = { match, filters, backends: [{ backend, weight: 1 }], origin: new ResourceOrigin("Ingress", ing, at) };
  if (balance) route.balance = balance;
  return route;
}

/** The annotations' policy for one path: an affinity cookie without session-cookie-path is scoped to the Ingress path as written (ingress-nginx's `location_path`). */
function balanceFor(balance: BalancePolicy | undefined, path: string): BalancePolicy | undefined {
  if (balance?.kind !== "cookie" || balance.path !== undefined) return balance;
  return { ...balance, path };
}

/** A backend's key, with a named Service port resolved to its number; an error message if the port does not exist. */
function resolveBackend(ing: Loaded<"Ingress">, backend: IngressBackend, services: Map<string, Loaded<"Service">>): BackendRef | string {
  const svcRef = backend.service!;
  const namespace = ing.namespace;
  const svc = services.get(`${namespace}/${svcRef.name}`);
  const wanted = svcRef.port?.number ?? svcRef.port?.name ?? "";
  let port: number | string = wanted;
  if (svc) {
    const ports = svc.object.spec?.ports ?? [];
    const found = typeof wanted === "number" ? ports.find((p) => p.port === wanted) : ports.find((p) => p.name === wanted);
    // An ExternalName Service may declare no ports: the backend's port number is then used as is.
    if (!found && !(ports.length === 0 && typeof wanted === "number")) {
      const have = ports.map((p) => (p.name ? `${p.name} (${p.port})` : String(p.port))).join(", ") || "none";
      return `Service ${namespace}/${svcRef.name} has no port ${typeof wanted === "number" ? wanted : `named "${wanted}"`}; its ports: ${have}`;
    }
    if (found) port = found.port;
  }
  return { key: backendKey(namespace, svcRef.name, port), namespace, service: svcRef.name, port };
}
