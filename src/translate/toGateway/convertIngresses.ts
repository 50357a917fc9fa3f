import { isIP } from "node:net";
import type { HTTPIngressPath } from "kubernetes-types/networking/v1.js";
import type { Loaded, ResourceSet } from "../../config/resources.js";
import type { CanaryRules } from "../../config/nginx/canary.js";
import { readNginxSettings, type NginxSettings } from "../../config/nginx/settings.js";
import { byPrecedence, classNames, ingressClassOf, isServedIngress, servedClasses } from "../ingressClass.js";
import { regexHosts } from "../nginx/regexHosts.js";
import { joinCanary } from "./canary.js";
import { gatewayFor, type HostTls } from "./gateway.js";
import {
  GATEWAY_API_VERSION, GATEWAY_CLASS_NAME, GATEWAY_CONTROLLER_NAME,
  GATEWAY_HOSTNAME, type BackendRef, type GatewayClassObject, type GatewayObject, type HTTPRouteObject, type RouteFilter, type RouteRule,
} from "./gatewayObjects.js";
import { LeftOutList, type LeftOut } from "./leftOut.js";
import { hostSlug, listenerName, objectName, UniqueNames } from "./names.js";
import { caseInsensitiveNote, pathMatch } from "./pathMatch.js";
import { appRootFilter, HTTPS_REDIRECT, redirectFilter } from "./redirects.js";
import { rewriteOf } from "./rewrite.js";
import { chunks, MAX_LISTENERS_PER_GATEWAY, MAX_RULES_PER_ROUTE } from "./schemaLimits.js";
import { serviceBackendRef } from "./serviceBackend.js";
import { unconvertedAnnotations } from "./unconvertedAnnotations.js";

export interface GatewayConversion {
  /** GatewayClass (when there is a Gateway), Gateways, then HTTPRoutes, in the order to print them. */
  documents: (GatewayClassObject | GatewayObject | HTTPRouteObject)[];
  /** Ingresses converted (canaries included). */
  converted: number;
  leftOut: LeftOut[];
}

/** One HTTPRoute being built: the routes of one Ingress for one host. */
interface RouteDraft {
  route: HTTPRouteObject;
  rules: RouteRule[];
  host: string | null;
  namespace: string;
  /** The ingress class: its Gateway is named after it (`--ingress-class` for an Ingress without one). */
  ingressClass: string;
  /** Rules whose plain-HTTP requests are redirected to HTTPS. */
  httpsOnly: Set<RouteRule>;
}

/**
 * The Gateway API equivalent of the Ingresses served with `ingressClass`, as
 * ingress2gateway writes it for ingress-nginx: per namespace and ingress class a Gateway
 * named after the class (listeners per host, HTTP and, with TLS, HTTPS), per Ingress and host an
 * HTTPRoute, annotations as filters and matches where Gateway API can say them; the
 * rest is listed, each at its line. Pure: same resources, same output.
 */
