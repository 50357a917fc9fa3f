import { afterEach, describe, expect, it } from "vitest";
import { eventually, startApiServer, startClusterIngressd } from "./clusterHelpers.js";
import { endpointSlice, ingress, ingressClass, namespace, service } from "./clusterObjects.js";
import { freePort, get, nextReload, startUpstream, type Upstream } from "./helpers.js";
import type { KubeApiServer } from "./kube/apiServer.js";

/**
 * What `--source kubernetes` reads of a cluster, in process against the test API server:
 * one namespace, the namespaces a selector picks, a slow first list, a Lease another
 * replica left behind, and an older cluster without EndpointSlices.
 */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A fresh API server per test: its first lists, and what it serves, are each test's own. */
async function apiServer(): Promise<{ api: KubeApiServer; kubeconfig: string }> {
  const started = await startApiServer();
  cleanups.push(started.close);
  return started;
}

async function upstream(name: string): Promise<Upstream> {
  const u = await startUpstream(name);
  cleanups.push(() => u.close());
  return u;
}

async function ingressd(...args: Parameters<typeof startClusterIngressd>): ReturnType<typeof startClusterIngressd> {
  const d = await startClusterIngressd(...args);
  cleanups.push(() => d.close());
  return d;
}

/** A namespace with a Service `web` (its EndpointSlice to `port`) and an Ingress for `host`. */
function site(api: KubeApiServer, ns: string, host: string, port: number, labels: Record<string, string> = {}, className = "ingressd"): void {
  api.create(namespace(ns, labels));
  api.create(service(ns, "web"));
  for (const s of endpointSlice(ns, "web", [port])) api.create(s);
  api.create(ingress(ns, "web", host, "web", { className }));
}

const nameAt = async (url: string, host: string): Promise<string | number> => {
  const res = await get(`${url}/`, { host });
  return res.status === 200 ? (JSON.parse(res.body) as { name: string }).name : res.status;
};

describe("--namespace", () => {
  it("reads only that namespace's objects through its own paths, the cluster-scoped IngressClass still; another namespace's Ingress is not served", async () => {
    const { api, kubeconfig } = await apiServer();
    // The shop Ingress's class is served only through an IngressClass naming ingressd's controller.
    api.create(ingressClass("edge"));
    site(api, "shop", "shop.example", (await upstream("shop")).port, {}, "edge");
    site(api, "blog", "blog.example", (await upstream("blog")).port, {}, "edge");
    const d = await ingressd(kubeconfig, { namespace: "shop" });
    expect(await nameAt(d.url, "shop.example")).toBe("shop");
    expect(await nameAt(d.url, "blog.example")).toBe(404);

    const paths = new Set(api.requests.map((r) => r.path));
    for (const p of ["/api/v1/namespaces/shop/services", "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices", "/apis/networking.k8s.io/v1/namespaces/shop/ingresses"]) {
      expect(paths, p).toContain(p);
    }
    expect(paths).toContain("/apis/networking.k8s.io/v1/ingressclasses");
    // Nothing of all namespaces, nor of another one.
    for (const p of ["/api/v1/services", "/apis/discovery.k8s.io/v1/endpointslices", "/apis/networking.k8s.io/v1/ingresses"]) expect(paths, p).not.toContain(p);
    expect([...paths].filter((p) => p.includes("/namespaces/blog/"))).toEqual([]);
    // Its Namespace object alone, by a field selector.
    const namespaces = api.requests.find((r) => r.path === "/api/v1/namespaces" && r.query.watch === undefined);
    expect(namespaces?.query.fieldSelector).toBe("metadata.name=shop");

    // A change in another namespace is not seen; one in shop is.
    const reloaded = nextReload(d, (s) => s.routes.routes().some((r) => r.match.path === "/v2"));
    api.update(ingress("blog", "web", "blog.example", "web", { className: "edge", path: "/v1" }));
    api.update(ingress("shop", "web", "shop.example", "web", { className: "edge", path: "/v2" }));
    const snapshot = await reloaded;
    expect(snapshot.routes.routes().some((r) => r.match.path === "/v1")).toBe(false);
  });
});

