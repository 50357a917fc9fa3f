import type { Loaded, ResourceSet } from "../../config/resources.js";
import { backendKey } from "../../model/backendKey.js";
import { fieldPath, type ConfigIssue } from "../../model/issues.js";
import type { Entry, HeaderMatch, PathType, QueryMatch, Route, RouteMatch, WeightedBackend } from "../../model/route.js";
import { ResourceOrigin } from "../resourceOrigin.js";
import { resolveBackendRef, type GatewayBackendRef } from "./backends.js";
import { condition, type HTTPRouteStatus } from "./conditions.js";
import { timeoutsFilter, translateFilters, type GatewayFilter } from "./filters.js";
import { byAge, type ServedGateways } from "./listeners.js";
import { attachRoute, type Attachment } from "./parents.js";

type Rule = NonNullable<Loaded<"HTTPRoute">["object"]["spec"]["rules"]>[number];
type Match = NonNullable<Rule["matches"]>[number];

/**
 * Attached HTTPRoutes → routes of the one route model, oldest route first (Gateway
 * API's tie-breaking: creation time, then namespace/name; then rule and match order),
 * with each route's status.
 */
export function translateHTTPRoutes(resources: ResourceSet, gateways: ServedGateways): { routes: Route[]; portRoutes: Map<number, Route[]>; status: HTTPRouteStatus[]; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const routes: Route[] = [];
  const portRoutes = new Map<number, Route[]>();
  const status: HTTPRouteStatus[] = [];
  const services = new Map(resources.services.map((s) => [`${s.namespace}/${s.name}`, s]));
  const defined = new Set(resources.gateways.map((g) => `${g.namespace}/${g.name}`));
  for (const hr of byAge(resources.httpRoutes)) {
    const { attachments, parents } = attachRoute(hr, gateways, defined, issues);
    const routeStatus: HTTPRouteStatus = { name: `${hr.namespace}/${hr.name}`, resource: hr.id, parents };
    status.push(routeStatus);
    if (parents.length === 0) continue;
    const refProblems: { reason: string; message: string }[] = [];
    const issue = (at: (string | number)[], code: string, message: string): void => {
      issues.push({ severity: "warning", code, message: `HTTPRoute ${hr.namespace}/${hr.name}: ${message}`, field: fieldPath(at), resource: hr.id, ...hr.locate(at) });
    };
    const resolve = (ref: GatewayBackendRef) => resolveBackendRef(resources, services, hr, ref);
    const served = servedHosts(attachments);
    (hr.object.spec.rules ?? []).forEach((rule, i) => {
      const ruleAt = ["spec", "rules", i];
      const backends = ruleBackends(rule, ruleAt, resolve, refProblems, issue);
      const timeouts = timeoutsFilter((rule as { timeouts?: { request?: string; backendRequest?: string } }).timeouts);
      const matches: Match[] = rule.matches && rule.matches.length > 0 ? rule.matches : [{ path: { type: "PathPrefix", value: "/" } }];
      matches.forEach((m, j) => {
        const at = rule.matches && rule.matches.length > 0 ? [...ruleAt, "matches", j] : ruleAt;
        const pathType = (m.path?.type ?? "PathPrefix") as string;
        const path = m.path?.value ?? "/";
        const prefix = pathType === "PathPrefix" ? path : undefined;
        const { filters, problems } = translateFilters((rule.filters ?? []) as GatewayFilter[], prefix, resolve);
        let fatal: string | undefined;
        for (const p of problems) {
          issue([...ruleAt, "filters", p.index], p.fatal ? "unsupported-filter" : "invalid-backend-ref", p.message);
          if (p.reason) refProblems.push({ reason: p.reason, message: p.message });
          if (p.fatal) fatal ??= p.message;
        }
        if (timeouts) filters.push(timeouts);
        const ruleBackendsFor = fatal ? [invalidBackend(hr, fatal)] : backends;
        const base: Omit<RouteMatch, "host"> = {
          path,
          pathType: pathTypeOf(pathType),
          ...(m.headers && m.headers.length > 0 ? { headers: m.headers.map(headerMatch) } : {}),
          ...(m.queryParams && m.queryParams.length > 0 ? { query: m.queryParams.map(queryMatch) } : {}),
          ...(m.method !== undefined ? { method: m.method } : {}),
        };
        for (const { host, entry } of served) {
          const match: RouteMatch = { host, ...base };
          if (host !== null && host.startsWith("*.")) match.hostSuffix = true;
          if (typeof entry === "string") match.entry = entry;
          const route: Route = { match, filters, backends: ruleBackendsFor, origin: new ResourceOrigin("HTTPRoute", hr, at), isolatesHost: true };
          if (typeof entry === "number") getOrCreate(portRoutes, entry).push(route);
          else routes.push(route);
        }
      });
    });
    const resolved = refProblems.length === 0
      ? condition("ResolvedRefs", true, "ResolvedRefs", "")
      : condition("ResolvedRefs", false, refProblems[0]!.reason, refProblems.map((p) => p.message).join("; "));
    // Every parent reports ResolvedRefs, one that refuses the route too: the references are the route's, not the parent's.
    for (const p of parents) p.conditions.push(resolved);
  }
  return { routes, portRoutes, status, issues };
}

