import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { get, nextReload, startProxy, startUpstream, type Upstream } from "./helpers.js";
import { endpointSlice, ingress, ingressClass, service, tlsSecret, shopWeb } from "./clusterObjects.js";
import { createTestCa, handshake } from "./tlsHelpers.js";
import { eventually, startApiServer, startClusterIngressd } from "./clusterHelpers.js";
import type { KubeApiServer } from "./kube/apiServer.js";

/**
 * `--source kubernetes` against the test API server, reached through a kubeconfig as a
 * real cluster would be: list, watch, events of each kind, 410 relists, dropped watches.
 */
describe("the Kubernetes API as the configuration source", () => {
  let api: KubeApiServer;
  let kubeconfig: string;
  let closeApi: () => Promise<void>;
  let shop: Upstream;
  let blog: Upstream;
  const running: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    ({ api, kubeconfig, close: closeApi } = await startApiServer());
    shop = await startUpstream("shop");
    blog = await startUpstream("blog");
    for (const o of shopWeb(shop.port)) api.create(o);
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((r) => r.close()));
  });
  afterAll(async () => {
    await closeApi();
    await shop.close();
    await blog.close();
  });

  const start = async (...args: Parameters<typeof startClusterIngressd> extends [string, ...infer R] ? R : never) => {
    const d = await startClusterIngressd(kubeconfig, ...args);
    running.push(d);
    return d;
  };

  it("serves what the first list holds, to the EndpointSlice's pod addresses, and says it is connected", async () => {
    const before = api.requests.length;
    const d = await start();
    const res = await get(`${d.url}/`, { host: "shop.example" });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).name).toBe("shop");
    const config = JSON.parse((await get(`${d.admin}/api/config`)).body);
    expect(config.source).toMatchObject({ kind: "kubernetes", connected: true, server: api.url });
    expect(Date.parse(config.source.since)).not.toBeNaN();
    expect(config.files.map((f: { path: string }) => f.path)).toContain("kubernetes:Ingress/shop/web");
    expect((await get(`${d.admin}/readyz`)).status).toBe(200);
    // Each kind listed (paged) and watched from the list's resourceVersion, with bookmarks asked for.
    const seen = api.requests.slice(before);
    for (const path of ["/api/v1/services", "/apis/discovery.k8s.io/v1/endpointslices", "/apis/networking.k8s.io/v1/ingresses", "/apis/networking.k8s.io/v1/ingressclasses", "/api/v1/namespaces", "/apis/gateway.networking.k8s.io/v1/httproutes"]) {
      const list = seen.find((r) => r.path === path && r.query.watch === undefined);
      expect(list, `list of ${path}`).toBeDefined();
      expect(list!.query.limit).toBe("500");
      const watch = seen.find((r) => r.path === path && (r.query.watch === "true" || r.query.watch === "1"));
      expect(watch, `watch of ${path}`).toBeDefined();
      expect(watch!.query.allowWatchBookmarks).toBe("true");
      expect(Number(watch!.query.resourceVersion)).toBeGreaterThan(0);
    }
  });

  it("applies ADDED, MODIFIED and DELETED events as reloads", async () => {
    const d = await start();
    api.create(service("shop", "blog"));
    for (const s of endpointSlice("shop", "blog", [blog.port])) api.create(s);
    let reloaded = nextReload(d, (s) => s.routes.hostCount === 2);
    api.create(ingress("shop", "blog", "blog.example", "blog"));
    await reloaded;
    expect(JSON.parse((await get(`${d.url}/`, { host: "blog.example" })).body).name).toBe("blog");

    // MODIFIED: the Ingress now sends shop.example to the blog Service.
    reloaded = nextReload(d, (s) => s.routes.routes().some((r) => r.match.host === "shop.example" && r.backends[0]!.backend.key.startsWith("shop/blog")));
    api.update(ingress("shop", "web", "shop.example", "blog"));
    await reloaded;
    expect(JSON.parse((await get(`${d.url}/`, { host: "shop.example" })).body).name).toBe("blog");
    api.update(ingress("shop", "web", "shop.example", "web"));
    await nextReload(d, (s) => s.routes.routes().some((r) => r.match.host === "shop.example" && r.backends[0]!.backend.key.startsWith("shop/web")));

    // DELETED
    reloaded = nextReload(d, (s) => s.routes.hostCount === 1);
    api.remove("ingresses", "shop", "blog");
    await reloaded;
    expect((await get(`${d.url}/`, { host: "blog.example" })).status).toBe(404);
    api.remove("services", "shop", "blog");
    for (const s of api.list("endpointslices").filter((o) => o.metadata.name.startsWith("blog-"))) api.remove("endpointslices", "shop", s.metadata.name);
  });

  it("after a watch drops mid-stream, watches again from where it was and misses nothing", async () => {
    const d = await start();
    const rewatch = api.nextWatch("ingresses");
    api.dropWatches();
    const again = await rewatch;
    expect(Number(again.query.resourceVersion)).toBeGreaterThan(0);
    const reloaded = nextReload(d, (s) => s.routes.routes().some((r) => r.match.host === "shop.example" && r.match.path === "/v2"));
    api.update(ingress("shop", "web", "shop.example", "web", { path: "/v2" }));
    await reloaded;
    expect((await get(`${d.url}/v2/x`, { host: "shop.example" })).status).toBe(200);
    api.update(ingress("shop", "web", "shop.example", "web"));
    await nextReload(d, (s) => s.routes.routes().some((r) => r.match.host === "shop.example" && r.match.path === "/"));
  });

  it("lists again after 410 Gone, and what was deleted meanwhile is gone", async () => {
    const d = await start();
    api.create(ingress("shop", "old", "old.example", "web"));
    await nextReload(d, (s) => s.routes.hostCount === 2);
    // The API server goes away; meanwhile one Ingress is deleted and history is compacted.
    await api.stop();
    api.remove("ingresses", "shop", "old");
    api.create(ingress("shop", "new", "new.example", "web"));
    api.compact();
    const relisted = api.nextRequest("GET", "/apis/networking.k8s.io/v1/ingresses");
    const reloaded = nextReload(d, (s) => s.routes.routes().some((r) => r.match.host === "new.example") && !s.routes.routes().some((r) => r.match.host === "old.example"));
    await api.start();
    await relisted;
    await reloaded;
    expect((await get(`${d.url}/`, { host: "old.example" })).status).toBe(404);
    expect((await get(`${d.url}/`, { host: "new.example" })).status).toBe(200);
    api.remove("ingresses", "shop", "new");
    await nextReload(d, (s) => s.routes.hostCount === 1);
  });

  it("keeps serving the last configuration while the API server is gone for 30 s, says so, and catches up when it is back", { timeout: 60_000 }, async () => {
    const d = await start();
    await api.stop();
    const lost = Date.now();
    // The source notices at its next list or watch: the watches are cut, so at once.
    let config = await eventually(async () => {
      const c = JSON.parse((await get(`${d.admin}/api/config`)).body);
      return c.source.connected ? undefined : c;
    }, 10_000, "the source to notice");
    expect(config.source).toMatchObject({ kind: "kubernetes", connected: false });
    expect(Date.parse(config.source.since)).toBeGreaterThanOrEqual(lost - 1000);
    expect(config.source.error).toBeTruthy();
    // A change made meanwhile, seen only once the API server is back.
    api.update(ingress("shop", "web", "shop.example", "web", { path: "/while-gone" }));
    let served = 0;
    while (Date.now() - lost < 30_000) {
      const res = await get(`${d.url}/`, { host: "shop.example" });
      expect(res.status).toBe(200);
      served++;
      expect((await get(`${d.admin}/readyz`)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(served).toBeGreaterThan(100);
    const reloaded = nextReload(d, (s) => s.routes.routes().some((r) => r.match.path === "/while-gone"));
    await api.start();
    await reloaded;
    // Connected once every kind's informer is back (each retries on its own backoff).
    config = await eventually(async () => {
      const c = JSON.parse((await get(`${d.admin}/api/config`)).body);
      return c.source.connected ? c : undefined;
    }, 10_000, "the source to reconnect");
    expect(config.source.error).toBeUndefined();
    api.update(ingress("shop", "web", "shop.example", "web"));
    await nextReload(d, (s) => s.routes.routes().some((r) => r.match.path === "/"));
  });

  it("reads a TLS Secret by name only once an Ingress refers to it, never lists or watches Secrets, and reads it again on the refresh", async () => {
    const ca = await createTestCa();
    const first = await ca.issue(["secure.example"]);
    const second = await ca.issue(["secure.example"]);
    api.create(tlsSecret("shop", "secure-tls", first));
    api.create(tlsSecret("shop", "unrelated", first));
    const before = api.requests.length;
    const d = await start({}, { clusterTimings: { backoffInitialMs: 100, backoffMaxMs: 1_000, secretRefreshMs: 500 } });
    const secretReads = () => api.requests.slice(before).filter((r) => r.path.includes("/secrets"));
    expect(secretReads()).toEqual([]);

    const read = api.nextRequest("GET", "/api/v1/namespaces/shop/secrets/secure-tls");
    const reloaded = nextReload(d, (s) => s.tls.size > 0);
    api.create(ingress("shop", "secure", "secure.example", "web", { tlsSecret: "secure-tls" }));
    await read;
    await reloaded;
    const port = await d.httpsReady();
    const tls1 = await handshake(port, "secure.example", { ca: ca.certPem });
    expect(tls1.fingerprint256).toBe(first.fingerprint256);

    // Renewed in the cluster (cert-manager): served after the next refresh, without any watch.
    const renewed = nextReload(d, () => true);
    api.update(tlsSecret("shop", "secure-tls", second));
    await renewed;
    const tls2 = await handshake(port, "secure.example", { ca: ca.certPem });
    expect(tls2.fingerprint256).toBe(second.fingerprint256);

    const reads = secretReads();
    expect(reads.every((r) => r.method === "GET" && r.path === "/api/v1/namespaces/shop/secrets/secure-tls" && r.query.watch === undefined)).toBe(true);
    api.remove("ingresses", "shop", "secure");
    await nextReload(d, (s) => s.tls.size === 0);
    api.remove("secrets", "shop", "secure-tls");
    api.remove("secrets", "shop", "unrelated");
  });

  it("rejects a bad object alone, naming it, its line and field, and keeps its last good version serving", async () => {
    const d = await start();
    const reloaded = nextReload(d, (s) => s.issues.some((i) => i.severity === "error" && i.file === "kubernetes:Ingress/shop/web"));
    const bad = ingress("shop", "web", "shop.example", "web", { path: "/new", pathType: "Prefixx" });
    api.update(bad);
    const s = await reloaded;
    const issue = s.issues.find((i) => i.severity === "error" && i.file === "kubernetes:Ingress/shop/web")!;
    expect(issue.field).toContain("pathType");
    expect(issue.line).toBeGreaterThan(1);
    expect(issue.message).toMatch(/last good version/);
    // The last good version (path /) still serves.
    expect((await get(`${d.url}/`, { host: "shop.example" })).status).toBe(200);
    api.update(ingress("shop", "web", "shop.example", "web"));
    await nextReload(d, (s) => !s.issues.some((i) => i.severity === "error"));
  });

  it("service-upstream \"true\" sends to the Service's cluster IP and port instead of the EndpointSlice's pods", async () => {
    // kube-proxy's cluster IP, standing in: an upstream on 127.0.0.3 at the Service's port.
    const pods = await startUpstream("pods");
    const viaClusterIp = await startUpstream("cluster-ip", "127.0.0.3");
    const port = viaClusterIp.port;
    api.create(service("shop", "api", { clusterIP: "127.0.0.3", port }));
    for (const s of endpointSlice("shop", "api", [pods.port])) api.create(s);
    api.create(ingress("shop", "api-pods", "pods.example", "api", { port }));
    api.create(ingress("shop", "api-vip", "vip.example", "api", { port, annotations: { "nginx.ingress.kubernetes.io/service-upstream": "true" } }));
    const d = await start();
    expect(JSON.parse((await get(`${d.url}/`, { host: "pods.example" })).body).name).toBe("pods");
    expect(JSON.parse((await get(`${d.url}/`, { host: "vip.example" })).body).name).toBe("cluster-ip");
    const config = JSON.parse((await get(`${d.admin}/api/config`)).body);
    expect(config.hosts["vip.example"][0].endpoints).toEqual([`127.0.0.3:${port}`]);
    expect(config.warnings.filter((w: { code: string }) => w.code === "unsupported-annotation")).toEqual([]);
    // A headless Service has no cluster IP (and it cannot be changed): its pods, with a warning at the annotation.
    api.create(service("shop", "headless", { clusterIP: "None", port }));
    for (const s of endpointSlice("shop", "headless", [pods.port])) api.create(s);
    const reloaded = nextReload(d, (s) => s.issues.some((i) => i.code === "service-upstream-without-cluster-ip" && i.file === "kubernetes:Ingress/shop/headless"));
    api.create(ingress("shop", "headless", "headless.example", "headless", { port, annotations: { "nginx.ingress.kubernetes.io/service-upstream": "true" } }));
    await reloaded;
    expect(JSON.parse((await get(`${d.url}/`, { host: "headless.example" })).body).name).toBe("pods");
    for (const name of ["api-pods", "api-vip", "headless"]) api.remove("ingresses", "shop", name);
    for (const s of api.list("endpointslices").filter((o) => /^(api|headless)-/.test(o.metadata.name))) api.remove("endpointslices", "shop", s.metadata.name);
    api.remove("services", "shop", "api");
    api.remove("services", "shop", "headless");
    await Promise.all([pods.close(), viaClusterIp.close()]);
  });

  it("serves an Ingress without a class only while ingressd's IngressClass is the cluster's default, and names other classes' Ingresses only as ignored", async () => {
    api.create(ingress("shop", "classless", "classless.example", "web", { className: null }));
    api.create(ingress("shop", "nginx", "nginx.example", "web", { className: "nginx" }));
    const d = await start();
    expect((await get(`${d.url}/`, { host: "classless.example" })).status).toBe(404);
    expect((await get(`${d.url}/`, { host: "nginx.example" })).status).toBe(404);
    let config = JSON.parse((await get(`${d.admin}/api/config`)).body);
    expect(config.ignored.map((i: { ingress: string }) => i.ingress).sort()).toEqual(["shop/classless", "shop/nginx"]);
    expect(config.warnings.filter((w: { code: string }) => w.code === "other-ingress-class")).toEqual([]);
    const reloaded = nextReload(d, (s) => s.ingresses.includes("shop/classless"));
    api.update({ ...ingressClass(), metadata: { name: "ingressd", annotations: { "ingressclass.kubernetes.io/is-default-class": "true" } } });
    await reloaded;
    expect(JSON.parse((await get(`${d.url}/`, { host: "classless.example" })).body).name).toBe("shop");
    config = JSON.parse((await get(`${d.admin}/api/config`)).body);
    expect(config.ignored.map((i: { ingress: string }) => i.ingress)).toEqual(["shop/nginx"]);
    api.update(ingressClass());
    await nextReload(d, (s) => !s.ingresses.includes("shop/classless"));
    api.remove("ingresses", "shop", "classless");
    api.remove("ingresses", "shop", "nginx");
  });

  it("opens no NodePort or LoadBalancer listener for the cluster's Services: kube-proxy does, and ingressd's own Service is one", async () => {
    api.create({ apiVersion: "v1", kind: "Service", metadata: { name: "edge", namespace: "shop" }, spec: { type: "LoadBalancer", clusterIP: "10.96.0.50", ports: [{ name: "http", port: 80, targetPort: "http", nodePort: 31080 }] } });
    const d = await start();
    expect(d.runtime.current.l4.listeners).toEqual([]);
    const config = JSON.parse((await get(`${d.admin}/api/config`)).body);
    expect(config.listeners).toEqual([]);
    api.remove("services", "shop", "edge");
  });

  it("in a pod, reads the cluster with its service account (token and CA files, KUBERNETES_SERVICE_HOST/PORT), without a kubeconfig", async () => {
    const root = await mkdtemp(join(tmpdir(), "ingressd-sa-"));
    const dir = join(root, "var/run/secrets/kubernetes.io/serviceaccount");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "token"), api.token);
    await writeFile(join(dir, "ca.crt"), api.ca);
    await writeFile(join(dir, "namespace"), "ingressd");
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    // client-node reads these two from the process environment, as in a pod.
    process.env.KUBERNETES_SERVICE_HOST = "127.0.0.1";
    process.env.KUBERNETES_SERVICE_PORT = new URL(api.url).port;
    try {
      const d = await startProxy([], { cluster: { inCluster: true, serviceAccountRoot: root, leaseNamespace: "ingressd", identity: "pod-0" } });
      running.push(d);
      expect(JSON.parse((await get(`${d.url}/`, { host: "shop.example" })).body).name).toBe("shop");
      expect(JSON.parse((await get(`${d.admin}/api/config`)).body).source).toMatchObject({ connected: true, server: `https://127.0.0.1:${new URL(api.url).port}` });
    } finally {
      for (const [k, v] of [["KUBERNETES_SERVICE_HOST", saved.host], ["KUBERNETES_SERVICE_PORT", saved.port]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await rm(root, { recursive: true, force: true });
    }
  });

  it("a kind it may not list (RBAC) does not hold the first sync: it serves without it, ready, and says so", async () => {
    api.forbidden.add("httproutes");
    try {
      const d = await start({}, { clusterTimings: { backoffInitialMs: 100, backoffMaxMs: 1_000, secretRefreshMs: 60_000 } });
      expect(JSON.parse((await get(`${d.url}/`, { host: "shop.example" })).body).name).toBe("shop");
      const config = JSON.parse((await get(`${d.admin}/api/config`)).body);
      expect(config.source.connected).toBe(true);
      const warning = config.warnings.find((w: { code: string }) => w.code === "kubernetes-forbidden");
      expect(warning.message).toContain("may not list and watch httproutes");
      expect(warning.message).toContain("forbidden");
      expect((await get(`${d.admin}/readyz`)).status).toBe(200);
    } finally {
      api.forbidden.delete("httproutes");
    }
  });

  it("bookmarks advance its resourceVersion: after a compaction, a dropped watch resumes from the bookmark without listing again", async () => {
    const d = await start();
    // Writes to other kinds move the cluster's resourceVersion past the Ingress watch's last event.
    for (let i = 0; i < 5; i++) api.create({ apiVersion: "v1", kind: "Event", metadata: { name: `noise-${i}`, namespace: "shop" }, involvedObject: {}, reason: "Noise" } as never);
    const rv = api.resourceVersion;
    api.bookmark();
    // The bookmark reaches the informer: wait until a re-watch asks from it.
    let rewatch = api.nextWatch("ingresses");
    api.endWatches();
    expect((await rewatch).query.resourceVersion).toBe(rv);
    api.compact();
    const before = api.requests.length;
    rewatch = api.nextWatch("ingresses");
    api.dropWatches();
    const again = await rewatch;
    expect(again.query.resourceVersion).toBe(rv);
    const relists = api.requests.slice(before).filter((r) => r.path === "/apis/networking.k8s.io/v1/ingresses" && r.query.watch === undefined);
    expect(relists).toEqual([]);
    expect((await get(`${d.url}/`, { host: "shop.example" })).status).toBe(200);
    for (let i = 0; i < 5; i++) api.remove("events", "shop", `noise-${i}`);
  });
});
