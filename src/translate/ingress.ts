import type { IngressBackend } from "kubernetes-types/networking/v1.js";
import type { Loaded, ResourceSet } from "../config/resources.js";
import { fieldPath, type ConfigIssue, type SourceLocation } from "../model/issues.js";
import { PathMatcher } from "../routing/pathMatcher.js";
import { backendKey, type BackendRef, type PathType, type Route } from "../routing/route.js";
import { RouteTable } from "../routing/routeTable.js";

export const CONTROLLER_NAME = "ingressd.io/ingress-controller";

export interface CompileOptions {
  /** The class this instance serves (`--ingress-class`). */
  ingressClass: string;
  /** Whether a rule host is listed in some served Ingress's `spec.tls` (HTTPS redirects). */
  isTlsHost?: (host: string) => boolean;
}

/** ingress-nginx's annotations for the HTTP → HTTPS redirect, honoured per Ingress. */
export const SSL_REDIRECT = "nginx.ingress.kubernetes.io/ssl-redirect";
export const FORCE_SSL_REDIRECT = "nginx.ingress.kubernetes.io/force-ssl-redirect";

/** The ingress classes served: `--ingress-class`, and IngressClasses naming ingressd's controller. */
export function servedClasses(resources: ResourceSet, ingressClass: string): Set<string> {
  const classes = new Set([ingressClass]);
  for (const c of resources.ingressClasses) if (c.object.spec?.controller === CONTROLLER_NAME) classes.add(c.name);
  return classes;
}

function ingressClassOf(ing: Loaded<"Ingress">): string | undefined {
  return ing.object.spec?.ingressClassName ?? ing.object.metadata?.annotations?.["kubernetes.io/ingress.class"];
}

/** Whether this instance serves `ing` (its class is one of `classes`, or it has none). */
export function isServedIngress(ing: Loaded<"Ingress">, classes: ReadonlySet<string>): boolean {
  const cls = ingressClassOf(ing);
  return cls === undefined || classes.has(cls);
}

export interface IgnoredIngress {
  ingress: string;
  reason: string;
  source: SourceLocation;
}

export interface CompiledRoutes {
  table: RouteTable;
  issues: ConfigIssue[];
  ignored: IgnoredIngress[];
}

