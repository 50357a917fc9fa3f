import { bench, describe } from "vitest";
import { AffinityTable } from "../src/upstream/affinity.js";
import { clientIpAffinity, roundRobin } from "../src/upstream/balancer.js";
import { Endpoint } from "../src/upstream/endpoint.js";

// The Service's own policies per request: round robin, and sessionAffinity ClientIP over
// it (a pinned client, and a stream of new ones). Run with `npx vitest bench`.

const TIMEOUTS = { connectMs: 1_000, readMs: 1_000 };
const three = Array.from({ length: 3 }, (_, i) => new Endpoint({ host: "10.0.0.1", port: 10_000 + i }, TIMEOUTS));
const clients = Array.from({ length: 4096 }, (_, i) => `10.1.${i >> 8}.${i & 255}`);
let i = 0;

const rr = roundRobin();
const pinned = clientIpAffinity(new AffinityTable(10_800_000), roundRobin());
pinned(three, { clientIp: "10.9.9.9" });
const fresh = clientIpAffinity(new AffinityTable(10_800_000, 1_000), roundRobin());

describe("balancer per request", () => {
  bench("round robin, 3 endpoints", () => {
    rr(three, { clientIp: "c" });
  });
  bench("ClientIP, a pinned client", () => {
    pinned(three, { clientIp: "10.9.9.9" });
  });
  bench("ClientIP, 4096 clients in turn over a table capped at 1000 (pin + evict)", () => {
    fresh(three, { clientIp: clients[i++ & 4095]! });
  });
});