describe("--watch-namespace-selector", () => {
  it("serves only the objects of namespaces the selector picks; labelling a namespace brings its Ingress in, unlabelling takes it out", async () => {
    const { api, kubeconfig } = await apiServer();
    api.create(ingressClass());
    site(api, "shop", "shop.example", (await upstream("shop")).port, { team: "shop" });
    site(api, "blog", "blog.example", (await upstream("blog")).port, { team: "blog" });
    const d = await ingressd(kubeconfig, { namespaceSelector: "team=shop" });
    expect(await nameAt(d.url, "shop.example")).toBe("shop");
    expect(await nameAt(d.url, "blog.example")).toBe(404);
    const namespaces = api.requests.find((r) => r.path === "/api/v1/namespaces" && r.query.watch === undefined);
    expect(namespaces?.query.labelSelector).toBe("team=shop");

    let reloaded = nextReload(d, (s) => s.routes.routes().some((r) => r.match.host === "blog.example"));
    api.update(namespace("blog", { team: "shop" }));
    await reloaded;
    expect(await nameAt(d.url, "blog.example")).toBe("blog");

    reloaded = nextReload(d, (s) => !s.routes.routes().some((r) => r.match.host === "blog.example"));
    api.update(namespace("blog", { team: "blog" }));
    await reloaded;
    expect(await nameAt(d.url, "blog.example")).toBe(404);
    expect(await nameAt(d.url, "shop.example")).toBe("shop");
  });
});

describe("the first list", () => {
  it("while a slow first list lasts /readyz answers 503; then 200, and the Ingress is served", async () => {
    const { api, kubeconfig } = await apiServer();
    api.create(ingressClass());
    site(api, "shop", "shop.example", (await upstream("shop")).port);
    api.listDelayMs = 1_500;
    api.listDelayFirstOnly = true;
    const adminPort = await freePort();
    const started = startClusterIngressd(kubeconfig, {}, { adminPort });
    cleanups.push(async () => (await started).close());
    const readyz = `http://127.0.0.1:${adminPort}/readyz`;
    // The admin port opens first: its first answer comes while the lists are delayed.
    const first = await eventually(() => get(readyz).then((r) => r, () => undefined), 10_000, "the admin port");
    expect(first.status).toBe(503);
    expect(first.body).toContain("configuration not loaded yet");
    await eventually(async () => (await get(readyz)).status === 200, 10_000, "/readyz 200");
    const d = await started;
    expect(await nameAt(d.url, "shop.example")).toBe("shop");
  });
});

describe("leader election", () => {
  it("a Lease another identity holds is taken over only once its duration passed since this replica first saw it", async () => {
    const { api, kubeconfig } = await apiServer();
    api.create(namespace("ingressd"));
    const longAgo = new Date(Date.now() - 3_600_000).toISOString();
    api.create({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "ingressd-leader", namespace: "ingressd" },
      spec: { holderIdentity: "ghost", leaseDurationSeconds: 2, acquireTime: longAgo, renewTime: longAgo, leaseTransitions: 3 },
    });
    const lease = (): { holderIdentity?: string; leaseTransitions?: number } => api.get("leases", "ingressd", "ingressd-leader")!.spec as { holderIdentity?: string; leaseTransitions?: number };
    const t0 = Date.now();
    const d = await ingressd(kubeconfig, { identity: "ingressd-test-0" });
    // A renewTime an hour old says nothing on this replica's clock: the ghost may still be renewing.
    expect(lease().holderIdentity).toBe("ghost");
    const cluster = async (): Promise<{ leader: boolean; holder?: string }> => JSON.parse((await get(`${d.admin}/api/config`)).body).cluster;
    expect((await cluster()).leader).toBe(false);
    // It saw the ghost's record, and waits.
    expect(await eventually(async () => ((await cluster()).holder === "ghost" ? cluster() : undefined), 1_500, "the ghost seen")).toMatchObject({ leader: false });
    await eventually(() => lease().holderIdentity === "ingressd-test-0", 10_000, "the Lease taken over");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2_000);
    expect(lease().leaseTransitions).toBe(4);
    await eventually(async () => (await cluster()).leader, 5_000, "/api/config saying leader");
  });
});

describe("a cluster without EndpointSlices (before Kubernetes 1.21)", () => {
  it("serves from the Endpoints objects instead", async () => {
    const { api, kubeconfig } = await apiServer();
    api.unserved.add("endpointslices");
    const shop = await upstream("shop");
    api.create(ingressClass());
    api.create(namespace("shop"));
    api.create(service("shop", "web"));
    api.create({
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "web", namespace: "shop" },
      subsets: [{ addresses: [{ ip: "127.0.0.1" }], ports: [{ name: "http", port: shop.port, protocol: "TCP" }] }],
    });
    api.create(ingress("shop", "web", "shop.example", "web"));
    const d = await ingressd(kubeconfig);
    expect(await nameAt(d.url, "shop.example")).toBe("shop");
    expect(api.requests.some((r) => r.path === "/api/v1/endpoints" && r.query.watch !== undefined)).toBe(true);
  });
});
