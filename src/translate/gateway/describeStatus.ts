import type { Condition, GatewayApiStatus } from "./conditions.js";

/**
 * The Gateway API status as lines for `ingressd check`: each Gateway and listener, each
 * HTTPRoute parent, with its conditions — those that hold by type, those that do not
 * with their reason and message. Empty when the folder has no Gateway API resource.
 */
export function describeGatewayApiStatus(status: GatewayApiStatus): string[] {
  const lines: string[] = [];
  for (const c of status.gatewayClasses) lines.push(`GatewayClass ${c.name} (${c.controllerName}): ${describeConditions(c.conditions)}`);
  for (const g of status.gateways) {
    lines.push(`Gateway ${g.name} (class ${g.gatewayClassName}): ${describeConditions(g.conditions)}`);
    for (const l of g.listeners) {
      const routes = `${l.attachedRoutes} route${l.attachedRoutes === 1 ? "" : "s"}`;
      lines.push(`  listener ${l.name} (${l.protocol}, port ${l.port}, ${l.hostname ?? "any host"}): ${describeConditions(l.conditions)}; ${routes}`);
    }
  }
  for (const r of status.httpRoutes) {
    if (r.parents.length === 0) {
      lines.push(`HTTPRoute ${r.name}: no parent Gateway served by ingressd`);
      continue;
    }
    for (const p of r.parents) {
      const section = [p.parentRef.sectionName !== undefined ? `listener ${p.parentRef.sectionName}` : "", p.parentRef.port !== undefined ? `port ${p.parentRef.port}` : ""].filter(Boolean).join(", ");
      lines.push(`HTTPRoute ${r.name} → Gateway ${p.parentRef.namespace}/${p.parentRef.name}${section ? ` (${section})` : ""}: ${describeConditions(p.conditions)}`);
    }
  }
  return lines;
}

/** `Accepted, Programmed` for conditions that hold; `ResolvedRefs False (BackendNotFound: …)` for the rest. Conflicted is named only when true. */
export function describeConditions(conditions: readonly Condition[]): string {
  return conditions
    .filter((c) => !(c.type === "Conflicted" && c.status === "False"))
    .map((c) => {
      const good = c.type === "Conflicted" ? c.status === "False" : c.status === "True";
      if (good) return c.type;
      return `${c.type} ${c.status} (${c.reason}${c.message ? `: ${c.message}` : ""})`;
    })
    .join(", ");
}
