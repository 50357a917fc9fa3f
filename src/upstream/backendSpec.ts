import type { ServicePort } from "kubernetes-types/core/v1.js";
import type { Loaded, ResourceSet } from "../config/resources.js";
import { ANNOTATIONS, parseDuration } from "../config/annotations.js";
import { fieldPath, type ConfigIssue } from "../model/issues.js";
import { backendKey, type BackendRef } from "../model/backendKey.js";

/** One upstream address. `host` is an IP, or a DNS name (ExternalName) resolved at connect time. */
export interface EndpointAddress {
  host: string;
  port: number;
}

/** TLS to every endpoint of a pool (backend-protocol HTTPS). */
export interface EndpointTls {
  /** SNI, and the name a verified certificate must carry. */
  serverName: string;
  /** PEM CAs to verify against; absent: not verified. */
  ca?: string;
  /** PEM client certificate and key. */
  cert?: string;
  key?: string;
}

/** How a pool chooses among its endpoints (`spec.sessionAffinity`). */
export type AffinitySpec = { kind: "None" } | { kind: "ClientIP"; timeoutSeconds: number };

/** Health settings of a pool, from the Service's `ingressd.io/*` annotations. */
export interface HealthSpec {
  /** Refused/reset connections within `failTimeoutMs` that take an endpoint out; 0 = never. */
  maxFails: number;
  /** The window for counting failures, and how long an endpoint then stays out. */
  failTimeoutMs: number;
  /** Active checks: GET this path on every endpoint (2xx/3xx = healthy). */
  checkPath?: string;
  checkIntervalMs: number;
  /** Hold a request this long while every endpoint refuses (undefined: the global default). */
  tryDurationMs?: number;
}

/** Plain data describing one Service port's pool; pools are (re)built from these. */
export interface BackendSpec {
  /** `namespace/service:port` */
  key: string;
  namespace: string;
  service: string;
  port: number;
  portName?: string;
  type: string;
  endpoints: EndpointAddress[];
  affinity: AffinitySpec;
  health: HealthSpec;
  /** Set when the endpoints are spoken to over TLS. */
  tls?: EndpointTls;
  /** Set when the endpoints are spoken to over HTTP/2 (gRPC): h2 over TLS with `tls`, else h2c. */
  http2?: true;
  /** Why this backend serves nothing (its TLS Secret is unusable): it answers 503 with this. */
  unavailable?: string;
  /** The Service's cluster IP, when it has one: where service-upstream sends. */
  clusterIP?: string;
}

export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;
export const DEFAULT_MAX_FAILS = 3;
export const DEFAULT_FAIL_TIMEOUT_MS = 10_000;
export const DEFAULT_CHECK_INTERVAL_MS = 5_000;

export interface ResolvedBackends {
  specs: Map<string, BackendSpec>;
  issues: ConfigIssue[];
}

/**
 * Resolves every Service port to its ready endpoints, the Kubernetes way: the
 * Endpoints/EndpointSlice port carrying the Service port's name gives the upstream
 * port; without one, a numeric targetPort (defaulting to `port`).
 */
