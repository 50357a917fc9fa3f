import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoordinationV1Api, CoreV1Api, KubeConfig, ListWatch, NetworkingV1Api, Watch, type V1Ingress } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KubeApiServer } from "./kube/apiServer.js";
import { kubeRequest, openWatch } from "./kube/rawClient.js";
import type { KubeObject } from "./kube/selectors.js";

const service = (name: string, labels: Record<string, string> = {}, namespace = "default"): KubeObject => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace, labels },
  spec: { ports: [{ port: 80 }] },
});

const ingress = (name: string, host: string, namespace = "default"): KubeObject => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "Ingress",
  metadata: { name, namespace },
  spec: { rules: [{ host, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "web", port: { number: 80 } } } }] } }] },
});

let server: KubeApiServer;
let dir: string;

beforeEach(async () => {
  server = new KubeApiServer();
  await server.start();
  dir = await mkdtemp(join(tmpdir(), "kubeapi-"));
});

afterEach(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

async function kubeConfig(): Promise<KubeConfig> {
  const kc = new KubeConfig();
  kc.loadFromFile(await server.writeKubeconfig(dir));
  return kc;
}

describe("test Kubernetes API server: HTTP", () => {
  it("answers 401 with a Status body without the bearer token, and with a wrong one", async () => {
    for (const token of [null, "wrong"]) {
      const res = await kubeRequest(server, "GET", "/api/v1/services", { token });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "Unauthorized", reason: "Unauthorized", code: 401 });
    }
    expect((await kubeRequest(server, "GET", "/api/v1/services")).status).toBe(200);
  });

  it("creates and reads objects in the real server's shapes: kind only on list items of CRDs", async () => {
    expect((await kubeRequest(server, "POST", "/api/v1/namespaces", { body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } } })).status).toBe(201);
    const created = await kubeRequest(server, "POST", "/api/v1/namespaces/shop/services", { body: service("web", { app: "web" }, "shop") });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ kind: "Service", apiVersion: "v1", metadata: { name: "web", namespace: "shop", labels: { app: "web" } } });
    expect(created.body.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.body.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(created.body.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(created.body.status).toEqual({ loadBalancer: {} });

    const got = await kubeRequest(server, "GET", "/api/v1/namespaces/shop/services/web");
    expect(got.body).toEqual(created.body);

    const list = await kubeRequest(server, "GET", "/api/v1/services");
    expect(list.body.kind).toBe("ServiceList");
    expect(list.body.apiVersion).toBe("v1");
    expect(list.body.metadata.resourceVersion).toBe(created.body.metadata.resourceVersion);
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0].kind).toBeUndefined();
    expect(list.body.items[0].apiVersion).toBeUndefined();

    const ing = await kubeRequest(server, "POST", "/apis/networking.k8s.io/v1/namespaces/shop/ingresses", { body: ingress("shop", "shop.test", "shop") });
    expect(ing.body.metadata.generation).toBe(1);
    expect((await kubeRequest(server, "GET", "/apis/networking.k8s.io/v1/ingresses")).body.items[0].kind).toBeUndefined();

    const route = { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute", metadata: { name: "r" }, spec: { hostnames: ["a.test"] } };
    expect((await kubeRequest(server, "POST", "/apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes", { body: route })).status).toBe(201);
    const routes = await kubeRequest(server, "GET", "/apis/gateway.networking.k8s.io/v1/httproutes");
    expect(routes.body).toMatchObject({ kind: "HTTPRouteList", apiVersion: "gateway.networking.k8s.io/v1" });
    expect(routes.body.items[0]).toMatchObject({ kind: "HTTPRoute", apiVersion: "gateway.networking.k8s.io/v1", metadata: { name: "r", namespace: "shop" } });
    // The same object through v1beta1: apiVersion as the request path says.
    const beta = await kubeRequest(server, "GET", "/apis/gateway.networking.k8s.io/v1beta1/namespaces/shop/httproutes/r");
    expect(beta.body).toMatchObject({ kind: "HTTPRoute", apiVersion: "gateway.networking.k8s.io/v1beta1", metadata: { uid: routes.body.items[0].metadata.uid } });
  });

  it("answers 404, 409 AlreadyExists and discovery as the real server", async () => {
    // A cluster starts with its namespaces; nothing is created in one that does not exist.
    const namespaces = (await kubeRequest(server, "GET", "/api/v1/namespaces")).body.items;
    expect(namespaces.map((n: KubeObject) => n.metadata.name)).toEqual(["default", "kube-node-lease", "kube-public", "kube-system"]);
    expect(namespaces[0]).toMatchObject({ metadata: { labels: { "kubernetes.io/metadata.name": "default" } }, status: { phase: "Active" } });
    const nowhere = await kubeRequest(server, "POST", "/api/v1/namespaces/nowhere/services", { body: service("web", {}, "nowhere") });
    expect(nowhere.status).toBe(404);
    expect(nowhere.body).toMatchObject({ reason: "NotFound", message: 'namespaces "nowhere" not found', details: { name: "nowhere", kind: "namespaces" } });
    const missing = await kubeRequest(server, "GET", "/apis/networking.k8s.io/v1/namespaces/default/ingresses/nope");
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({
      kind: "Status",
      status: "Failure",
      reason: "NotFound",
      message: 'ingresses.networking.k8s.io "nope" not found',
      details: { name: "nope", group: "networking.k8s.io", kind: "ingresses" },
      code: 404,
    });
    expect((await kubeRequest(server, "GET", "/apis/example.com/v1/widgets")).status).toBe(404);
    expect((await kubeRequest(server, "GET", "/nothing")).body).toMatchObject({ kind: "Status", code: 404 });

    await kubeRequest(server, "POST", "/api/v1/namespaces/default/services", { body: service("web") });
    const again = await kubeRequest(server, "POST", "/api/v1/namespaces/default/services", { body: service("web") });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ reason: "AlreadyExists", message: 'services "web" already exists', code: 409 });

    const groups = await kubeRequest(server, "GET", "/apis");
    expect(groups.body.kind).toBe("APIGroupList");
    expect(groups.body.groups.map((g: { name: string }) => g.name)).toEqual(
      expect.arrayContaining(["networking.k8s.io", "discovery.k8s.io", "coordination.k8s.io", "gateway.networking.k8s.io", "events.k8s.io"]),
    );
    const core = await kubeRequest(server, "GET", "/api/v1");
    expect(core.body.resources).toEqual(expect.arrayContaining([expect.objectContaining({ name: "namespaces", namespaced: false, kind: "Namespace" }), expect.objectContaining({ name: "services/status" })]));
    const gw = await kubeRequest(server, "GET", "/apis/gateway.networking.k8s.io/v1beta1");
    expect(gw.body.resources.map((r: { name: string }) => r.name)).toContain("referencegrants");
  });

  it("counts one resourceVersion across all kinds, bumped by every write and by no no-op", async () => {
    const rvs: number[] = [];
    rvs.push(Number((await kubeRequest(server, "POST", "/api/v1/namespaces/default/services", { body: service("a") })).body.metadata.resourceVersion));
    rvs.push(Number((await kubeRequest(server, "POST", "/apis/networking.k8s.io/v1/namespaces/default/ingresses", { body: ingress("i", "i.test") })).body.metadata.resourceVersion));
    const put = await kubeRequest(server, "PUT", "/api/v1/namespaces/default/services/a", { body: { ...service("a", { v: "2" }) } });
    rvs.push(Number(put.body.metadata.resourceVersion));
    rvs.push(Number((await kubeRequest(server, "DELETE", "/apis/networking.k8s.io/v1/namespaces/default/ingresses/i")).body.metadata.resourceVersion));
    for (let i = 1; i < rvs.length; i++) expect(rvs[i]).toBeGreaterThan(rvs[i - 1]!);
    // Writing the same object again changes nothing: same resourceVersion, as the real server.
    const same = await kubeRequest(server, "PUT", "/api/v1/namespaces/default/services/a", { body: put.body });
    expect(same.body.metadata.resourceVersion).toBe(put.body.metadata.resourceVersion);
    expect(server.resourceVersion).toBe(String(rvs[rvs.length - 1]));
  });

  it("PUT with a stale resourceVersion is a 409 Conflict; with the current one it writes", async () => {
    server.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "ingressd" } });
    const lease = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "ingressd-leader" }, spec: { holderIdentity: "a" } };
    const path = "/apis/coordination.k8s.io/v1/namespaces/ingressd/leases";
    const created = (await kubeRequest(server, "POST", path, { body: lease })).body;
    const first = await kubeRequest(server, "PUT", `${path}/ingressd-leader`, { body: { ...created, spec: { holderIdentity: "b" } } });
    expect(first.status).toBe(200);
    const stale = await kubeRequest(server, "PUT", `${path}/ingressd-leader`, { body: { ...created, spec: { holderIdentity: "c" } } });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ kind: "Status", reason: "Conflict", code: 409, details: { name: "ingressd-leader", group: "coordination.k8s.io", kind: "leases" } });
    expect(stale.body.message).toContain("the object has been modified");
    expect(server.get("leases", "ingressd", "ingressd-leader")!.spec).toEqual({ holderIdentity: "b" });
  });

  it("status subresource: the main resource keeps the status, /status changes only the status", async () => {
    const base = "/apis/networking.k8s.io/v1/namespaces/default/ingresses";
    const created = (await kubeRequest(server, "POST", base, { body: { ...ingress("i", "i.test"), status: { loadBalancer: { ingress: [{ ip: "9.9.9.9" }] } } } })).body;
    expect(created.status).toEqual({ loadBalancer: {} });
    const lb = { loadBalancer: { ingress: [{ ip: "10.0.0.1" }] } };
    const statusPut = await kubeRequest(server, "PUT", `${base}/i/status`, { body: { ...created, spec: { rules: [] }, metadata: { ...created.metadata, labels: { x: "y" } }, status: lb } });
    expect(statusPut.status).toBe(200);
    expect(statusPut.body.status).toEqual(lb);
    expect(statusPut.body.spec).toEqual(created.spec);
    expect(statusPut.body.metadata.labels).toBeUndefined();
    expect(statusPut.body.metadata.generation).toBe(1);

    const mainPut = await kubeRequest(server, "PUT", `${base}/i`, { body: { ...statusPut.body, spec: { rules: [{ host: "j.test" }] }, status: { loadBalancer: {} } } });
    expect(mainPut.body.status).toEqual(lb);
    expect(mainPut.body.spec).toEqual({ rules: [{ host: "j.test" }] });
    expect(mainPut.body.metadata.generation).toBe(2);

    const patched = await kubeRequest(server, "PATCH", `${base}/i/status`, { body: { status: { loadBalancer: { ingress: [{ hostname: "lb.test" }] } } }, contentType: "application/merge-patch+json" });
    expect(patched.body.status).toEqual({ loadBalancer: { ingress: [{ hostname: "lb.test" }] } });
    expect(patched.body.metadata.generation).toBe(2);
  });

  it("merge patch (RFC 7386), strategic merge patch as merge patch, JSON patch (RFC 6902), and 415 for apply", async () => {
    await kubeRequest(server, "POST", "/api/v1/namespaces/default/services", { body: service("web", { a: "1", b: "2" }) });
    const path = "/api/v1/namespaces/default/services/web";
    const merged = await kubeRequest(server, "PATCH", path, { body: { metadata: { labels: { a: null, c: "3" } } }, contentType: "application/merge-patch+json" });
    expect(merged.status).toBe(200);
    expect(merged.body.metadata.labels).toEqual({ b: "2", c: "3" });
    const strategic = await kubeRequest(server, "PATCH", path, { body: { metadata: { annotations: { x: "y" } } }, contentType: "application/strategic-merge-patch+json" });
    expect(strategic.body.metadata.annotations).toEqual({ x: "y" });
    const json = await kubeRequest(server, "PATCH", path, {
      body: [
        { op: "test", path: "/metadata/labels/b", value: "2" },
        { op: "replace", path: "/metadata/labels/b", value: "20" },
        { op: "add", path: "/spec/ports/-", value: { port: 443 } },
      ],
      contentType: "application/json-patch+json",
    });
    expect(json.status).toBe(200);
    expect(json.body.metadata.labels.b).toBe("20");
    expect(json.body.spec.ports).toEqual([{ port: 80 }, { port: 443 }]);
    const failed = await kubeRequest(server, "PATCH", path, { body: [{ op: "test", path: "/metadata/labels/b", value: "2" }], contentType: "application/json-patch+json" });
    expect(failed.status).toBe(422);
    const stale = await kubeRequest(server, "PATCH", path, { body: { metadata: { resourceVersion: "1", labels: { d: "4" } } }, contentType: "application/merge-patch+json" });
    expect(stale.status).toBe(409);
    const apply = await kubeRequest(server, "PATCH", path, { body: {}, contentType: "application/apply-patch+yaml" });
    expect(apply.status).toBe(415);
  });

  it("lists filtered by label and field selectors", async () => {
    server.create(service("a", { app: "web", tier: "front" }));
    server.create(service("b", { app: "api" }));
    server.create(service("c", {}, "other"));
    const names = async (query: string): Promise<string[]> =>
      (await kubeRequest(server, "GET", `/api/v1/services?${query}`)).body.items.map((o: KubeObject) => o.metadata.name);
    expect(await names("labelSelector=app%3Dweb")).toEqual(["a"]);
    expect(await names("labelSelector=app!%3Dweb")).toEqual(["b", "c"]);
    expect(await names(`labelSelector=${encodeURIComponent("app in (web,api)")}`)).toEqual(["a", "b"]);
    expect(await names(`labelSelector=${encodeURIComponent("app notin (web)")}`)).toEqual(["b", "c"]);
    expect(await names("labelSelector=tier")).toEqual(["a"]);
    expect(await names("labelSelector=!tier")).toEqual(["b", "c"]);
    expect(await names("labelSelector=app,!tier")).toEqual(["b"]);
    expect(await names("fieldSelector=metadata.name%3Db")).toEqual(["b"]);
    expect(await names("fieldSelector=metadata.namespace%3Dother")).toEqual(["c"]);
    expect((await kubeRequest(server, "GET", "/api/v1/namespaces/other/services")).body.items).toHaveLength(1);
    expect((await kubeRequest(server, "GET", "/api/v1/services?fieldSelector=spec.type%3DX")).status).toBe(400);
  });

  it("paginates with limit and an opaque continue token, at the first page's resourceVersion; an expired token is 410", async () => {
    for (const n of ["a", "b", "c", "d", "e"]) server.create(service(n));
    const first = (await kubeRequest(server, "GET", "/api/v1/namespaces/default/services?limit=2")).body;
    expect(first.items.map((o: KubeObject) => o.metadata.name)).toEqual(["a", "b"]);
    expect(first.metadata.remainingItemCount).toBe(3);
    expect(typeof first.metadata.continue).toBe("string");
    server.remove("services", "default", "c");
    server.create(service("f"));
    const second = (await kubeRequest(server, "GET", `/api/v1/namespaces/default/services?limit=2&continue=${first.metadata.continue}`)).body;
    // A consistent list: the second page shows the state of the first page's resourceVersion.
    expect(second.items.map((o: KubeObject) => o.metadata.name)).toEqual(["c", "d"]);
    expect(second.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
    const last = (await kubeRequest(server, "GET", `/api/v1/namespaces/default/services?limit=2&continue=${second.metadata.continue}`)).body;
    expect(last.items.map((o: KubeObject) => o.metadata.name)).toEqual(["e"]);
    expect(last.metadata.continue).toBeUndefined();

    server.compact();
    const expired = await kubeRequest(server, "GET", `/api/v1/namespaces/default/services?limit=2&continue=${first.metadata.continue}`);
    expect(expired.status).toBe(410);
    expect(expired.body).toMatchObject({ kind: "Status", reason: "Expired", code: 410 });
  });
});