export function convertToGateway(resources: ResourceSet, ingressClass: string): GatewayConversion {
  const leftOut = new LeftOutList();
  const classes = servedClasses(resources, ingressClass);
  const services = new Map(resources.services.map((s) => [`${s.namespace}/${s.name}`, s]));
  const ingresses = byPrecedence(resources.ingresses);
  const served = ingresses.filter((ing) => {
    if (isServedIngress(ing, classes)) return true;
    const at = ing.object.spec?.ingressClassName !== undefined ? ["spec", "ingressClassName"] : ["metadata", "annotations", "kubernetes.io/ingress.class"];
    leftOut.add(ing, at, `class "${ingressClassOf(ing)}" is not served here (converting class ${classNames(classes)}; see --ingress-class): not converted`);
    return false;
  });
  const tls = tlsHosts(served, leftOut);
  const regex = regexHosts(served);
  const drafts: RouteDraft[] = [];
  /** The main rule of each namespace, host, path and pathType, which a canary joins. */
  const mainRules = new Map<string, { draft: RouteDraft; rule: RouteRule }>();
  const settingsOf = new Map(served.map((ing) => [ing, readNginxSettings(ing.object.metadata?.annotations).settings]));
  let converted = 0;

  for (const ing of served) {
    const settings = settingsOf.get(ing)!;
    for (const { name, reason } of unconvertedAnnotations(ing.object.metadata?.annotations, settings.canary !== undefined)) leftOut.annotation(ing, name, reason);
    if (settings.canary) continue;
    listHostDifferences(ing, settings, tls, regex, leftOut);
    const byHost = new Map<string | null, RouteDraft>();
    const draftOf = (host: string | null): RouteDraft => {
      let draft = byHost.get(host);
      if (!draft) byHost.set(host, (draft = newDraft(ing, host, ingressClassOf(ing) ?? ingressClass)));
      return draft;
    };
    const ruleDraftOf = (host: string | null): RouteDraft => {
      const fresh = !byHost.has(host);
      const draft = draftOf(host);
      // app-root: nginx answers a request for exactly `/` of each host, ahead of the paths.
      if (fresh && settings.appRoot !== undefined) draft.rules.push({ matches: [{ path: { type: "Exact", value: "/" } }], filters: [appRootFilter(settings.appRoot)] });
      return draft;
    };
    (ing.object.spec?.rules ?? []).forEach((rule, r) => {
      const host = rule.host ?? null;
      const draft = ruleDraftOf(host);
      (rule.http?.paths ?? []).forEach((p, i) => {
        const at = ["spec", "rules", r, "http", "paths", i];
        const built = pathRule(ing, p, at, settings, regex.has(host), services, leftOut);
        if (!built) return;
        draft.rules.push(built);
        if (redirectsToHttps(settings, host, tls)) draft.httpsOnly.add(built);
        const key = mainRuleKey(ing, host, p);
        if (!mainRules.has(key)) mainRules.set(key, { draft, rule: built });
      });
    });
    const defaultBackend = ing.object.spec?.defaultBackend;
    if (defaultBackend) {
      const ref = serviceBackendRef(ing, defaultBackend, services);
      if (typeof ref === "string") leftOut.add(ing, ["spec", "defaultBackend"], ref);
      // Requests no rule of any host matches: a rule of a route for any host, matching every path.
      else draftOf(null).rules.push({ backendRefs: [ref] });
    }
    for (const draft of byHost.values()) if (draft.rules.length > 0) drafts.push(draft);
    converted++;
  }

  for (const ing of served) {
    const canary = settingsOf.get(ing)!.canary;
    if (!canary) continue;
    joinCanaryIngress(ing, canary, mainRules, services, leftOut);
    converted++;
  }

  const placed = placeListeners(drafts, tls);
  const gateways = placed.gateways.map(({ namespace, name, hosts }) => gatewayFor(name, namespace, hosts, tls));
  const routeNames = new Map<string, UniqueNames>();
  const routes = drafts.flatMap((d) => finishRoutes(d, placed.listenerOf(d), tls));
  for (const r of routes) {
    const ns = r.metadata!.namespace!;
    if (!routeNames.has(ns)) routeNames.set(ns, new UniqueNames());
    r.metadata!.name = routeNames.get(ns)!.take(r.metadata!.name!);
  }
  const gatewayClass: GatewayClassObject[] = gateways.length === 0 ? [] : [
    { apiVersion: GATEWAY_API_VERSION, kind: "GatewayClass", metadata: { name: GATEWAY_CLASS_NAME }, spec: { controllerName: GATEWAY_CONTROLLER_NAME } } as GatewayClassObject,
  ];
  const byPlace = (a: LeftOut, b: LeftOut): number => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.col - b.col);
  return { documents: [...gatewayClass, ...gateways, ...routes], converted, leftOut: leftOut.items.sort(byPlace) };
}