export function resolveBackends(resources: ResourceSet, referencedRefs: Iterable<BackendRef> = []): ResolvedBackends {
  const referenced = [...referencedRefs];
  const issues: ConfigIssue[] = [];
  const specs = new Map<string, BackendSpec>();
  const endpointsByService = new Map(resources.endpoints.map((e) => [`${e.namespace}/${e.name}`, e]));
  const slicesByService = new Map<string, Loaded<"EndpointSlice">[]>();
  for (const s of resources.endpointSlices) {
    const key = `${s.namespace}/${s.object.metadata?.labels?.["kubernetes.io/service-name"]}`;
    slicesByService.set(key, [...(slicesByService.get(key) ?? []), s]);
  }

  for (const svc of resources.services) {
    const id = `${svc.namespace}/${svc.name}`;
    const spec = svc.object.spec ?? {};
    const type = spec.type ?? "ClusterIP";
    const affinity: AffinitySpec =
      spec.sessionAffinity === "ClientIP"
        ? { kind: "ClientIP", timeoutSeconds: spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS }
        : { kind: "None" };
    const health = healthSpec(svc.object.metadata?.annotations ?? {});
    const ports = spec.ports ?? [];
    // Nothing in a rules folder creates endpoints from a selector: without an Endpoints or
    // EndpointSlice the Service has no address to send to.
    if (type !== "ExternalName" && !endpointsByService.has(id) && !slicesByService.has(id)) {
      issues.push({
        severity: "warning",
        code: "no-endpoints",
        message: `Service ${id} has no Endpoints or EndpointSlice: requests to it will get 503`,
        field: "metadata.name",
        resource: svc.id,
        ...svc.locate(["metadata", "name"]),
      });
    }
    if (type === "ExternalName" && ports.length === 0) {
      // An ExternalName Service may declare no ports: the backends naming it say which.
      for (const ref of referenced) {
        if (ref.namespace !== svc.namespace || ref.service !== svc.name || typeof ref.port !== "number") continue;
        const key = backendKey(svc.namespace, svc.name, ref.port);
        specs.set(key, { key, namespace: svc.namespace, service: svc.name, port: ref.port, type, endpoints: [{ host: spec.externalName!, port: ref.port }], affinity, health });
      }
    }
    ports.forEach((sp, i) => {
      const endpoints =
        type === "ExternalName"
          ? [{ host: spec.externalName!, port: numericTarget(sp) ?? sp.port }]
          : serviceEndpoints(sp, ports.length, endpointsByService.get(id), slicesByService.get(id) ?? []);
      if (endpoints === undefined) {
        issues.push({
          severity: "error",
          code: "unresolved-target-port",
          message: `targetPort "${String(sp.targetPort)}" names no port of the Endpoints/EndpointSlices of Service ${id}`,
          field: fieldPath(["spec", "ports", i, "targetPort"]),
          resource: svc.id,
          ...svc.locate(["spec", "ports", i, "targetPort"]),
        });
      }
      const key = `${id}:${sp.port}`;
      const b: BackendSpec = {
        key,
        namespace: svc.namespace,
        service: svc.name,
        port: sp.port,
        type,
        endpoints: endpoints ?? [],
        affinity,
        health,
      };
      if (sp.name) b.portName = sp.name;
      if (spec.clusterIP && spec.clusterIP !== "None" && type !== "ExternalName") b.clusterIP = spec.clusterIP;
      specs.set(key, b);
    });
  }
  for (const ref of referenced) if ((ref.tls || ref.http2 || ref.serviceUpstream) && !specs.has(ref.key)) addProtocolVariant(specs, ref);
  return { specs, issues };
}

/**
 * A Service port spoken to over TLS, or over HTTP/2 (gRPC), gets a pool of its own, under
 * the route's key (`ns/svc:443+https…`, `ns/svc:50051+h2`): the same endpoints, each its
 * own Endpoint, so plain and TLS (or HTTP/1.1 and HTTP/2) connections to one address never
 * share a socket pool. SNI defaults to the Service's host name: the external name of an
 * ExternalName Service, else `service.namespace.svc`.
 */
function addProtocolVariant(specs: Map<string, BackendSpec>, ref: BackendRef): void {
  const base = specs.get(backendKey(ref.namespace, ref.service, ref.port));
  if (!base) return;
  const variant: BackendSpec = { ...base, key: ref.key, ...(ref.http2 ? { http2: true } : {}) };
  // service-upstream: one address, the cluster IP and Service port, which kube-proxy balances (ingress-nginx's way).
  if (ref.serviceUpstream && base.clusterIP !== undefined) variant.endpoints = [{ host: base.clusterIP, port: base.port }];
  if (ref.tls) {
    const { serverName, ca, cert, key, unusable } = ref.tls;
    const host = base.type === "ExternalName" ? base.endpoints[0]?.host : undefined;
    const tls: EndpointTls = { serverName: serverName ?? host ?? `${base.service}.${base.namespace}.svc` };
    if (ca !== undefined) tls.ca = ca;
    if (cert !== undefined && key !== undefined) Object.assign(tls, { cert, key });
    variant.tls = tls;
    if (unusable !== undefined) Object.assign(variant, { endpoints: [], unavailable: unusable });
  }
  specs.set(ref.key, variant);
}

