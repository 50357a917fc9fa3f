/**
 * Kubernetes objects for the cluster-source tests, in the shapes kubectl sends them
 * (the test API server fills in what the server owns).
 */
type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [k: string]: unknown }; [k: string]: unknown };

export function namespace(name: string, labels: Record<string, string> = {}): Obj {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { "kubernetes.io/metadata.name": name, ...labels } } };
}

/** A ClusterIP Service with one port (80) → targetPort named `http`. */
export function service(ns: string, name: string, opts: { clusterIP?: string; type?: string; port?: number } = {}): Obj {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: ns },
    spec: { type: opts.type ?? "ClusterIP", clusterIP: opts.clusterIP ?? "10.96.0.10", selector: { app: name }, ports: [{ name: "http", port: opts.port ?? 80, targetPort: "http", protocol: "TCP" }] },
  };
}

/** The EndpointSlice the endpoint controller would make for `service`: pod addresses on port `http`. */
export function endpointSlice(ns: string, svc: string, ports: number[], opts: { ready?: boolean } = {}): Obj[] {
  // One slice per port: a slice has one port list for all its endpoints, and each test upstream has its own port.
  return ports.map((port, i) => ({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: `${svc}-${i}`, namespace: ns, labels: { "kubernetes.io/service-name": svc, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io" } },
    addressType: "IPv4",
    endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: opts.ready ?? true } }],
    ports: [{ name: "http", port, protocol: "TCP" }],
  }));
}

export function ingress(
  ns: string,
  name: string,
  host: string,
  svc: string,
  opts: { path?: string; pathType?: string; className?: string | null; annotations?: Record<string, string>; tlsSecret?: string; port?: number } = {},
): Obj {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name, namespace: ns, ...(opts.annotations ? { annotations: opts.annotations } : {}) },
    spec: {
      ...(opts.className === null ? {} : { ingressClassName: opts.className ?? "ingressd" }),
      ...(opts.tlsSecret ? { tls: [{ hosts: [host], secretName: opts.tlsSecret }] } : {}),
      rules: [{ host, http: { paths: [{ path: opts.path ?? "/", pathType: opts.pathType ?? "Prefix", backend: { service: { name: svc, port: { number: opts.port ?? 80 } } } }] } }],
    },
  };
}

export function ingressClass(name = "ingressd", controller = "ingressd.io/ingress-controller"): Obj {
  return { apiVersion: "networking.k8s.io/v1", kind: "IngressClass", metadata: { name }, spec: { controller } };
}

export function tlsSecret(ns: string, name: string, pem: { cert: string; key: string }): Obj {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace: ns },
    type: "kubernetes.io/tls",
    data: { "tls.crt": Buffer.from(pem.cert).toString("base64"), "tls.key": Buffer.from(pem.key).toString("base64") },
  };
}

export function gateway(ns: string, name: string, className = "ingressd"): Obj {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name, namespace: ns },
    spec: { gatewayClassName: className, listeners: [{ name: "http", protocol: "HTTP", port: 80 }] },
  };
}

export function httpRoute(ns: string, name: string, gatewayName: string, host: string, svc: string): Obj {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name, namespace: ns },
    spec: { parentRefs: [{ name: gatewayName }], hostnames: [host], rules: [{ backendRefs: [{ name: svc, port: 80 }] }] },
  };
}

/** The objects most cluster tests start from: namespace `shop`, the IngressClass `ingressd`, Service `web` on `port`'s pods, and the Ingress `web` for shop.example. */
export function shopWeb(port: number): Obj[] {
  return [namespace("shop"), ingressClass(), service("shop", "web"), ...endpointSlice("shop", "web", [port]), ingress("shop", "web", "shop.example", "web")];
}