/** Where a canary finds its main rule: ingress-nginx joins them by host, path and pathType (here within a namespace: backendRefs stay in theirs). */
function mainRuleKey(ing: Loaded<"Ingress">, host: string | null | undefined, p: HTTPIngressPath): string {
  return `${ing.namespace}|${host ?? ""}|${p.path ?? "/"}|${p.pathType}`;
}

/** A canary Ingress's paths joined to their main rules (see `joinCanary`); a path without one is listed. */
function joinCanaryIngress(
  ing: Loaded<"Ingress">, canary: CanaryRules, mainRules: ReadonlyMap<string, { draft: RouteDraft; rule: RouteRule }>,
  services: ReadonlyMap<string, Loaded<"Service">>, leftOut: LeftOutList,
): void {
  (ing.object.spec?.rules ?? []).forEach((rule, r) =>
    (rule.http?.paths ?? []).forEach((p, i) => {
      const at = ["spec", "rules", r, "http", "paths", i];
      const main = mainRules.get(mainRuleKey(ing, rule.host, p));
      if (!main) return leftOut.add(ing, at, `no main Ingress in namespace ${ing.namespace} serves host ${rule.host ?? "(any)"} path ${p.path ?? "/"} (${p.pathType}): the canary has nothing to join; left out`);
      if ((main.rule.backendRefs ?? []).length === 0) return leftOut.add(ing, at, "the main Ingress's rule redirects, it has no backend to share: left out");
      const ref = serviceBackendRef(ing, p.backend, services);
      if (typeof ref === "string") return leftOut.add(ing, [...at, "backend"], ref);
      const added = joinCanary(main.rule, ref, canary);
      main.draft.rules.splice(main.draft.rules.indexOf(main.rule) + 1, 0, ...added);
      if (main.draft.httpsOnly.has(main.rule)) for (const a of added) main.draft.httpsOnly.add(a);
    }),
  );
}

/** What differs for a whole Ingress on its hosts: force-ssl-redirect where there is no TLS, regex paths matched ignoring case. */
function listHostDifferences(
  ing: Loaded<"Ingress">, settings: NginxSettings, tls: ReadonlyMap<string, HostTls>, regex: ReadonlySet<string | null>, leftOut: LeftOutList,
): void {
  const hosts = (ing.object.spec?.rules ?? []).map((rule) => rule.host ?? null);
  const plainHosts = hosts.filter((h) => h === null || !tls.has(h));
  if (settings.forceSslRedirect && plainHosts.length > 0) {
    const names = plainHosts.map((h) => h ?? "(any host)").join(", ");
    leftOut.annotation(ing, "force-ssl-redirect", `${names} ha${plainHosts.length === 1 ? "s" : "ve"} no TLS in the files, so no HTTPS listener to redirect to: left out there`);
  }
  const caseNote = caseInsensitiveNote(settings, hosts, regex);
  if (caseNote?.annotation) leftOut.annotation(ing, caseNote.annotation, caseNote.note);
  else if (caseNote) leftOut.add(ing, ["spec", "rules", caseNote.rule!], caseNote.note);
}

function newDraft(ing: Loaded<"Ingress">, host: string | null, ingressClass: string): RouteDraft {
  const hosts = new Set((ing.object.spec?.rules ?? []).map((r) => r.host ?? null));
  if (ing.object.spec?.defaultBackend) hosts.add(null);
  const name = hosts.size === 1 ? ing.name : objectName(ing.name, hostSlug(host));
  const route = {
    apiVersion: GATEWAY_API_VERSION,
    kind: "HTTPRoute",
    metadata: { name, namespace: ing.namespace },
    spec: host === null ? {} : { hostnames: [host] },
  } as HTTPRouteObject;
  return { route, rules: [], host, namespace: ing.namespace, ingressClass, httpsOnly: new Set() };
}

