import type { Loaded, ResourceSet } from "../../config/resources.js";
import type { Entry } from "../../model/route.js";
import { fieldPath, type ConfigIssue } from "../../model/issues.js";
import { precedenceKey } from "../ingressClass.js";
import { condition, type Condition, type GatewayClassStatus, type GatewayStatus, type ListenerStatus } from "./conditions.js";
import { namespaceLabels, selectorMatches } from "./namespaces.js";
import { referencePermitted } from "./referenceGrants.js";

export const GATEWAY_CONTROLLER_NAME = "ingressd.io/gateway-controller";
export const GATEWAY_GROUP = "gateway.networking.k8s.io";

export interface GatewayOptions {
  /** Gateways of this class are served even without a GatewayClass naming ingressd's controller (`--gateway-class`). */
  gatewayClass: string;
  /** ingressd's own HTTP and HTTPS ports: a listener on one of them is served there, as one on 80 or 443. */
  httpPort?: number;
  httpsPort?: number;
}

/** A listener of a served Gateway, resolved. */
export interface ServedListener {
  gateway: Loaded<"Gateway">;
  /** Index in `spec.listeners`. */
  index: number;
  name: string;
  port: number;
  hostname?: string;
  /**
   * Where it is served: ingressd's plain-HTTP or HTTPS front end (ports 80 and 443, or
   * ingressd's own), or a port of its own opened for it; undefined when it is not served
   * (see `status`).
   */
  entry?: Entry | number;
  /** Whether an HTTPRoute in `namespace` may attach to it (allowedRoutes). */
  allowsNamespace(namespace: string): boolean;
  allowsHTTPRoute: boolean;
  /** TLS Secrets (`namespace/name`) an HTTPS listener presents, when usable. */
  certificates: Loaded<"Secret">[];
  status: ListenerStatus;
}

export interface ServedGateways {
  listeners: ServedListener[];
  gateways: GatewayStatus[];
  gatewayClasses: GatewayClassStatus[];
  /** `namespace/name` of each served Gateway. */
  served: Set<string>;
  issues: ConfigIssue[];
}

/**
 * The Gateways ingressd serves and their listeners, with the status a Gateway API user
 * reads: which listeners are served where, which are not and why. Gateways on the same
 * port share it (ingressd has one address); two listeners claiming the same port and
 * hostname conflict, and the older Gateway's (or the earlier listener) keeps it.
 */
