import type { KindName } from "./resources.js";
import { editDistance } from "../model/editDistance.js";

/**
 * The fields below each kind's top level that Kubernetes defines, for the parts
 * ingressd reads (kubernetes-models ships compiled validators, not its schemas, so
 * the names are written out here). A field maps to the shape of its value (lists
 * take their items' shape); `null` leaves a value unchecked (maps, free-form objects).
 */
interface Shape {
  readonly [field: string]: Shape | null;
}

const OBJECT_REFERENCE: Shape = { apiVersion: null, fieldPath: null, kind: null, name: null, namespace: null, resourceVersion: null, uid: null };
const ENDPOINT_PORT: Shape = { appProtocol: null, name: null, port: null, protocol: null };
const SERVICE_BACKEND: Shape = { name: null, port: { name: null, number: null } };
const INGRESS_BACKEND: Shape = { resource: { apiGroup: null, kind: null, name: null }, service: SERVICE_BACKEND };

const SHAPES: Record<KindName, Shape> = {
  Service: {
    spec: {
      allocateLoadBalancerNodePorts: null, clusterIP: null, clusterIPs: null, externalIPs: null, externalName: null,
      externalTrafficPolicy: null, healthCheckNodePort: null, internalTrafficPolicy: null, ipFamilies: null, ipFamilyPolicy: null,
      loadBalancerClass: null, loadBalancerIP: null, loadBalancerSourceRanges: null,
      ports: { appProtocol: null, name: null, nodePort: null, port: null, protocol: null, targetPort: null },
      publishNotReadyAddresses: null, selector: null, sessionAffinity: null,
      sessionAffinityConfig: { clientIP: { timeoutSeconds: null } }, trafficDistribution: null, type: null,
    },
    status: null,
  },
  Endpoints: {
    subsets: {
      addresses: { hostname: null, ip: null, nodeName: null, targetRef: OBJECT_REFERENCE },
      notReadyAddresses: { hostname: null, ip: null, nodeName: null, targetRef: OBJECT_REFERENCE },
      ports: ENDPOINT_PORT,
    },
  },
  EndpointSlice: {
    addressType: null,
    endpoints: {
      addresses: null, conditions: { ready: null, serving: null, terminating: null }, deprecatedTopology: null, hints: null,
      hostname: null, nodeName: null, targetRef: OBJECT_REFERENCE, zone: null,
    },
    ports: ENDPOINT_PORT,
  },
  Ingress: {
    spec: {
      defaultBackend: INGRESS_BACKEND,
      ingressClassName: null,
      rules: { host: null, http: { paths: { backend: INGRESS_BACKEND, path: null, pathType: null } } },
      tls: { hosts: null, secretName: null },
    },
    status: null,
  },
  IngressClass: { spec: { controller: null, parameters: null } },
  Secret: { data: null, stringData: null, type: null, immutable: null },
  Namespace: { spec: null, status: null },
  // Gateway API kinds: not yet checked below their top level.
  GatewayClass: { spec: null, status: null },
  Gateway: { spec: null, status: null },
  HTTPRoute: { spec: null, status: null },
  ReferenceGrant: { spec: null },
};

export interface UnknownField {
  path: (string | number)[];
  /** The known sibling within edit distance 2, when there is one. */
  nearest?: string;
}

/** Keys below the top level that `kind` does not define (the top level and metadata are checked apart). */
export function unknownFields(kind: KindName, value: Record<string, unknown>): UnknownField[] {
  const out: UnknownField[] = [];
  for (const [field, shape] of Object.entries(SHAPES[kind])) if (shape) walk(value[field], shape, [field], out);
  return out;
}

function walk(value: unknown, shape: Shape, path: (string | number)[], out: UnknownField[]): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => walk(item, shape, [...path, i], out));
    return;
  }
  if (typeof value !== "object" || value === null) return;
  for (const [key, v] of Object.entries(value)) {
    if (!Object.hasOwn(shape, key)) {
      const found: UnknownField = { path: [...path, key] };
      const nearest = nearestField(key, Object.keys(shape));
      if (nearest !== undefined) found.nearest = nearest;
      out.push(found);
      continue;
    }
    const inner = shape[key];
    if (inner) walk(v, inner, [...path, key], out);
  }
}

function nearestField(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = k.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}