/** One path of an Ingress as an HTTPRoute rule: its match, the annotations' filters, its backend. */
function pathRule(
  ing: Loaded<"Ingress">, p: HTTPIngressPath, at: (string | number)[], settings: NginxSettings, regexHost: boolean,
  services: ReadonlyMap<string, Loaded<"Service">>, leftOut: LeftOutList,
): RouteRule | undefined {
  const path = p.path ?? "/";
  const converted = pathMatch(path, p.pathType, regexHost);
  if (converted.note) leftOut.add(ing, [...at, "path"], converted.note);
  let match = converted.match;
  const filters: RouteFilter[] = [];
  if (settings.redirect) {
    const redirect = redirectFilter(settings.redirect.location, settings.redirect.code);
    const name = settings.redirect.code === 301 || settings.redirect.code === 308 ? "permanent-redirect" : "temporal-redirect";
    if (redirect.note) leftOut.annotation(ing, name, redirect.note);
    // Every request is answered with the redirect: there is nothing to send a backend.
    if (redirect.filter) return { matches: [match], filters: [redirect.filter] };
  }
  const ref = serviceBackendRef(ing, p.backend, services);
  if (typeof ref === "string") {
    leftOut.add(ing, [...at, "backend"], ref);
    return undefined;
  }
  const rewrite = rewriteOf(settings, path);
  if (rewrite.leftOut) leftOut.annotation(ing, "rewrite-target", rewrite.leftOut);
  if (rewrite.match) match = rewrite.match;
  // upstream-vhost: URLRewrite's hostname takes a host name only; with a port (or an address) the Host header is set instead.
  const vhost = settings.upstreamVhost;
  const hostname = vhost !== undefined && GATEWAY_HOSTNAME.test(vhost) && isIP(vhost) === 0 ? vhost : undefined;
  if (rewrite.path || hostname !== undefined) {
    filters.push({ type: "URLRewrite", urlRewrite: { ...(rewrite.path ? { path: rewrite.path } : {}), ...(hostname !== undefined ? { hostname } : {}) } });
  }
  const setHeaders: { name: string; value: string }[] = [];
  if (vhost !== undefined && hostname === undefined) setHeaders.push({ name: "Host", value: vhost });
  // ingress-nginx sends X-Forwarded-Prefix only along with a rewrite.
  if (settings.xForwardedPrefix !== undefined && rewrite.path) setHeaders.push({ name: "X-Forwarded-Prefix", value: settings.xForwardedPrefix });
  if (setHeaders.length > 0) filters.push({ type: "RequestHeaderModifier", requestHeaderModifier: { set: setHeaders } });
  return { matches: [match], ...(filters.length > 0 ? { filters } : {}), backendRefs: [ref] as BackendRef[] };
}

/** ssl-redirect (default on) for a TLS host, force-ssl-redirect for any host with an HTTPS listener. */
function redirectsToHttps(settings: NginxSettings, host: string | null, tls: ReadonlyMap<string, HostTls>): boolean {
  if (host === null || !tls.has(host)) return false;
  return settings.sslRedirect || settings.forceSslRedirect;
}

/**
 * The TLS hosts of the served Ingresses, the first (by precedence) naming a Secret
 * winning. An entry without a Secret is served by ingressd's local CA, which a Gateway
 * listener cannot name: listed.
 */
function tlsHosts(ingresses: readonly Loaded<"Ingress">[], leftOut: LeftOutList): Map<string, HostTls> {
  const tls = new Map<string, HostTls>();
  for (const ing of ingresses) {
    for (const [i, entry] of (ing.object.spec?.tls ?? []).entries()) {
      // An HTTPS listener must name a Secret (the API server refuses one without certificateRefs): a name to create.
      const secretName = entry.secretName ?? `${ing.name}-tls`;
      if (!entry.secretName && (entry.hosts ?? []).length > 0) {
        leftOut.add(ing, ["spec", "tls", i], `no secretName: ingressd serves these hosts with its local CA, which a listener cannot name; their HTTPS listeners name Secret ${secretName}, to create`);
      }
      for (const host of entry.hosts ?? []) {
        if (!tls.get(host)?.secretName) tls.set(host, { secretName });
      }
    }
  }
  return tls;
}

