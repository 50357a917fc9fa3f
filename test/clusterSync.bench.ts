import { bench, describe } from "vitest";
import { nextReload } from "./helpers.js";
import { endpointSlice, ingress, ingressClass, namespace, service } from "./clusterObjects.js";
import { startApiServer, startClusterIngressd } from "./clusterHelpers.js";

// The cluster source's two costs a user feels: the first sync of a cluster with 1,000
// Ingresses (each object listed, turned into text, parsed, validated, compiled) before
// ingressd is ready, and the time from a change in the API server to it being served
// (watch event → quiet period (100 ms) → reload). Against the test API server on loopback.
// Run with `npx vitest bench --run test/clusterSync.bench.ts`.

const COUNT = 1_000;

// Set up once at load: vitest's bench runner does not run beforeAll before a bench's warm-up.
const { api, kubeconfig } = await startApiServer();
api.create(namespace("shop"));
api.create(ingressClass());
for (let i = 0; i < COUNT; i++) {
  api.create(service("shop", `svc-${i}`));
  for (const s of endpointSlice("shop", `svc-${i}`, [10_000 + i])) api.create(s);
  api.create(ingress("shop", `ing-${i}`, `h${i}.example`, `svc-${i}`));
}
const served = await startClusterIngressd(kubeconfig, { identity: "bench" }, { debounceMs: 100 });
let version = 0;

describe("cluster source with 1,000 Ingresses", () => {
  bench(
    "first sync, until ready (start to serving)",
    async () => {
      const d = await startClusterIngressd(kubeconfig, { identity: "bench-sync" });
      await d.close();
    },
    { iterations: 5, warmupIterations: 1, time: 0 },
  );

  bench(
    "one Ingress changed in the API server, until served",
    async () => {
      const path = `/v${++version}`;
      const reloaded = nextReload(served, (s) => s.routes.routes().some((r) => r.match.path === path));
      api.update(ingress("shop", "ing-0", "h0.example", "svc-0", { path }));
      await reloaded;
    },
    { iterations: 20, warmupIterations: 2, time: 0 },
  );
});
