import type { IngressBackend } from "kubernetes-types/networking/v1.js";
import type { Loaded, ResourceSet } from "../config/resources.js";
import { readNginxSettings } from "../config/nginx/settings.js";
import { backendKey, type BackendRef } from "../model/backendKey.js";
import { fieldPath, type ConfigIssue, type SourceLocation } from "../model/issues.js";
import type { BalancePolicy, Filter, PathType, Route, RouteMatch, RouteOrigin } from "../model/route.js";
import { byPrecedence, ingressClassOf, isServedIngress, servedClasses } from "./ingressClass.js";
import { accessFilters } from "./nginx/access.js";
import { corsFilters } from "./nginx/cors.js";
import { httpsRedirectFilters } from "./nginx/httpsRedirect.js";
import { bodyLimitFilters, rateLimitFilters, timeoutFilters } from "./nginx/limits.js";
import { appRootFilters, redirectFilters, requestHeaderFilters, rewriteFilters } from "./nginx/rewrite.js";
import type { RouteContext } from "./nginx/routeContext.js";

export interface TranslateOptions {
  /** The class this instance serves (`--ingress-class`). */
  ingressClass: string;
  /** Whether a rule host is listed in some served Ingress's `spec.tls` (HTTPS redirects). */
  isTlsHost?: (host: string) => boolean;
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
  const classes = servedClasses(resources, options.ingressClass);
  const isTlsHost = options.isTlsHost ?? (() => false);
  const resolved = new Map<string, BackendRef | string>();

  for (const ing of byPrecedence(resources.ingresses)) {
    if (!isServedIngress(ing, classes)) {
      ignored.push({
        ingress: `${ing.namespace}/${ing.name}`,
        reason: `ingress class "${ingressClassOf(ing)}" is not served here (serving: ${[...classes].join(", ")})`,
        source: ing.source,
      });
      continue;
    }
    const spec = ing.object.spec ?? {};
    const ingressName = `${ing.namespace}/${ing.name}`;
    const issue = (severity: ConfigIssue["severity"], code: string, path: (string | number)[], message: string): void => {
      issues.push({ severity, code, message, field: fieldPath(path), resource: ing.id, ...ing.locate(path) });
    };
    // Values were checked by validation: an Ingress with a bad one never gets here.
    const { settings } = readNginxSettings(ing.object.metadata?.annotations);
    const resolve = (backend: IngressBackend, at: (string | number)[]): BackendRef | undefined => {
      // Many paths name the same backend: resolve each (namespace, service, port) once.
      const port = backend.service?.port;
      const cacheKey = `${ing.namespace}/${backend.service?.name}:${port?.number ?? `name:${port?.name}`}`;
      let ref = resolved.get(cacheKey);
      if (ref === undefined) resolved.set(cacheKey, (ref = resolveBackend(ing, backend, services)));
      if (typeof ref === "string") {
        issue("error", "unknown-port", [...at, "service", "port"], ref);
        return undefined;
      }
      if (!services.has(`${ref.namespace}/${ref.service}`)) {
        issue("warning", "unknown-service", [...at, "service", "name"], `Service ${ref.namespace}/${ref.service} is not defined; requests to it get 503 until it is`);
      }
      return ref;
    };

    (spec.rules ?? []).forEach((rule, i) => {
      const host = rule.host ?? null;
      (rule.http?.paths ?? []).forEach((p, j) => {
        const at = ["spec", "rules", i, "http", "paths", j];
        const backend = resolve(p.backend, [...at, "backend"]);
        if (!backend) return;
        const path = p.path || "/";
        const match: RouteMatch = { host, path, pathType: pathTypeOf(p.pathType) };
        const ctx: RouteContext = { ing, ingress: ingressName, host, path, at, settings, resources, isTlsHost, issue };
        routes.push(ingressRoute(ing, at, match, filtersFor(ctx), backend, balanceFor(settings.balance, path)));
      });
    });

    if (spec.defaultBackend) {
      const at = ["spec", "defaultBackend"];
      const backend = resolve(spec.defaultBackend, at);
      if (backend && defaultBackend) {
        issue("warning", "duplicate-default-backend", at,
          `a default backend is already set by Ingress ${defaultBackend.origin.name} at ${defaultBackend.origin.source.file}:${defaultBackend.origin.source.line}, which takes precedence`);
      } else if (backend) {
        defaultBackend = ingressRoute(ing, at, { host: null, path: "/", pathType: "Prefix" }, [], backend);
      }
    }
  }
  return { routes, ...(defaultBackend ? { defaultBackend } : {}), issues, ignored };
}

/** ImplementationSpecific is served as Prefix. */
function pathTypeOf(pathType: string): PathType {
  return pathType === "Exact" ? "Exact" : "Prefix";
}

/**
 * The filters an Ingress's annotations give each of its paths, in the order nginx's
 * phases run them for an ingress-nginx location: the server's app-root redirect; in the
 * rewrite phase the CORS preflight, the configured redirect, the rewrite and the HTTPS
 * redirect; then limits (pre-access); then allow/deny and auth (access); then what
 * shapes the upstream request (body size, headers, timeouts).
 */
function filtersFor(ctx: RouteContext): Filter[] {
  return [
    ...appRootFilters(ctx),
    ...corsFilters(ctx),
    ...redirectFilters(ctx),
    ...rewriteFilters(ctx),
    ...httpsRedirectFilters(ctx),
    ...rateLimitFilters(ctx),
    ...accessFilters(ctx),
    ...bodyLimitFilters(ctx),
    ...requestHeaderFilters(ctx),
    ...timeoutFilters(ctx),
  ];
}

function ingressRoute(ing: Loaded<"Ingress">, at: (string | number)[], match: RouteMatch, filters: Filter[], backend: BackendRef, balance?: BalancePolicy): Route {
  return { match, filters, backends: [{ backend, weight: 1 }], ...(balance ? { balance } : {}), origin: new IngressOrigin(ing, at) };
}

/** The annotations' policy for one path: an affinity cookie without session-cookie-path is scoped to the Ingress path as written (ingress-nginx's `location_path`). */
function balanceFor(balance: BalancePolicy | undefined, path: string): BalancePolicy | undefined {
  if (balance?.kind !== "cookie" || balance.path !== undefined) return balance;
  return { ...balance, path };
}

/** An Ingress route's origin; its source position is looked up only when shown (a positional parse costs). */
class IngressOrigin implements RouteOrigin {
  readonly kind = "Ingress";
  readonly name: string;
  readonly resource: string;
  readonly field: string;
  private located: SourceLocation | undefined;
  constructor(
    private readonly ing: Loaded<"Ingress">,
    private readonly at: (string | number)[],
  ) {
    this.name = `${ing.namespace}/${ing.name}`;
    this.resource = ing.id;
    this.field = fieldPath(at);
  }
  get source(): SourceLocation {
    return (this.located ??= this.ing.locate(this.at));
  }
  locate(below: readonly (string | number)[]): SourceLocation {
    return this.ing.locate([...this.at, ...below]);
  }
  toJSON(): object {
    return { kind: this.kind, name: this.name, field: this.field, source: this.source };
  }
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
