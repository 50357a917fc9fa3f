import type { L4ListenerStatus } from "../l4/listeners.js";
import { describeBalance, describeConditions, describeFilter } from "../model/describeRoute.js";
import type { ConfigIssue } from "../model/issues.js";
import type { LocalCaLeaf } from "../proxy/certificateSelector.js";
import type { Snapshot } from "../snapshot/snapshot.js";
import { routeKey } from "../telemetry/routeRates.js";
import { nowGoesTo } from "./nowGoesTo.js";
import type { GatewayApiStatus } from "../translate/gateway/conditions.js";
import { describeConditions as describeStatusConditions } from "../translate/gateway/describeStatus.js";

/** One route as `/api/config` shows it. */
interface RouteView {
  /** Names the route in `/api/stats` `routes`: `host path (pathType)`, with canary conditions. */
  key: string;
  path: string;
  pathType: string;
  /** Canary conditions (header, cookie), when the route has some. */
  conditions?: string;
  /** The first backend: the only one unless weighted (canary); "" when the route has none (it answers 500, or its filters answer). */
  backend: string;
  /** Set when weighted, or when the backend is refused (`invalid`: why requests drawn to it get 500). */
  backends?: { backend: string; weight: number; canary?: true; invalid?: string }[];
  endpoints: string[];
  /** What the route does to a request, in order (see describeFilter). */
  filters: string[];
  /** How endpoints are picked when the route says (cookie affinity, upstream-hash-by). */
  balance?: string;
  /** `namespace/name` of the Ingress or HTTPRoute that declares it. */
  ingress: string;
  /** Set when the route comes from an HTTPRoute. */
  kind?: "HTTPRoute";
  source: string;
}

/** The local CA's certificate file and the leaves it issued (CertificateSelector.localCaCertificates). */
export type LocalCaCertificates = { certPath: string; leaves: LocalCaLeaf[] } | undefined;

const DAY_MS = 24 * 3600_000;

/**
 * The `/api/config` document: everything ingressd is doing, as plain JSON. The
 * dashboard and tools read this; it is the source of truth for what is served.
 */