export function serveGateways(resources: ResourceSet, options: GatewayOptions): ServedGateways {
  const issues: ConfigIssue[] = [];
  const ours = new Set([options.gatewayClass]);
  const gatewayClasses: GatewayClassStatus[] = [];
  for (const c of resources.gatewayClasses) {
    if (c.object.spec.controllerName !== GATEWAY_CONTROLLER_NAME) continue;
    ours.add(c.name);
    gatewayClasses.push({ name: c.name, controllerName: c.object.spec.controllerName, conditions: [condition("Accepted", true, "Accepted", "served by ingressd")] });
  }
  const labelsOf = namespaceLabels(resources);
  const listeners: ServedListener[] = [];
  const gateways: GatewayStatus[] = [];
  const served = new Set<string>();
  const claimed = new Map<string, ServedListener>();
  const portProtocols = new Map<number, { protocol: string; name: string; gateway: string }>();
  for (const gw of byAge(resources.gateways)) {
    const cls = gw.object.spec.gatewayClassName;
    if (!ours.has(cls)) {
      issues.push({
        severity: "warning",
        code: "other-gateway-class",
        message: `Gateway ${gw.namespace}/${gw.name} has class "${cls}", which this ingressd does not serve (it serves ${[...ours].map((c) => `"${c}"`).join(", ")}): run with --gateway-class ${cls}, or add a GatewayClass named ${cls} with spec.controllerName ${GATEWAY_CONTROLLER_NAME}`,
        field: "spec.gatewayClassName",
        resource: gw.id,
        ...gw.locate(["spec", "gatewayClassName"]),
      });
      continue;
    }
    served.add(`${gw.namespace}/${gw.name}`);
    const status: GatewayStatus = { name: `${gw.namespace}/${gw.name}`, resource: gw.id, gatewayClassName: cls, conditions: [], listeners: [] };
    gw.object.spec.listeners.forEach((l, index) => {
      const at = ["spec", "listeners", index];
      const warn = (field: (string | number)[], code: string, message: string): void => {
        issues.push({ severity: "warning", code, message: `Gateway ${gw.namespace}/${gw.name} listener ${l.name}: ${message}`, field: fieldPath([...at, ...field]), resource: gw.id, ...gw.locate([...at, ...field]) });
      };
      const conditions: Condition[] = [];
      const listener: ServedListener = {
        gateway: gw,
        index,
        name: l.name,
        port: l.port,
        ...(l.hostname !== undefined ? { hostname: l.hostname.toLowerCase() } : {}),
        allowsNamespace: allowedNamespaces(gw, l.allowedRoutes?.namespaces, labelsOf),
        allowsHTTPRoute: true,
        certificates: [],
        status: { name: l.name, port: l.port, protocol: l.protocol, ...(l.hostname !== undefined ? { hostname: l.hostname } : {}), supportedKinds: [], attachedRoutes: 0, conditions },
      };
      status.listeners.push(listener.status);
      listeners.push(listener);

      // Route kinds: HTTPRoute is the only one ingressd serves.
      const kinds = l.allowedRoutes?.kinds;
      let resolved = true;
      if (kinds && kinds.length > 0) {
        const valid = kinds.filter((k) => (k.group ?? GATEWAY_GROUP) === GATEWAY_GROUP && k.kind === "HTTPRoute");
        listener.allowsHTTPRoute = valid.length > 0;
        if (valid.length < kinds.length) {
          resolved = false;
          const bad = kinds.filter((k) => !valid.includes(k)).map((k) => k.kind).join(", ");
          conditions.push(condition("ResolvedRefs", false, "InvalidRouteKinds", `route kinds ${bad} are not supported: ingressd serves HTTPRoute`));
          warn(["allowedRoutes", "kinds"], "invalid-route-kinds", `route kinds ${bad} are not supported (ingressd serves HTTPRoute)`);
        }
      }
      if (listener.allowsHTTPRoute && (l.protocol === "HTTP" || l.protocol === "HTTPS")) listener.status.supportedKinds.push("HTTPRoute");

      // Where it is served.
      let accepted = true;
      let acceptReason = "Accepted";
      let acceptMessage = "";
      const entry = entryOf(l.port, options);
      if (l.protocol !== "HTTP" && l.protocol !== "HTTPS") {
        accepted = false;
        acceptReason = "UnsupportedProtocol";
        acceptMessage = `protocol ${l.protocol} is not served by ingressd: HTTP and HTTPS only`;
      } else if (typeof entry === "number") {
        // A port of its own, shared by the listeners of every Gateway on it: the first one's protocol holds it.
        const holder = portProtocols.get(entry);
        if (holder && holder.protocol !== l.protocol) {
          accepted = false;
          acceptReason = "PortUnavailable";
          acceptMessage = `port ${l.port} is already served as ${holder.protocol} for listener ${holder.name} of Gateway ${holder.gateway}`;
        } else if (!holder) portProtocols.set(entry, { protocol: l.protocol, name: l.name, gateway: `${gw.namespace}/${gw.name}` });
      } else if ((entry === "https") !== (l.protocol === "HTTPS")) {
        accepted = false;
        acceptReason = "UnsupportedProtocol";
        acceptMessage = `port ${l.port} is ingressd's ${entry === "https" ? "HTTPS" : "plain HTTP"} port: a ${l.protocol} listener cannot be served there`;
      }

      // TLS certificates of an HTTPS listener.
      if (accepted && l.protocol === "HTTPS") {
        const tls = l.tls;
        if (tls?.mode === "Passthrough") {
          accepted = false;
          acceptReason = "UnsupportedProtocol";
          acceptMessage = "TLS mode Passthrough is not supported: ingressd terminates TLS";
        } else {
          const problems: string[] = [];
          let reason = "InvalidCertificateRef";
          (tls?.certificateRefs ?? []).forEach((ref, i) => {
            const ns = ref.namespace ?? gw.namespace;
            const id = `${ns}/${ref.name}`;
            if ((ref.group ?? "") !== "" || (ref.kind ?? "Secret") !== "Secret") {
              problems.push(`certificateRefs[${i}] is a ${ref.kind ?? "Secret"}${ref.group ? ` of group ${ref.group}` : ""}: only Secrets are supported`);
              return;
            }
            if (!referencePermitted(resources, { group: GATEWAY_GROUP, kind: "Gateway", namespace: gw.namespace }, { group: "", kind: "Secret", namespace: ns, name: ref.name })) {
              reason = "RefNotPermitted";
              problems.push(`Secret ${id} is in another namespace and no ReferenceGrant there allows Gateways of ${gw.namespace} to use it`);
              return;
            }
            const secret = resources.secrets.find((s) => s.namespace === ns && s.name === ref.name);
            if (!secret || secret.object.type !== "kubernetes.io/tls") {
              problems.push(secret ? `Secret ${id} is not of type kubernetes.io/tls` : `Secret ${id} is not defined (or is invalid)`);
              return;
            }
            listener.certificates.push(secret);
          });
          if (problems.length > 0) {
            resolved = false;
            conditions.push(condition("ResolvedRefs", false, reason, problems.join("; ")));
            warn(["tls", "certificateRefs"], reason === "RefNotPermitted" ? "ref-not-permitted" : "invalid-certificate-ref", problems.join("; "));
          }
          if (listener.certificates.length === 0) {
            accepted = false;
            acceptReason = "InvalidCertificateRef";
            acceptMessage = "no usable TLS certificate";
          }
        }
      }

      // Port and hostname already taken by an older listener.
      let conflictedBy: ServedListener | undefined;
      if (accepted) {
        const key = `${entry}|${listener.hostname ?? ""}`;
        conflictedBy = claimed.get(key);
        if (!conflictedBy) claimed.set(key, listener);
      }
      if (!accepted) warn([], "listener-not-served", acceptMessage);
      if (conflictedBy) {
        const other = conflictedBy.gateway === gw ? `listener ${conflictedBy.name}` : `listener ${conflictedBy.name} of the older Gateway ${conflictedBy.gateway.namespace}/${conflictedBy.gateway.name}`;
        warn([], "listener-conflict", `port ${l.port} and hostname ${l.hostname ?? "(any)"} are already claimed by ${other}; this listener is not served`);
      }
      conditions.unshift(condition("Accepted", accepted, acceptReason, accepted ? "served by ingressd" : acceptMessage));
      conditions.push(condition("Conflicted", conflictedBy !== undefined, conflictedBy ? "HostnameConflict" : "NoConflicts", conflictedBy ? `port ${l.port} and hostname ${l.hostname ?? "(any)"} are claimed by an older listener` : ""));
      if (resolved) conditions.push(condition("ResolvedRefs", true, "ResolvedRefs", ""));
      const programmed = accepted && !conflictedBy;
      const where = typeof entry === "number" ? `served on port ${entry}` : `served on ingressd's ${entry === "https" ? "HTTPS" : "HTTP"} port`;
      conditions.push(condition("Programmed", programmed, programmed ? "Programmed" : "Invalid", programmed ? where : "not served"));
      if (programmed) listener.entry = entry;
    });
    const anyServed = status.listeners.some((l) => l.conditions.some((c) => c.type === "Programmed" && c.status === "True"));
    status.conditions.push(condition("Accepted", true, "Accepted", "served by ingressd"));
    status.conditions.push(condition("Programmed", anyServed, anyServed ? "Programmed" : "Invalid", anyServed ? "" : "none of its listeners is served"));
    gateways.push(status);
  }
  return { listeners, gateways, gatewayClasses, served, issues };
}

