import type { CanaryRules } from "../../config/nginx/canary.js";
import type { BackendRef, RouteMatch, RouteRule } from "./gatewayObjects.js";

/**
 * A canary Ingress's path joined to the rule of its main Ingress (same host, path and
 * pathType), as ingress-nginx splits one location between two backends. By header:
 * rules of their own with a header match (more matches win over the main rule in
 * Gateway API, as the header wins over the weight in ingress-nginx); `always` → canary,
 * `never` → main only. By weight: both backends in the main rule, weighted. The new
 * rules keep the main rule's filters: canary requests get the main Ingress's
 * annotations in ingress-nginx. Returns the rules to add after the main rule.
 */
export function joinCanary(main: RouteRule, canary: BackendRef, rules: CanaryRules): RouteRule[] {
  const added: RouteRule[] = [];
  const mainRefs = (main.backendRefs ?? []).map((ref) => withoutWeight(ref));
  const matches = main.matches ?? [{ path: { type: "PathPrefix", value: "/" } }];
  const byHeader = (value: string, type: "Exact" | "RegularExpression", refs: BackendRef[]): RouteRule => ({
    ...main,
    matches: matches.map((m): RouteMatch => ({ ...m, headers: [...(m.headers ?? []), { type, name: rules.header!.name, value }] })),
    backendRefs: refs,
  });
  if (rules.header) {
    const { value, pattern } = rules.header;
    if (value !== undefined) added.push(byHeader(value, "Exact", [canary]));
    // ingress-nginx's pattern is unanchored; a RegularExpression header match may be anchored or not by implementation.
    else if (pattern !== undefined) added.push(byHeader(`.*(?:${pattern}).*`, "RegularExpression", [canary]));
    else added.push(byHeader("always", "Exact", [canary]), byHeader("never", "Exact", mainRefs));
  }
  if (rules.weight > 0 && mainRefs.length > 0) {
    // canary-weight of canary-weight-total; the main backends share the rest as they shared all.
    const rest = rules.weightTotal - rules.weight;
    const mainTotal = mainRefs.length;
    main.backendRefs = [
      ...(rest > 0 ? (main.backendRefs ?? []).map((ref) => ({ ...ref, weight: Math.round(((ref.weight ?? 1) * rest) / mainTotal) })) : []),
      { ...canary, weight: rules.weight },
    ];
  }
  return added;
}

function withoutWeight(ref: BackendRef): BackendRef {
  const { weight: _weight, ...rest } = ref;
  return rest;
}
