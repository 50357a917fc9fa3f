import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { get, nextReload, startUpstream, type Upstream } from "./helpers.js";
import { gateway, httpRoute, ingress, namespace, shopWeb } from "./clusterObjects.js";
import { eventually, startApiServer, startClusterIngressd } from "./clusterHelpers.js";
import type { KubeApiServer } from "./kube/apiServer.js";

type Ingressd = Awaited<ReturnType<typeof startClusterIngressd>>;

/** What an ingressd's `/api/config` says of its part in the cluster. */
async function clusterView(d: Ingressd): Promise<{ leader: boolean; identity: string; holder?: string; lastSync?: string; failures: string[] }> {
  return JSON.parse((await get(`${d.admin}/api/config`)).body).cluster;
}

/**
 * What ingressd writes back to a cluster, by one replica at a time (the holder of the
 * Lease `ingressd-leader`): Ingress and Gateway API status, Events for invalid Ingresses.
 */
describe("status written back by the elected replica", () => {
  let api: KubeApiServer;
  let kubeconfig: string;
  let closeApi: () => Promise<void>;
  let web: Upstream;
  const running: Ingressd[] = [];

  beforeAll(async () => {
    ({ api, kubeconfig, close: closeApi } = await startApiServer());
    web = await startUpstream("web");
    api.create(namespace("ingressd"));
    for (const o of shopWeb(web.port)) api.create(o);
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((r) => r.close()));
  });
  afterAll(async () => {
    await closeApi();
    await web.close();
  });

  const replica = async (identity: string, cluster: Parameters<typeof startClusterIngressd>[1] = {}, extra: Parameters<typeof startClusterIngressd>[2] = {}): Promise<Ingressd> => {
    const d = await startClusterIngressd(kubeconfig, { identity, ...cluster }, extra);
    running.push(d);
    return d;
  };
  const lbIps = (ns: string, name: string): string[] =>
    ((api.get("ingresses", ns, name)?.status as { loadBalancer?: { ingress?: { ip?: string }[] } } | undefined)?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? "");

  it("two replicas: one leader at a time writes the Ingress status; when it stops, the other takes over", async () => {
    const a = await replica("replica-a", { publishStatusAddress: ["203.0.113.7"] });
    const b = await replica("replica-b", { publishStatusAddress: ["203.0.113.7"] });
    const leaderOf = async (): Promise<Ingressd | undefined> => {
      const [va, vb] = [await clusterView(a), await clusterView(b)];
      expect(va.leader && vb.leader, "never two leaders").toBe(false);
      return va.leader ? a : vb.leader ? b : undefined;
    };
    const leader = await eventually(leaderOf, 10_000, "a leader");
    const follower = leader === a ? b : a;
    const lease = api.get("leases", "ingressd", "ingressd-leader")!;
    expect((lease.spec as { holderIdentity: string }).holderIdentity).toBe((await clusterView(leader)).identity);
    await eventually(() => lbIps("shop", "web").includes("203.0.113.7") || undefined, 10_000, "the Ingress status");
    // The follower serves, but never wrote.
    expect((await get(`${follower.url}/`, { host: "shop.example" })).status).toBe(200);
    expect((await clusterView(follower)).lastSync).toBeUndefined();
    expect((await clusterView(follower)).holder).toBe((await clusterView(leader)).identity);
    // Status goes through the status subresource only.
    const writes = api.requests.filter((r) => r.method !== "GET" && r.path.includes("/ingresses/"));
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.every((r) => r.path.endsWith("/status"))).toBe(true);

    // The leader stops: it releases the Lease, the follower takes it and writes from then on.
    const transitions = (api.get("leases", "ingressd", "ingressd-leader")!.spec as { leaseTransitions: number }).leaseTransitions;
    running.splice(running.indexOf(leader), 1);
    await leader.close();
    await eventually(async () => (await clusterView(follower)).leader || undefined, 10_000, "the follower to lead");
    const spec = api.get("leases", "ingressd", "ingressd-leader")!.spec as { holderIdentity: string; leaseTransitions: number };
    expect(spec.holderIdentity).toBe((await clusterView(follower)).identity);
    expect(spec.leaseTransitions).toBe(transitions + 1);
    const reloaded = nextReload(follower, (s) => s.ingresses.includes("shop/second"));
    api.create(ingress("shop", "second", "second.example", "web"));
    await reloaded;
    await eventually(() => lbIps("shop", "second").includes("203.0.113.7") || undefined, 10_000, "the second Ingress's status");
    api.remove("ingresses", "shop", "second");
  });

  it("publishes the --publish-service LoadBalancer's address, and follows it when it changes", async () => {
    api.create({ apiVersion: "v1", kind: "Service", metadata: { name: "ingressd", namespace: "ingressd" }, spec: { type: "LoadBalancer", clusterIP: "10.96.0.99", ports: [{ name: "http", port: 80, targetPort: "http" }] } });
    const lb = (ip: string) =>
      api.update({ ...api.get("services", "ingressd", "ingressd")!, status: { loadBalancer: { ingress: [{ ip }] } } } as never);
    lb("198.51.100.1");
    await replica("replica-a", { publishService: { namespace: "ingressd", name: "ingressd" } }, { clusterTimings: { leader: { leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 200 }, resyncMs: 300 } });
    await eventually(() => lbIps("shop", "web").includes("198.51.100.1") || undefined, 10_000, "the LoadBalancer address");
    lb("198.51.100.2");
    await eventually(() => (lbIps("shop", "web").join() === "198.51.100.2" ? true : undefined), 10_000, "the new address");
    api.remove("services", "ingressd", "ingressd");
  });

  it("writes Gateway, listener and HTTPRoute parent conditions, keeping another controller's parent status", async () => {
    api.create(gateway("shop", "gw"));
    const route = httpRoute("shop", "store", "gw", "store.example", "web");
    (route.spec as { parentRefs: unknown[] }).parentRefs.push({ name: "other-gw" });
    api.create(route);
    // Another controller already reported on its own parent.
    const stored = api.get("httproutes", "shop", "store")!;
    const other = { parentRef: { name: "other-gw" }, controllerName: "example.com/other", conditions: [{ type: "Accepted", status: "True", reason: "Accepted", message: "", lastTransitionTime: "2026-01-01T00:00:00Z", observedGeneration: 1 }] };
    api.update({ ...stored, status: { parents: [other] } } as never);
    const d = await replica("replica-a", { publishStatusAddress: ["203.0.113.7"] });
    expect((await get(`${d.url}/`, { host: "store.example" })).status).toBe(200);
    const gw = await eventually(() => {
      const g = api.get("gateways", "shop", "gw");
      return (g?.status as { conditions?: unknown[] } | undefined)?.conditions?.length ? g : undefined;
    }, 10_000, "the Gateway status");
    const status = gw.status as { addresses: unknown[]; conditions: { type: string; status: string; observedGeneration: number; lastTransitionTime: string }[]; listeners: { name: string; attachedRoutes: number; supportedKinds: unknown[] }[] };
    expect(status.conditions.filter((c) => c.status === "True").map((c) => c.type)).toEqual(expect.arrayContaining(["Accepted", "Programmed"]));
    expect(status.conditions[0]!.observedGeneration).toBe(Number(gw.metadata.generation));
    expect(status.conditions[0]!.lastTransitionTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(status.addresses).toEqual([{ type: "IPAddress", value: "203.0.113.7" }]);
    expect(status.listeners).toEqual([expect.objectContaining({ name: "http", attachedRoutes: 1, supportedKinds: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute" }] })]);
    const r = await eventually(() => {
      const o = api.get("httproutes", "shop", "store");
      return ((o?.status as { parents?: unknown[] } | undefined)?.parents?.length ?? 0) > 1 ? o : undefined;
    }, 10_000, "the HTTPRoute status");
    const parents = (r.status as { parents: { controllerName: string; parentRef: { name: string }; conditions: { type: string; status: string }[] }[] }).parents;
    expect(parents.find((p) => p.controllerName === "example.com/other")).toEqual(other);
    const ours = parents.find((p) => p.controllerName === "ingressd.io/gateway-controller")!;
    expect(ours.parentRef).toMatchObject({ group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "shop", name: "gw" });
    expect(ours.conditions.map((c) => [c.type, c.status])).toEqual(expect.arrayContaining([["Accepted", "True"], ["ResolvedRefs", "True"]]));
    api.remove("httproutes", "shop", "store");
    api.remove("gateways", "shop", "gw");
  });

  it("posts a Warning InvalidIngress Event for an Ingress's error, once, with the message check prints", async () => {
    const d = await replica("replica-a", { publishStatusAddress: ["203.0.113.7"] }, { clusterTimings: { leader: { leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 200 }, resyncMs: 200 } });
    await eventually(async () => (await clusterView(d)).leader || undefined, 10_000, "leadership");
    const posted = api.nextRequest("POST", "/api/v1/namespaces/shop/events");
    const bad = ingress("shop", "broken", "broken.example", "web", { pathType: "Prefixx" });
    api.create(bad);
    await posted;
    // The request arrived; the event is stored once its body is read.
    const events = await eventually(() => {
      const found = api.list("events").filter((e) => (e.involvedObject as { name: string }).name === "broken");
      return found.length > 0 ? found : undefined;
    }, 5_000, "the event");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "Warning", reason: "InvalidIngress", involvedObject: { kind: "Ingress", namespace: "shop", name: "broken", apiVersion: "networking.k8s.io/v1" } });
    const message = String(events[0]!.message);
    expect(message).toMatch(/^kubernetes:Ingress\/shop\/broken:\d+:\d+: error: /);
    expect(message).toContain("pathType");
    // Resyncs come and go; the same error is not told again.
    const syncs = (await clusterView(d)).lastSync;
    await eventually(async () => ((await clusterView(d)).lastSync !== syncs ? true : undefined), 5_000, "a resync");
    await eventually(async () => ((await clusterView(d)).lastSync !== syncs ? true : undefined), 5_000, "another resync");
    expect(api.list("events").filter((e) => (e.involvedObject as { name: string }).name === "broken")).toHaveLength(1);
    api.remove("ingresses", "shop", "broken");
  });
});