/**
 * The HTTPRoute(s) of a draft. Rules redirected to HTTPS are served on the HTTPS
 * listener only, and a route of their own on the HTTP listener answers the same
 * matches with the redirect.
 */
function finishRoutes(draft: RouteDraft, { gateway, slug }: PlacedHost, tls: ReadonlyMap<string, HostTls>): HTTPRouteObject[] {
  const parent = (section?: string) => ({ name: gateway, ...(section ? { sectionName: section } : {}) });
  const { route, rules, host } = draft;
  // More rules than a route holds: routes of at most that many (name, name-2, …), ranked together all the same.
  const variant = (name: string, section: string | undefined, variantRules: RouteRule[]): HTTPRouteObject[] =>
    chunks(variantRules, MAX_RULES_PER_ROUTE).map((part) =>
      ({ ...route, metadata: { ...route.metadata, name }, spec: { ...route.spec, parentRefs: [parent(section)], rules: part } }) as HTTPRouteObject);
  const name = route.metadata!.name!;
  if (draft.httpsOnly.size === 0 || host === null || !tls.has(host)) return variant(name, undefined, rules);
  const plain = rules.filter((r) => !draft.httpsOnly.has(r));
  const secure = rules.filter((r) => draft.httpsOnly.has(r));
  return [
    ...variant(name, listenerName(slug, "HTTPS"), secure),
    ...variant(objectName(name, "https-redirect"), listenerName(slug, "HTTP"), secure.map((r) => ({ ...(r.matches ? { matches: r.matches } : {}), filters: [HTTPS_REDIRECT] }))),
    ...(plain.length > 0 ? variant(objectName(name, "both"), undefined, plain) : []),
  ];
}

/** Where a host's listeners are: the Gateway's name, and the unique name part of the listeners (null: the listeners for any host). */
interface PlacedHost {
  gateway: string;
  slug: string | null;
}

/**
 * The Gateways: per namespace and ingress class, named after the class, with the
 * listeners of every host its routes serve (in order of appearance). A class with more
 * listeners than a Gateway holds gets more Gateways (`class-2`, …).
 */
function placeListeners(drafts: readonly RouteDraft[], tls: ReadonlyMap<string, HostTls>): {
  gateways: { namespace: string; name: string; hosts: Map<string | null, string | null> }[];
  listenerOf: (d: RouteDraft) => PlacedHost;
} {
  const gateways: { namespace: string; name: string; hosts: Map<string | null, string | null> }[] = [];
  const byClass = new Map<string, { names: UniqueNames; current: (typeof gateways)[number]; listeners: number; count: number }>();
  const placed = new Map<string, PlacedHost>();
  const hostKey = (d: RouteDraft): string => `${d.namespace}/${d.ingressClass}/${d.host ?? ""}`;
  for (const d of drafts) {
    if (placed.has(hostKey(d))) continue;
    const classKey = `${d.namespace}/${d.ingressClass}`;
    const listeners = d.host !== null && tls.has(d.host) ? 2 : 1;
    let entry = byClass.get(classKey);
    if (!entry || entry.listeners + listeners > MAX_LISTENERS_PER_GATEWAY) {
      const count = (entry?.count ?? 0) + 1;
      const current = { namespace: d.namespace, name: count === 1 ? d.ingressClass : objectName(d.ingressClass, String(count)), hosts: new Map() };
      gateways.push(current);
      byClass.set(classKey, (entry = { names: entry?.names ?? new UniqueNames(), current, listeners: 0, count }));
    }
    const slug = d.host === null ? null : entry.names.take(hostSlug(d.host));
    entry.current.hosts.set(d.host, slug);
    entry.listeners += listeners;
    placed.set(hostKey(d), { gateway: entry.current.name, slug });
  }
  return { gateways, listenerOf: (d) => placed.get(hostKey(d))! };
}