/** Compiles every served Ingress into one immutable table. Pure: same input, same table. */
export function compileRoutes(resources: ResourceSet, options: CompileOptions): CompiledRoutes {
  const issues: ConfigIssue[] = [];
  const ignored: IgnoredIngress[] = [];
  const services = new Map(resources.services.map((s) => [`${s.namespace}/${s.name}`, s]));

  const classes = servedClasses(resources, options.ingressClass);
  const isTlsHost = options.isTlsHost ?? (() => false);

  const exactHosts = new Map<string, PathMatcher>();
  const wildcardHosts = new Map<string, PathMatcher>();
  const anyHost = new PathMatcher();
  let defaultBackend: Route | undefined;
  const resolved = new Map<string, BackendRef | string>();

  const issue = (ing: Loaded<"Ingress">, severity: ConfigIssue["severity"], code: string, path: (string | number)[], message: string): void => {
    issues.push({ severity, code, message, field: fieldPath(path), resource: ing.id, ...ing.locate(path) });
  };

  for (const ing of byPrecedence(resources.ingresses)) {
    const spec = ing.object.spec ?? {};
    if (!isServedIngress(ing, classes)) {
      const cls = ingressClassOf(ing);
      ignored.push({
        ingress: `${ing.namespace}/${ing.name}`,
        reason: `ingress class "${cls}" is not served here (serving: ${[...classes].join(", ")})`,
        source: ing.source,
      });
      continue;
    }
    const ingressName = `${ing.namespace}/${ing.name}`;
    const annotations = ing.object.metadata?.annotations ?? {};
    const sslRedirect = annotations[SSL_REDIRECT] !== "false";
    const forceSslRedirect = annotations[FORCE_SSL_REDIRECT] === "true";
    const resolve = (backend: IngressBackend, at: (string | number)[]): BackendRef | undefined => {
      // Many paths name the same backend: resolve each (namespace, service, port) once.
      const port = backend.service?.port;
      const cacheKey = `${ing.namespace}/${backend.service?.name}:${port?.number ?? `name:${port?.name}`}`;
      let ref = resolved.get(cacheKey);
      if (ref === undefined) resolved.set(cacheKey, (ref = resolveBackend(ing, backend, services)));
      if (typeof ref === "string") {
        issue(ing, "error", "unknown-port", [...at, "service", "port"], ref);
        return undefined;
      }
      if (!services.has(`${ref.namespace}/${ref.service}`)) {
        issue(ing, "warning", "unknown-service", [...at, "service", "name"], `Service ${ref.namespace}/${ref.service} is not defined; requests to it get 503 until it is`);
      }
      return ref;
    };

    (spec.rules ?? []).forEach((rule, i) => {
      const host = rule.host ?? null;
      // ingress-nginx: a TLS host's plain-HTTP requests are redirected unless this Ingress
      // says ssl-redirect "false"; force-ssl-redirect redirects even without TLS.
      const redirect = forceSslRedirect || (host !== null && sslRedirect && isTlsHost(host));
      let matcher: PathMatcher;
      if (host === null) matcher = anyHost;
      else if (host.startsWith("*.")) matcher = getOrCreate(wildcardHosts, host.slice(2));
      else matcher = getOrCreate(exactHosts, host);
      (rule.http?.paths ?? []).forEach((p, j) => {
        const at = ["spec", "rules", i, "http", "paths", j];
        const backend = resolve(p.backend, [...at, "backend"]);
        if (!backend) return;
        const route = new CompiledRoute(host, p.path || "/", p.pathType as PathType, backend, ingressName, redirect, () => ing.locate(at));
        const winner = matcher.add(route);
        if (winner) {
          issue(ing, "warning", "duplicate-path", [...at, "path"],
            `${host ?? "*"} ${route.path} (${route.pathType}) is already routed by Ingress ${winner.ingress} at ${winner.source.file}:${winner.source.line}, which takes precedence; this path is not served`);
        }
      });
    });

    if (spec.defaultBackend) {
      const at = ["spec", "defaultBackend"];
      const backend = resolve(spec.defaultBackend, at);
      if (backend && defaultBackend) {
        issue(ing, "warning", "duplicate-default-backend", at,
          `a default backend is already set by Ingress ${defaultBackend.ingress} at ${defaultBackend.source.file}:${defaultBackend.source.line}, which takes precedence`);
      } else if (backend) {
        defaultBackend = new CompiledRoute(null, "/", "Prefix", backend, ingressName, false, () => ing.locate(at));
      }
    }
  }

  return {
    table: new RouteTable(exactHosts, wildcardHosts, anyHost.size > 0 ? anyHost : undefined, defaultBackend),
    issues,
    ignored,
  };
}

/**
 * Older creationTimestamp first (resources without one count as newest), then file
 * path, then document order — the order conflicts are settled in.
 */
export function byPrecedence(ingresses: readonly Loaded<"Ingress">[]): Loaded<"Ingress">[] {
  const time = (i: Loaded<"Ingress">): number => {
    const t = i.object.metadata?.creationTimestamp;
    const ms = t ? Date.parse(t) : NaN;
    return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
  };
  return [...ingresses].sort(
    (a, b) => time(a) - time(b) || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.docIndex - b.docIndex,
  );
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

/** A route whose source position is looked up only when shown (it costs a positional parse). */
class CompiledRoute implements Route {
  private located: SourceLocation | undefined;
  constructor(
    readonly host: string | null,
    readonly path: string,
    readonly pathType: PathType,
    readonly backend: BackendRef,
    readonly ingress: string,
    readonly redirectToHttps: boolean,
    private readonly locate: () => SourceLocation,
  ) {}
  get source(): SourceLocation {
    return (this.located ??= this.locate());
  }
  toJSON(): object {
    return { host: this.host, path: this.path, pathType: this.pathType, backend: this.backend, ingress: this.ingress, redirectToHttps: this.redirectToHttps, source: this.source };
  }
}

function getOrCreate(map: Map<string, PathMatcher>, key: string): PathMatcher {
  let m = map.get(key);
  if (!m) map.set(key, (m = new PathMatcher()));
  return m;
}
