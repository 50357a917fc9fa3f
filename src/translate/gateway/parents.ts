import type { Loaded } from "../../config/resources.js";
import { fieldPath, type ConfigIssue } from "../../model/issues.js";
import type { Entry } from "../../model/route.js";
import { condition, type Condition, type ParentRefView, type RouteParentStatus } from "./conditions.js";
import { covers, intersectHostnames } from "./hostnames.js";
import { GATEWAY_GROUP, type ServedGateways, type ServedListener } from "./listeners.js";

/** Where a route is served through one listener: the front end (or a port of its own) and the hostnames (null: every host). */
export interface Attachment {
  listener: ServedListener;
  entry: Entry | number;
  hostnames: (string | null)[];
}

/**
 * An HTTPRoute's parentRefs → the listeners it attaches to, and per parentRef of a
 * served Gateway the Accepted condition: NoMatchingParent (no listener of that
 * sectionName/port), NotAllowedByListeners (allowedRoutes refuse the route's namespace
 * or kind), NoMatchingListenerHostname (no hostname in common). Parents that are not
 * Gateways ingressd serves are another controller's: left alone.
 */
export function attachRoute(route: Loaded<"HTTPRoute">, gateways: ServedGateways, defined: ReadonlySet<string>, issues: ConfigIssue[]): { attachments: Attachment[]; parents: RouteParentStatus[] } {
  const attachments: Attachment[] = [];
  const parents: RouteParentStatus[] = [];
  const hostnames = (route.object.spec.hostnames ?? []).map((h) => h.toLowerCase());
  (route.object.spec.parentRefs ?? []).forEach((ref, i) => {
    if ((ref.group ?? GATEWAY_GROUP) !== GATEWAY_GROUP || (ref.kind ?? "Gateway") !== "Gateway") return;
    const namespace = ref.namespace ?? route.namespace;
    const id = `${namespace}/${ref.name}`;
    const at = ["spec", "parentRefs", i];
    if (!gateways.served.has(id)) {
      // A Gateway of another class is another controller's (it has its own warning); one that does not exist is a mistake.
      if (!defined.has(id)) {
        issues.push({ severity: "warning", code: "unknown-gateway", message: `HTTPRoute ${route.namespace}/${route.name}: parent Gateway ${id} is not defined: the route is not served through it`, field: fieldPath(at), resource: route.id, ...route.locate(at) });
      }
      return;
    }
    const view: ParentRefView = { namespace, name: ref.name, ...(ref.sectionName !== undefined ? { sectionName: ref.sectionName } : {}), ...(ref.port !== undefined ? { port: ref.port } : {}) };
    const refused = (reason: string, message: string): void => {
      parents.push({ parentRef: view, conditions: [condition("Accepted", false, reason, message)] });
      issues.push({ severity: "warning", code: "route-not-accepted", message: `HTTPRoute ${route.namespace}/${route.name} is not accepted by Gateway ${id} (${reason}): ${message}`, field: fieldPath(at), resource: route.id, ...route.locate(at) });
    };
    const candidates = gateways.listeners.filter((l) => `${l.gateway.namespace}/${l.gateway.name}` === id && (ref.sectionName === undefined || l.name === ref.sectionName) && (ref.port === undefined || l.port === ref.port));
    if (candidates.length === 0) {
      const what = [ref.sectionName !== undefined ? `named ${ref.sectionName}` : "", ref.port !== undefined ? `on port ${ref.port}` : ""].filter(Boolean).join(" ");
      refused("NoMatchingParent", `Gateway ${id} has no listener ${what}`);
      return;
    }
    const allowed = candidates.filter((l) => l.allowsHTTPRoute && l.status.supportedKinds.includes("HTTPRoute") && l.allowsNamespace(route.namespace));
    if (allowed.length === 0) {
      refused("NotAllowedByListeners", `the listeners of Gateway ${id} do not allow HTTPRoutes from namespace ${route.namespace} (allowedRoutes)`);
      return;
    }
    let matched = 0;
    for (const l of allowed) {
      const names = intersectHostnames(l.hostname, hostnames);
      if (names.length === 0) continue;
      matched++;
      l.status.attachedRoutes++;
      if (l.entry !== undefined) attachments.push({ listener: l, entry: l.entry, hostnames: isolated(l, names, gateways.listeners) });
    }
    if (matched === 0) {
      refused("NoMatchingListenerHostname", `none of the hostnames ${hostnames.join(", ")} is covered by a listener of Gateway ${id} (${allowed.map((l) => l.hostname ?? "any host").join(", ")})`);
      return;
    }
    const conditions: Condition[] = [condition("Accepted", true, "Accepted", "served by ingressd")];
    parents.push({ parentRef: view, conditions });
  });
  return { attachments, parents };
}

/**
 * Listener isolation (Gateway API, GatewayHTTPListenerIsolation): a request is served by
 * the most specific listener matching its host. So a hostname that a more specific
 * listener on the same front end covers is left out of a less specific listener's routes;
 * the routing table's host groups answering alone isolate the rest (a wildcard the route
 * keeps still loses the names inside a more specific listener's).
 */
function isolated(l: ServedListener, names: (string | null)[], listeners: readonly ServedListener[]): (string | null)[] {
  const narrower = listeners.filter((o) => o !== l && o.entry === l.entry && o.hostname !== undefined && (l.hostname === undefined || (o.hostname !== l.hostname && covers(l.hostname, o.hostname))));
  if (narrower.length === 0) return names;
  return names.filter((h) => h === null || !narrower.some((o) => covers(o.hostname!, h)));
}
