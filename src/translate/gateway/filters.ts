import { parseGatewayDuration } from "../../config/gatewayDuration.js";
import type { Filter, HeaderChanges, PathReplacement, TimeoutsFilter } from "../../model/route.js";
import type { GatewayBackendRef, ResolvedBackend } from "./backends.js";

interface HeaderModifier {
  set?: { name: string; value: string }[];
  add?: { name: string; value: string }[];
  remove?: string[];
}

interface PathModifier {
  type: string;
  replaceFullPath?: string;
  replacePrefixMatch?: string;
}

/** An HTTPRoute filter as written (rules[].filters[], backendRefs[].filters[]). */
export interface GatewayFilter {
  type: string;
  requestHeaderModifier?: HeaderModifier;
  responseHeaderModifier?: HeaderModifier;
  requestRedirect?: { scheme?: string; hostname?: string; path?: PathModifier; port?: number; statusCode?: number };
  urlRewrite?: { hostname?: string; path?: PathModifier };
  requestMirror?: { backendRef: GatewayBackendRef; percent?: number; fraction?: { numerator: number; denominator?: number } };
  extensionRef?: { group: string; kind: string; name: string };
}

export interface FilterProblem {
  /** Index of the filter in its list. */
  index: number;
  /** Set when the filter cannot run: requests it would have handled get 500 (the spec forbids skipping a filter). */
  fatal: boolean;
  /** A ResolvedRefs reason when the problem is a reference (a mirror's backend). */
  reason?: string;
  message: string;
}

/**
 * HTTPRoute filters → the route model's filters, in the order written. `prefix`: the
 * match's PathPrefix value, which ReplacePrefixMatch replaces. `resolve` resolves a
 * mirror's backend.
 */
export function translateFilters(written: readonly GatewayFilter[], prefix: string | undefined, resolve: (ref: GatewayBackendRef) => ResolvedBackend): { filters: Filter[]; problems: FilterProblem[] } {
  const filters: Filter[] = [];
  const problems: FilterProblem[] = [];
  written.forEach((f, index) => {
    switch (f.type) {
      case "RequestHeaderModifier":
        if (f.requestHeaderModifier) filters.push({ type: "requestHeaderModifier", ...changes(f.requestHeaderModifier) });
        return;
      case "ResponseHeaderModifier":
        if (f.responseHeaderModifier) filters.push({ type: "responseHeaderModifier", ...changes(f.responseHeaderModifier) });
        return;
      case "RequestRedirect": {
        const r = f.requestRedirect ?? {};
        const path = r.path ? replacement(r.path, prefix) : undefined;
        if (r.path && !path) {
          problems.push({ index, fatal: true, message: "ReplacePrefixMatch needs the rule's match to be a PathPrefix" });
          return;
        }
        filters.push({
          type: "requestRedirect",
          code: r.statusCode ?? 302,
          ...(r.scheme === "http" || r.scheme === "https" ? { scheme: r.scheme } : {}),
          ...(r.hostname !== undefined ? { hostname: r.hostname } : {}),
          ...(r.port !== undefined ? { port: r.port } : {}),
          ...(path ? { path } : {}),
        });
        return;
      }
      case "URLRewrite": {
        const u = f.urlRewrite ?? {};
        if (u.hostname !== undefined) filters.push({ type: "requestHeaders", set: [["host", u.hostname]] });
        if (u.path) {
          const path = replacement(u.path, prefix);
          if (!path) {
            problems.push({ index, fatal: true, message: "ReplacePrefixMatch needs the rule's match to be a PathPrefix" });
            return;
          }
          filters.push({ type: "pathRewrite", path });
        }
        return;
      }
      case "RequestMirror": {
        const m = f.requestMirror;
        if (!m) return;
        const target = resolve(m.backendRef);
        if (!target.ok) {
          // The mirror is left out; the request itself is still served.
          problems.push({ index, fatal: false, reason: target.reason, message: `mirror: ${target.message}` });
          return;
        }
        const percent = m.percent ?? (m.fraction ? (m.fraction.numerator / (m.fraction.denominator ?? 100)) * 100 : 100);
        filters.push({ type: "mirror", backend: target.backend, percent });
        return;
      }
      case "ExtensionRef":
        problems.push({ index, fatal: true, message: `filter ExtensionRef (${f.extensionRef?.kind ?? "?"} ${f.extensionRef?.name ?? "?"}) is not supported by ingressd: requests this rule takes get 500, as the spec asks for a filter that cannot run` });
        return;
      default:
        problems.push({ index, fatal: true, message: `filter ${f.type} is not supported by ingressd: requests this rule takes get 500, as the spec asks for a filter that cannot run` });
    }
  });
  return { filters, problems };
}

function changes(m: HeaderModifier): HeaderChanges {
  return {
    set: (m.set ?? []).map((h) => [h.name.toLowerCase(), h.value] as const),
    add: (m.add ?? []).map((h) => [h.name.toLowerCase(), h.value] as const),
    remove: (m.remove ?? []).map((n) => n.toLowerCase()),
  };
}

function replacement(p: PathModifier, prefix: string | undefined): PathReplacement | undefined {
  if (p.type === "ReplaceFullPath") return { kind: "full", path: p.replaceFullPath ?? "/" };
  if (prefix === undefined) return undefined;
  return { kind: "prefix", prefix, replacement: p.replacePrefixMatch ?? "/" };
}

/** `timeouts.request` and `timeouts.backendRequest` (`0s`: none) → a timeouts filter, if any is set. */
export function timeoutsFilter(timeouts: { request?: string; backendRequest?: string } | undefined): TimeoutsFilter | undefined {
  if (!timeouts) return undefined;
  const request = timeouts.request !== undefined ? parseGatewayDuration(timeouts.request) : undefined;
  const backend = timeouts.backendRequest !== undefined ? parseGatewayDuration(timeouts.backendRequest) : undefined;
  if (!request && !backend) return undefined;
  return { type: "timeouts", ...(request ? { requestMs: request } : {}), ...(backend ? { backendRequestMs: backend } : {}) };
}
