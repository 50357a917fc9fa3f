import { bench, describe } from "vitest";
import { DEFAULT_CHECK_INTERVAL_MS, DEFAULT_FAIL_TIMEOUT_MS, DEFAULT_MAX_FAILS, type BackendSpec } from "../src/upstream/backendSpec.js";
import { Endpoint } from "../src/upstream/endpoint.js";
import { ServicePool } from "../src/upstream/servicePool.js";

// The per-request path of a Service pool: pick (availability of every endpoint) and the
// success report. Run with `npx vitest bench`; `vitest run` does not include benches.

function pool(endpointCount: number, maxFails = DEFAULT_MAX_FAILS, affinity: BackendSpec["affinity"] = { kind: "None" }): ServicePool {
  const endpoints = Array.from({ length: endpointCount }, (_, i) => ({ host: "127.0.0.1", port: 10_000 + i }));
  const spec: BackendSpec = {
    key: "default/web:80",
    namespace: "default",
    service: "web",
    port: 80,
    type: "ClusterIP",
    endpoints,
    affinity,
    health: { maxFails, failTimeoutMs: DEFAULT_FAIL_TIMEOUT_MS, checkIntervalMs: DEFAULT_CHECK_INTERVAL_MS },
  };
  const p = new ServicePool(spec, endpoints.map((a) => new Endpoint(a, { connectMs: 1_000, readMs: 1_000 })), () => undefined);
  p.start();
  return p;
}

const ctx = { clientIp: "127.0.0.1" };
const healthy = pool(3);
const oneOut = pool(3, 1);
oneOut.reportFailure(oneOut.endpoints[0]!, "ECONNREFUSED");
const allOut = pool(1, 1);
allOut.reportFailure(allOut.endpoints[0]!, "ECONNREFUSED");
const withFailures = pool(3);
withFailures.reportFailure(withFailures.endpoints[1]!, "ECONNREFUSED"); // below max-fails: still in
const clientIp = pool(3, DEFAULT_MAX_FAILS, { kind: "ClientIP", timeoutSeconds: 10_800 });
/** 1,000 clients coming back in turn: each pick finds its pin and re-pins it. */
const clients = Array.from({ length: 1000 }, (_, i) => ({ clientIp: `10.0.${i >> 8}.${i & 255}` }));
let nextClient = 0;

describe("ServicePool per request", () => {
  bench("pick + reportSuccess, 3 endpoints all in rotation", () => {
    healthy.reportSuccess(healthy.pick(ctx)!);
  });

  bench("pick, 3 endpoints, one with a failure below max-fails", () => {
    withFailures.pick(ctx);
  });

  bench("pick, 3 endpoints, one passively ejected", () => {
    oneOut.pick(ctx);
  });

  bench("pick, the only endpoint passively ejected (still offered)", () => {
    allOut.pick(ctx);
  });

  bench("pick with ClientIP affinity, 1,000 pinned clients in turn", () => {
    clientIp.pick(clients[nextClient++ % clients.length]!);
  });
});