/** Annotations were validated with the Service; malformed ones never get here. */
function healthSpec(annotations: Record<string, string>): HealthSpec {
  const duration = (name: string): number | undefined => {
    const v = annotations[name];
    return v === undefined ? undefined : parseDuration(v);
  };
  const maxFails = annotations[ANNOTATIONS.maxFails];
  const health: HealthSpec = {
    maxFails: maxFails === undefined ? DEFAULT_MAX_FAILS : Number(maxFails),
    failTimeoutMs: duration(ANNOTATIONS.failTimeout) ?? DEFAULT_FAIL_TIMEOUT_MS,
    checkIntervalMs: duration(ANNOTATIONS.healthCheckInterval) ?? DEFAULT_CHECK_INTERVAL_MS,
  };
  const path = annotations[ANNOTATIONS.healthCheckPath];
  if (path !== undefined) health.checkPath = path;
  const tryDuration = duration(ANNOTATIONS.tryDuration);
  if (tryDuration !== undefined) health.tryDurationMs = tryDuration;
  return health;
}

function numericTarget(sp: ServicePort): number | undefined {
  const t = sp.targetPort;
  if (t === undefined) return undefined;
  if (typeof t === "number") return t;
  return /^\d+$/.test(t) ? Number(t) : undefined;
}

/** Ready endpoints of one Service port; undefined when a named targetPort cannot be resolved. */
function serviceEndpoints(
  sp: ServicePort,
  servicePortCount: number,
  endpoints: Loaded<"Endpoints"> | undefined,
  slices: Loaded<"EndpointSlice">[],
): EndpointAddress[] | undefined {
  const name = sp.name ?? "";
  const fallback = numericTarget(sp) ?? (sp.targetPort === undefined ? sp.port : undefined);
  const out: EndpointAddress[] = [];
  const seen = new Set<string>();
  let unresolved = false;
  let skipped = false;
  const add = (host: string, port: number | undefined): void => {
    if (port === undefined) {
      unresolved = true;
      return;
    }
    const k = `${host}:${port}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push({ host, port });
    }
  };
  /** The endpoint port for this Service port; null when the subset lists only other ports. */
  const pickPort = (ports: readonly { name?: string; port?: number }[] | undefined): number | undefined | null => {
    if (!ports || ports.length === 0) return fallback;
    const match = ports.find((p) => (p.name ?? "") === name);
    if (match?.port !== undefined) return match.port;
    // One port on each side belong together when the endpoint port has no name:
    // hand-written Endpoints often leave it out.
    const lone = ports[0]!;
    if (ports.length === 1 && servicePortCount === 1 && !lone.name && lone.port !== undefined) return lone.port;
    skipped = true;
    return null; // as kube-proxy: this subset serves other ports of the Service
  };

  for (const subset of endpoints?.object.subsets ?? []) {
    const port = pickPort(subset.ports);
    if (port === null) continue;
    for (const a of subset.addresses ?? []) add(a.ip, port);
  }
  for (const slice of slices) {
    const port = pickPort(slice.object.ports?.map((p) => ({ name: p.name ?? "", port: p.port })));
    if (port === null) continue;
    for (const e of slice.object.endpoints) {
      if (e.conditions?.ready === false) continue;
      for (const a of e.addresses) add(a, port);
    }
  }
  // A named targetPort that no endpoint port carries is the user's mistake to hear about.
  const namedTarget = typeof sp.targetPort === "string" && numericTarget(sp) === undefined;
  return out.length === 0 && (unresolved || (skipped && namedTarget)) ? undefined : out;
}
