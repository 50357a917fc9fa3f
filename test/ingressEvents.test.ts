import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IngressEvents } from "../src/cluster/ingressEvents.js";
import { KubeClient, loadKubeConfig } from "../src/config/kubernetes/kubeClient.js";
import type { ConfigIssue } from "../src/model/issues.js";
import { namespace } from "./clusterObjects.js";
import { startApiServer } from "./clusterHelpers.js";
import type { KubeApiServer } from "./kube/apiServer.js";

/** An error found in the Ingress `shop/<name>`, as the cluster source names its "file". */
function error(name: string, message: string): ConfigIssue {
  return { severity: "error", code: "schema", message, file: `kubernetes:Ingress/shop/${name}`, line: 9, col: 11, field: "spec.rules[0].host" };
}

describe("InvalidIngress Events, rate-limited as client-go's recorder", () => {
  let api: KubeApiServer;
  let close: () => Promise<void>;
  let client: KubeClient;
  beforeAll(async () => {
    let kubeconfig: string;
    ({ api, kubeconfig, close } = await startApiServer());
    api.create(namespace("shop"));
    client = new KubeClient(loadKubeConfig({ kubeconfig, inCluster: false }));
  });
  afterAll(() => close());
  const eventsOf = (name: string) => api.list("events").filter((e) => (e.involvedObject as { name: string }).name === name);

  it("tells an error once, again after 10 minutes while it lasts, and again at once when it comes back after a fix", async () => {
    let now = Date.parse("2026-11-30T12:00:00Z");
    const events = new IngressEvents(client, { component: "ingressd.io/ingress-controller", instance: "pod-0" }, () => now);
    const issue = error("web", "spec.rules[0].host: must be a DNS name");
    expect(await events.report([issue])).toEqual([]);
    expect(await events.report([issue])).toEqual([]);
    expect(eventsOf("web")).toHaveLength(1);
    expect(eventsOf("web")[0]).toMatchObject({ type: "Warning", reason: "InvalidIngress", message: "kubernetes:Ingress/shop/web:9:11: error: spec.rules[0].host: must be a DNS name (spec.rules[0].host)", reportingComponent: "ingressd.io/ingress-controller", reportingInstance: "pod-0" });
    now += 9 * 60_000;
    await events.report([issue]);
    expect(eventsOf("web")).toHaveLength(1);
    now += 60_000;
    await events.report([issue]);
    expect(eventsOf("web")).toHaveLength(2);
    await events.report([]); // fixed
    await events.report([issue]); // broken again
    expect(eventsOf("web")).toHaveLength(3);
  });

  it("gives one Ingress at most a burst of 25, then one per 5 minutes; warnings and files are never told", async () => {
    let now = Date.parse("2026-11-30T12:00:00Z");
    const events = new IngressEvents(client, { component: "ingressd.io/ingress-controller", instance: "pod-0" }, () => now);
    const many = Array.from({ length: 30 }, (_, i) => error("busy", `problem ${i}`));
    const ignored: ConfigIssue[] = [{ ...error("busy", "a warning"), severity: "warning" }, { ...error("x", "in a file"), file: "/rules/web.yaml" }];
    await events.report([...many, ...ignored]);
    expect(eventsOf("busy")).toHaveLength(25);
    now += 5 * 60_000;
    await events.report(many);
    expect(eventsOf("busy")).toHaveLength(26);
    expect(eventsOf("x")).toHaveLength(0);
  });

  it("cuts a message longer than the API server takes (1 KiB)", async () => {
    const events = new IngressEvents(client, { component: "c", instance: "i" });
    await events.report([error("long", "x".repeat(3000))]);
    expect(String(eventsOf("long")[0]!.message).length).toBe(1024);
  });
});
