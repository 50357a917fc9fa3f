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

// Gateway API v1.5 (the experimental channel's CRDs, a superset of the standard one), newer
// than the v1.0.0 schema package: a field v1.5 defines is never "unknown" here even where
// ingressd does not support it (those are warned about by the semantic checks instead).
const LOCAL_REFERENCE: Shape = { group: null, kind: null, name: null };
const SECRET_REFERENCE: Shape = { group: null, kind: null, name: null, namespace: null };
const BACKEND_REFERENCE: Shape = { group: null, kind: null, name: null, namespace: null, port: null };
const LABEL_SELECTOR: Shape = { matchExpressions: { key: null, operator: null, values: null }, matchLabels: null };
const ROUTE_NAMESPACES: Shape = { from: null, selector: LABEL_SELECTOR };
const FRONTEND_TLS: Shape = { validation: { caCertificateRefs: SECRET_REFERENCE, mode: null } };
const HEADER_MODIFIER: Shape = { add: { name: null, value: null }, remove: null, set: { name: null, value: null } };
const PATH_MODIFIER: Shape = { replaceFullPath: null, replacePrefixMatch: null, type: null };
const HTTP_ROUTE_FILTER: Shape = {
  cors: { allowCredentials: null, allowHeaders: null, allowMethods: null, allowOrigins: null, exposeHeaders: null, maxAge: null },
  extensionRef: LOCAL_REFERENCE,
  externalAuth: {
    backendRef: BACKEND_REFERENCE, forwardBody: { maxSize: null }, grpc: { allowedHeaders: null },
    http: { allowedHeaders: null, allowedResponseHeaders: null, path: null }, protocol: null,
  },
  requestHeaderModifier: HEADER_MODIFIER,
  requestMirror: { backendRef: BACKEND_REFERENCE, fraction: { denominator: null, numerator: null }, percent: null },
  requestRedirect: { hostname: null, path: PATH_MODIFIER, port: null, scheme: null, statusCode: null },
  responseHeaderModifier: HEADER_MODIFIER,
  type: null,
  urlRewrite: { hostname: null, path: PATH_MODIFIER },
};

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
  Namespace: { spec: { finalizers: null }, status: null },
  GatewayClass: { spec: { controllerName: null, description: null, parametersRef: { group: null, kind: null, name: null, namespace: null } }, status: null },
  Gateway: {
    spec: {
      addresses: { type: null, value: null },
      allowedListeners: { namespaces: ROUTE_NAMESPACES },
      defaultScope: null,
      gatewayClassName: null,
      infrastructure: { annotations: null, labels: null, parametersRef: LOCAL_REFERENCE },
      listeners: {
        allowedRoutes: { kinds: { group: null, kind: null }, namespaces: ROUTE_NAMESPACES },
        hostname: null, name: null, port: null, protocol: null,
        tls: { certificateRefs: SECRET_REFERENCE, mode: null, options: null },
      },
      tls: {
        backend: { clientCertificateRef: SECRET_REFERENCE },
        frontend: { default: FRONTEND_TLS, perPort: { port: null, tls: FRONTEND_TLS } },
      },
    },
    status: null,
  },
  HTTPRoute: {
    spec: {
      hostnames: null,
      parentRefs: { group: null, kind: null, name: null, namespace: null, port: null, sectionName: null },
      rules: {
        backendRefs: { ...BACKEND_REFERENCE, filters: HTTP_ROUTE_FILTER, weight: null },
        filters: HTTP_ROUTE_FILTER,
        matches: {
          headers: { name: null, type: null, value: null },
          method: null,
          path: { type: null, value: null },
          queryParams: { name: null, type: null, value: null },
        },
        name: null,
        retry: { attempts: null, backoff: null, codes: null },
        sessionPersistence: { absoluteTimeout: null, cookie: { lifetimeType: null, name: null, path: null }, header: { name: null }, type: null },
        timeouts: { backendRequest: null, request: null },
      },
      useDefaultGateways: null,
    },
    status: null,
  },
  ReferenceGrant: { spec: { from: { group: null, kind: null, namespace: null }, to: { group: null, kind: null, name: null } } },
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