function getOrCreate(map: Map<number, Route[]>, port: number): Route[] {
  let list = map.get(port);
  if (!list) map.set(port, (list = []));
  return list;
}

/**
 * Each served hostname once per place it is served: ingressd's front ends (entry unset:
 * both; else the one), and each port of its own.
 */
function servedHosts(attachments: readonly Attachment[]): { host: string | null; entry?: Entry | number }[] {
  const entries = new Map<string | null, Set<Entry>>();
  const ports = new Map<string, { host: string | null; entry: number }>();
  for (const a of attachments) {
    for (const h of a.hostnames) {
      if (typeof a.entry === "number") {
        ports.set(`${a.entry}|${h}`, { host: h, entry: a.entry });
        continue;
      }
      let set = entries.get(h);
      if (!set) entries.set(h, (set = new Set()));
      set.add(a.entry);
    }
  }
  return [...[...entries].map(([host, set]) => (set.size === 2 ? { host } : { host, entry: [...set][0]! })), ...ports.values()];
}

/** A rule's backendRefs → weighted backends; weight 0 ones are left out, refused ones answer 500 for their share. */
function ruleBackends(
  rule: Rule,
  ruleAt: (string | number)[],
  resolve: (ref: GatewayBackendRef) => ReturnType<typeof resolveBackendRef>,
  refProblems: { reason: string; message: string }[],
  issue: (at: (string | number)[], code: string, message: string) => void,
): WeightedBackend[] {
  const out: WeightedBackend[] = [];
  (rule.backendRefs ?? []).forEach((ref, k) => {
    const at = [...ruleAt, "backendRefs", k];
    const weight = ref.weight ?? 1;
    const target = resolve(ref as GatewayBackendRef);
    if (!target.ok) {
      refProblems.push({ reason: target.reason, message: target.message });
      issue(at, target.reason === "RefNotPermitted" ? "ref-not-permitted" : target.reason === "InvalidKind" ? "invalid-backend-kind" : "unknown-service", `${target.message}: requests drawn to it get 500`);
    }
    if (weight === 0) return;
    const entry: WeightedBackend = target.ok
      ? { backend: target.backend, weight }
      : { backend: { key: target.key, namespace: ref.namespace ?? "", service: ref.name, port: ref.port ?? 0 }, weight, invalid: target.message };
    const written = (ref as { filters?: GatewayFilter[] }).filters;
    if (written && written.length > 0) {
      const { filters, problems } = translateFilters(written, rulePrefix(rule), resolve);
      for (const p of problems) {
        issue([...at, "filters", p.index], p.fatal ? "unsupported-filter" : "invalid-backend-ref", p.message);
        if (p.fatal) entry.invalid ??= p.message;
      }
      entry.filters = filters;
    }
    out.push(entry);
  });
  return out;
}

/**
 * The PathPrefix a backendRef's ReplacePrefixMatch replaces: backends are shared by the
 * rule's matches, so the rule must have exactly one PathPrefix match (validation says so),
 * or none (the default `/`).
 */
function rulePrefix(rule: Rule): string | undefined {
  const matches = rule.matches ?? [];
  if (matches.length === 0) return "/";
  const only = matches.length === 1 ? matches[0]! : undefined;
  return only && (only.path?.type ?? "PathPrefix") === "PathPrefix" ? (only.path?.value ?? "/") : undefined;
}

function invalidBackend(hr: Loaded<"HTTPRoute">, reason: string): WeightedBackend {
  return { backend: { key: backendKey(hr.namespace, `(${hr.name})`, 0), namespace: hr.namespace, service: `(${hr.name})`, port: 0 }, weight: 1, invalid: reason };
}

function pathTypeOf(type: string): PathType {
  return type === "Exact" ? "Exact" : type === "RegularExpression" ? "RegularExpression" : "Prefix";
}

/** RegularExpression values match the whole header value, as Envoy Gateway's (RE2 full match). */
function headerMatch(h: { name: string; value: string; type?: string }): HeaderMatch {
  return { name: h.name.toLowerCase(), type: h.type === "RegularExpression" ? "Regex" : "Exact", value: h.type === "RegularExpression" ? `^(?:${h.value})$` : h.value };
}

function queryMatch(q: { name: string; value: string; type?: string }): QueryMatch {
  return { name: q.name, type: q.type === "RegularExpression" ? "Regex" : "Exact", value: q.type === "RegularExpression" ? `^(?:${q.value})$` : q.value };
}