export function configView(snapshot: Snapshot, ready: boolean, listeners: readonly L4ListenerStatus[], localCa?: LocalCaCertificates) {
  const now = Date.now();
  const listenerErrors = listeners.filter((l) => l.state === "error");
  const hosts: Record<string, RouteView[]> = {};
  for (const r of snapshot.routes.routes()) {
    const conditions = describeConditions(r);
    (hosts[r.match.host ?? "*"] ??= []).push({
      key: routeKey(r),
      path: r.match.path,
      pathType: r.match.pathType,
      ...(conditions ? { conditions } : {}),
      backend: r.backends[0]?.backend.key ?? "",
      ...(r.backends.length > 1 || r.backends[0]?.canary || r.backends[0]?.invalid !== undefined
        ? { backends: r.backends.map((b) => ({ backend: b.backend.key, weight: b.weight, ...(b.canary ? { canary: true } : {}), ...(b.invalid !== undefined ? { invalid: b.invalid } : {}) })) }
        : {}),
      endpoints: r.backends.flatMap((b) => snapshot.pools.get(b.backend.key)?.endpoints.map((e) => e.address) ?? []),
      filters: r.filters.map(describeFilter),
      ...(r.balance ? { balance: describeBalance(r.balance) } : {}),
      ingress: r.origin.name,
      ...(r.origin.kind !== "Ingress" ? { kind: r.origin.kind } : {}),
      source: `${r.origin.source.file}:${r.origin.source.line}:${r.origin.source.col}`,
    });
  }
  const def = snapshot.routes.defaultBackend;
  return {
    ready,
    generation: snapshot.generation,
    lastReload: snapshot.loadedAt.toISOString(),
    files: snapshot.files,
    errors: [
      ...snapshot.issues.filter((i) => i.severity === "error").map((i) => withDestinations(snapshot, i)),
      ...listenerErrors.map((l) => ({ severity: "error", code: "listen-failed", message: `Service ${l.service}: ${l.error}`, resource: `Service ${l.service}`, file: l.file, line: l.line, col: l.col, field: l.field })),
    ],
    warnings: snapshot.issues.filter((i) => i.severity === "warning"),
    ignored: snapshot.ignored.map((i) => ({ ingress: i.ingress, reason: i.reason, source: `${i.source.file}:${i.source.line}` })),
    hosts,
    /** Gateway API status, as a cluster would show it: GatewayClasses, Gateways with their listeners, HTTPRoutes' parents. */
    gatewayApi: withSummaries(snapshot.gatewayApi),
    defaultBackend: def
      ? {
          key: routeKey(def),
          backend: def.backends[0]!.backend.key,
          ingress: def.origin.name,
          source: `${def.origin.source.file}:${def.origin.source.line}:${def.origin.source.col}`,
          endpoints: snapshot.pools.get(def.backends[0]!.backend.key)?.endpoints.map((e) => e.address) ?? [],
        }
      : null,
    /** What a request no rule matches gets. */
    unmatched: def
      ? `the default backend ${def.backends[0]!.backend.key} (Ingress ${def.origin.name}, ${def.origin.source.file}:${def.origin.source.line})`
      : "404 from ingressd: no Ingress has a spec.defaultBackend",
    services: [...snapshot.pools.values()].map((p) => {
      const service = `${p.spec.namespace}/${p.spec.service}`;
      const nodePort = snapshot.l4.nodePorts.get(p.key);
      const lb = snapshot.l4.loadBalancers.get(service);
      return {
        backend: p.key,
        type: p.spec.type,
        sessionAffinity: p.spec.affinity.kind,
        ...(p.spec.affinity.kind === "ClientIP" ? { affinityTimeoutSeconds: p.spec.affinity.timeoutSeconds, pinnedClients: p.affinity?.size ?? 0 } : {}),
        ...(nodePort !== undefined ? { nodePort } : {}),
        ...(lb !== undefined ? { status: { loadBalancer: { ingress: [{ ip: lb }] } } } : {}),
        health: {
          maxFails: p.spec.health.maxFails,
          failTimeoutMs: p.spec.health.failTimeoutMs,
          ...(p.spec.health.checkPath ? { checkPath: p.spec.health.checkPath, checkIntervalMs: p.spec.health.checkIntervalMs } : {}),
          ...(p.spec.health.tryDurationMs !== undefined ? { tryDurationMs: p.spec.health.tryDurationMs } : {}),
        },
        endpoints: p.endpoints.map((e) => {
          const active = p.activeHealth.get(e.address);
          return {
            address: e.address,
            inRotation: p.isAvailable(e, now),
            passive: p.ejectedForMs(e, now) > 0 ? { ejectedForMs: p.ejectedForMs(e, now) } : "ok",
            active: active === undefined ? (p.spec.health.checkPath ? "pending" : "off") : active ? "healthy" : "unhealthy",
          };
        }),
      };
    }),
    tls: snapshot.tls.entries().map((t) => ({
      host: t.host,
      ingress: t.ingress,
      certificate: t.context ? "secret" : "local-ca",
      ...(t.secret ? { secret: t.secret } : {}),
      ...(t.notAfter ? { notAfter: t.notAfter.toISOString() } : {}),
    })),
    localCa: localCa
      ? {
          certPath: localCa.certPath,
          leaves: localCa.leaves.map((l) => ({
            host: l.host,
            notAfter: l.notAfter.toISOString(),
            daysLeft: Math.floor((l.notAfter.getTime() - now) / DAY_MS),
            ...(l.default ? { default: true } : {}),
          })),
        }
      : null,
    listeners: listeners.map((l) => ({ address: l.address, port: l.port, kind: l.kind, service: l.service, backend: l.backend, state: l.state, connections: l.connections, ...(l.error ? { error: l.error } : {}) })),
  };
}

/** An error that dropped rules, with where their requests go now (`nowGoesTo`). */
function withDestinations(snapshot: Snapshot, issue: ConfigIssue) {
  if (!issue.dropped) return issue;
  const { dropped, ...rest } = issue;
  return { ...rest, nowGoesTo: dropped.map((rule) => nowGoesTo(snapshot.routes, rule)) };
}

/** The Gateway API status with a one-line `summary` of each condition list (as `ingressd check` prints it), for the dashboard. */
function withSummaries(status: GatewayApiStatus) {
  return {
    gatewayClasses: status.gatewayClasses.map((c) => ({ ...c, summary: describeStatusConditions(c.conditions) })),
    gateways: status.gateways.map((g) => ({
      ...g,
      summary: describeStatusConditions(g.conditions),
      listeners: g.listeners.map((l) => ({ ...l, summary: describeStatusConditions(l.conditions) })),
    })),
    httpRoutes: status.httpRoutes.map((r) => ({ ...r, parents: r.parents.map((p) => ({ ...p, summary: describeStatusConditions(p.conditions) })) })),
  };
}