describe("test Kubernetes API server: watch", () => {
  it("from a list's resourceVersion: ADDED, MODIFIED, DELETED in order, chunked JSON lines", async () => {
    server.create(service("old"));
    const rv = (await kubeRequest(server, "GET", "/api/v1/services")).body.metadata.resourceVersion;
    const w = await openWatch(server, `/api/v1/services?watch=true&resourceVersion=${rv}`);
    expect(w.status).toBe(200);
    expect(w.headers["content-type"]).toBe("application/json");
    expect(w.headers["transfer-encoding"]).toBe("chunked");
    const created = server.create(service("web"));
    server.update({ ...created, spec: { ports: [{ port: 81 }] } });
    server.remove("Service", "default", "web");
    const events = [await w.next(), await w.next(), await w.next()];
    expect(events.map((e) => e.type)).toEqual(["ADDED", "MODIFIED", "DELETED"]);
    expect(events.map((e) => e.object.metadata.name)).toEqual(["web", "web", "web"]);
    expect(events[0]!.object).toMatchObject({ kind: "Service", apiVersion: "v1" });
    expect(events[1]!.object.spec.ports).toEqual([{ port: 81 }]);
    const rvs = events.map((e) => Number(e.object.metadata.resourceVersion));
    expect(rvs[1]).toBeGreaterThan(rvs[0]!);
    expect(rvs[2]).toBeGreaterThan(rvs[1]!);
    w.close();
  });

  it("replays the history after the resourceVersion asked for, then live events", async () => {
    const a = server.create(service("a"));
    server.create(service("b"));
    const w = await openWatch(server, `/api/v1/services?watch=1&resourceVersion=${a.metadata.resourceVersion}`);
    expect(await w.next()).toMatchObject({ type: "ADDED", object: { metadata: { name: "b" } } });
    server.create(service("c"));
    expect(await w.next()).toMatchObject({ type: "ADDED", object: { metadata: { name: "c" } } });
    w.close();
  });

  it('from "0" or no resourceVersion: a synthetic ADDED for every current object first', async () => {
    server.create(service("a"));
    server.create(service("b"));
    for (const query of ["resourceVersion=0", ""]) {
      const opened = server.nextWatch("services");
      const w = await openWatch(server, `/api/v1/services?watch=true&${query}`);
      await opened;
      const first = [await w.next(), await w.next()];
      expect(first.map((e) => [e.type, e.object.metadata.name])).toEqual([
        ["ADDED", "a"],
        ["ADDED", "b"],
      ]);
      w.close();
    }
  });

  it("sends bookmarks only to watchers that asked for them, on bookmark() and on the interval", async () => {
    await server.stop();
    server = new KubeApiServer({ bookmarkIntervalMs: 200 });
    await server.start();
    const rv = server.create(service("a")).metadata.resourceVersion;
    const asked = await openWatch(server, `/api/v1/services?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`);
    const silent = await openWatch(server, `/api/v1/services?watch=true&resourceVersion=${rv}`);
    server.bookmark();
    expect(await asked.next()).toEqual({ type: "BOOKMARK", object: { kind: "Service", apiVersion: "v1", metadata: { resourceVersion: rv } } });
    expect(await asked.next()).toMatchObject({ type: "BOOKMARK" }); // the interval's
    server.create(service("b"));
    // The silent watcher's first event is the write, not a bookmark.
    expect(await silent.next()).toMatchObject({ type: "ADDED", object: { metadata: { name: "b" } } });
    asked.close();
    silent.close();
  });

  it("after compact(), a watch from an older resourceVersion gets 200, one 410 ERROR event, and the end", async () => {
    const rv = server.create(service("a")).metadata.resourceVersion;
    server.create(service("b"));
    server.compact();
    const w = await openWatch(server, `/api/v1/services?watch=true&resourceVersion=${rv}`);
    expect(w.status).toBe(200);
    expect(await w.next()).toEqual({
      type: "ERROR",
      object: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: `too old resource version: ${rv} (${server.resourceVersion})`, reason: "Expired", code: 410 },
    });
    expect(await w.ended).toEqual({ clean: true });
    // Lists are unaffected, and a watch from the current resourceVersion works.
    expect((await kubeRequest(server, "GET", "/api/v1/services")).body.items).toHaveLength(2);
    const fresh = await openWatch(server, `/api/v1/services?watch=true&resourceVersion=${server.resourceVersion}`);
    server.create(service("c"));
    expect(await fresh.next()).toMatchObject({ type: "ADDED", object: { metadata: { name: "c" } } });
    fresh.close();
  });

  it("ends cleanly at timeoutSeconds", async () => {
    const w = await openWatch(server, `/api/v1/services?watch=true&resourceVersion=${server.resourceVersion}&timeoutSeconds=1`);
    expect(await w.ended).toEqual({ clean: true });
    expect(server.watchCount("services")).toBe(0);
  });

  it("dropWatches() cuts every watch connection mid-stream", async () => {
    const w = await openWatch(server, `/apis/networking.k8s.io/v1/ingresses?watch=true&resourceVersion=${server.resourceVersion}`);
    server.create(ingress("i", "i.test"));
    expect(await w.next()).toMatchObject({ type: "ADDED" });
    expect(server.watchCount("ingresses")).toBe(1);
    server.dropWatches();
    expect(await w.ended).toEqual({ clean: false });
    expect(server.watchCount("ingresses")).toBe(0);
    // The server itself is still there.
    expect((await kubeRequest(server, "GET", "/apis/networking.k8s.io/v1/ingresses")).status).toBe(200);
  });

  it("serves a Gateway kind through v1 and v1beta1 (apiVersion per path), Secrets by name and by list, Events in both groups", async () => {
    const beta = await openWatch(server, "/apis/gateway.networking.k8s.io/v1beta1/namespaces/default/referencegrants?watch=true");
    server.create({ apiVersion: "gateway.networking.k8s.io/v1", kind: "ReferenceGrant", metadata: { name: "g" }, spec: { from: [], to: [] } });
    expect(await beta.next()).toMatchObject({ type: "ADDED", object: { kind: "ReferenceGrant", apiVersion: "gateway.networking.k8s.io/v1beta1", metadata: { name: "g" } } });
    beta.close();

    server.create({ apiVersion: "v1", kind: "Secret", metadata: { name: "tls" }, type: "kubernetes.io/tls", data: { "tls.crt": "Y2VydA==", "tls.key": "a2V5" } });
    expect((await kubeRequest(server, "GET", "/api/v1/namespaces/default/secrets/tls")).body).toMatchObject({ kind: "Secret", type: "kubernetes.io/tls", data: { "tls.crt": "Y2VydA==" } });
    expect((await kubeRequest(server, "GET", "/api/v1/secrets")).body.items).toHaveLength(1);

    const event = { metadata: { generateName: "web." }, involvedObject: { kind: "Ingress", name: "web", namespace: "default" }, type: "Warning", reason: "InvalidIngress", message: "bad" };
    const core = await kubeRequest(server, "POST", "/api/v1/namespaces/default/events", { body: { apiVersion: "v1", kind: "Event", ...event } });
    expect(core.status).toBe(201);
    expect(core.body.metadata.name).toMatch(/^web\.[0-9a-f]{5}$/);
    const modern = await kubeRequest(server, "POST", "/apis/events.k8s.io/v1/namespaces/default/events", {
      body: { apiVersion: "events.k8s.io/v1", kind: "Event", metadata: { name: "e" }, regarding: event.involvedObject, type: "Warning", reason: "InvalidIngress", note: "bad", action: "Sync", reportingController: "ingressd", reportingInstance: "x", eventTime: "2026-11-30T00:00:00.000000Z" },
    });
    expect(modern.body).toMatchObject({ kind: "Event", apiVersion: "events.k8s.io/v1", metadata: { name: "e" } });
    expect(server.list("events").map((e) => e.metadata.name)).toEqual([core.body.metadata.name]);
    expect(server.list("events.events.k8s.io").map((e) => e.metadata.name)).toEqual(["e"]);
  });

  it("with a label selector, an object leaving it is DELETED and one entering it ADDED", async () => {
    const w = await openWatch(server, `/api/v1/services?watch=true&resourceVersion=${server.resourceVersion}&labelSelector=app%3Dweb`);
    const a = server.create(service("a", { app: "web" }));
    expect(await w.next()).toMatchObject({ type: "ADDED", object: { metadata: { name: "a" } } });
    server.create(service("other", { app: "api" }));
    const left = server.update({ ...a, metadata: { ...a.metadata, labels: { app: "api" } } });
    expect(await w.next()).toMatchObject({ type: "DELETED", object: { metadata: { name: "a", labels: { app: "api" }, resourceVersion: left.metadata.resourceVersion } } });
    server.update({ ...left, metadata: { ...left.metadata, labels: { app: "web" } } });
    expect(await w.next()).toMatchObject({ type: "ADDED", object: { metadata: { name: "a", labels: { app: "web" } } } });
    w.close();
  });

  it("stop() cuts everything; start() again serves on the same port with the same objects", async () => {
    server.create(service("a"));
    const url = server.url;
    const w = await openWatch(server, `/api/v1/services?watch=true&resourceVersion=${server.resourceVersion}`);
    await server.stop();
    expect(await w.ended).toEqual({ clean: false });
    await expect(kubeRequest(server, "GET", "/api/v1/services")).rejects.toThrow(/ECONNREFUSED/);
    await server.start();
    expect(server.url).toBe(url);
    expect((await kubeRequest(server, "GET", "/api/v1/services")).body.items).toHaveLength(1);
  });

  it("logs requests and delays lists when asked", async () => {
    server.listDelayMs = 300;
    server.listDelayFirstOnly = true;
    const seen = server.nextRequest("GET", "/api/v1/services");
    const listing = kubeRequest(server, "GET", "/api/v1/services");
    await seen;
    // The list is held: a write lands before it is answered, and shows in it.
    server.create(service("late"));
    expect((await listing).body.items.map((o: KubeObject) => o.metadata.name)).toEqual(["late"]);
    expect(server.requests.at(-1)).toMatchObject({ method: "GET", path: "/api/v1/services", query: {} });
  });

  it("leaves an unserved resource out, as an older cluster: 404 on its paths, gone from discovery (its group too when it was the last)", async () => {
    server.unserved.add("endpointslices");
    server.unserved.add("endpoints");
    expect((await kubeRequest(server, "GET", "/apis/discovery.k8s.io/v1/endpointslices")).status).toBe(404);
    expect((await kubeRequest(server, "GET", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?watch=true")).status).toBe(404);
    expect((await kubeRequest(server, "GET", "/apis/discovery.k8s.io/v1")).status).toBe(404);
    expect((await kubeRequest(server, "GET", "/apis")).body.groups.map((g: { name: string }) => g.name)).not.toContain("discovery.k8s.io");
    expect((await kubeRequest(server, "GET", "/api/v1/endpoints")).status).toBe(404);
    const core = (await kubeRequest(server, "GET", "/api/v1")).body.resources.map((r: { name: string }) => r.name);
    expect(core).not.toContain("endpoints");
    expect(core).toContain("services");
    expect((await kubeRequest(server, "GET", "/api/v1/services")).status).toBe(200);
  });
});

describe("test Kubernetes API server: @kubernetes/client-node", () => {
  it("talks to it through a kubeconfig file: lists, creates, conflicts", async () => {
    const kc = await kubeConfig();
    expect(kc.getCurrentCluster()?.server).toBe(server.url);
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedService({ namespace: "default", body: service("web") as never });
    const list = await core.listServiceForAllNamespaces();
    expect(list.items.map((s) => s.metadata?.name)).toEqual(["web"]);
    await core.createNamespace({ body: { metadata: { name: "ingressd" } } });
    const leases = kc.makeApiClient(CoordinationV1Api);
    const lease = await leases.createNamespacedLease({ namespace: "ingressd", body: { metadata: { name: "ingressd-leader" }, spec: { holderIdentity: "a" } } });
    await leases.replaceNamespacedLease({ name: "ingressd-leader", namespace: "ingressd", body: { ...lease, spec: { holderIdentity: "b" } } });
    await expect(leases.replaceNamespacedLease({ name: "ingressd-leader", namespace: "ingressd", body: { ...lease, spec: { holderIdentity: "c" } } })).rejects.toMatchObject({ code: 409 });
    const net = kc.makeApiClient(NetworkingV1Api);
    await expect(net.readNamespacedIngress({ name: "nope", namespace: "default" })).rejects.toMatchObject({ code: 404 });
  });

  it("a ListWatch syncs, sees events, and lists again after a 410", async () => {
    server.create(ingress("a", "a.test"));
    const kc = await kubeConfig();
    const net = kc.makeApiClient(NetworkingV1Api);
    const path = "/apis/networking.k8s.io/v1/ingresses";
    let lists = 0;
    const informer = new ListWatch<V1Ingress>(path, new Watch(kc), () => (lists++, net.listIngressForAllNamespaces()), false);
    const seen: string[] = [];
    informer.on("add", (o) => seen.push(`add ${o.metadata?.name}`));
    informer.on("update", (o) => seen.push(`update ${o.metadata?.name}`));
    informer.on("delete", (o) => seen.push(`delete ${o.metadata?.name}`));
    let watch = server.nextWatch("ingresses");
    await informer.start();
    expect((await watch).query.resourceVersion).toBe(server.resourceVersion);
    expect(informer.list().map((o) => o.metadata?.name)).toEqual(["a"]);

    const added = new Promise<void>((resolve) => informer.on("add", (o) => o.metadata?.name === "b" && resolve()));
    server.create(ingress("b", "b.test"));
    await added;
    const deleted = new Promise<void>((resolve) => informer.on("delete", (o) => o.metadata?.name === "a" && resolve()));
    server.remove("ingresses", "default", "a");
    await deleted;
    expect(informer.list().map((o) => o.metadata?.name)).toEqual(["b"]);

    // The server ends the watch (its timeout): the informer watches on from where it was, without a list.
    const before = lists;
    watch = server.nextWatch("ingresses");
    server.endWatches();
    expect((await watch).query.resourceVersion).toBe(informer.latestResourceVersion());
    expect(lists).toBe(before);

    // A dropped connection is no clean end: client-node's ListWatch reports an error and
    // stops. Started again after history moved on and was compacted, its watch from where
    // it was gets the 410 ERROR event, so it lists again and sees what it missed.
    const failed = new Promise<unknown>((resolve) => informer.on("error", resolve));
    server.dropWatches();
    expect(String(await failed)).toMatch(/Premature close/);
    const watchedFrom = informer.latestResourceVersion();
    server.create(ingress("c", "c.test"));
    server.compact();
    watch = server.nextWatch("ingresses");
    await informer.start();
    expect((await watch).query.resourceVersion).toBe(server.resourceVersion);
    expect(server.requests.some((r) => r.query.watch === "true" && r.query.resourceVersion === watchedFrom)).toBe(true);
    expect(lists).toBe(before + 1);
    expect(informer.list().map((o) => o.metadata?.name).sort()).toEqual(["b", "c"]);
    expect(seen).toEqual(["add a", "add b", "delete a", "add c"]);
    await informer.stop();
  });
});