/**
 * Port 80 and ingressd's HTTP port are the plain-HTTP front end; 443 and its HTTPS port
 * the HTTPS one; any other port is opened for the listeners on it, as an L4 listener is.
 */
function entryOf(port: number, options: GatewayOptions): Entry | number {
  if (port === 80 || port === options.httpPort) return "http";
  if (port === 443 || port === options.httpsPort) return "https";
  return port;
}

type AllowedNamespaces = NonNullable<NonNullable<NonNullable<Loaded<"Gateway">["object"]["spec"]["listeners"][number]["allowedRoutes"]>["namespaces"]>>;

function allowedNamespaces(gw: Loaded<"Gateway">, allowed: AllowedNamespaces | undefined, labelsOf: (ns: string) => Record<string, string>): (ns: string) => boolean {
  const from = allowed?.from ?? "Same";
  if (from === "All") return () => true;
  if (from === "Selector") {
    const selector = allowed?.selector ?? {};
    return (ns) => selectorMatches(selector, labelsOf(ns));
  }
  return (ns) => ns === gw.namespace;
}

/** Older creationTimestamp first (none: newest), then namespace/name — Gateway API's tie-breaking order. */
export function byAge<T extends Loaded>(items: readonly T[]): T[] {
  const time = new Map(items.map((r) => [r, precedenceKey(r)[0]]));
  const key = (r: T): string => `${r.namespace}/${r.name}`;
  return [...items].sort((a, b) => time.get(a)! - time.get(b)! || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
