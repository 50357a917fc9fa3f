import { bench, describe } from "vitest";
import type { BalancePolicy } from "../src/model/route.js";
import { roundRobin, type PickContext } from "../src/upstream/balancer.js";
import { DEFAULT_CHECK_INTERVAL_MS, DEFAULT_FAIL_TIMEOUT_MS, DEFAULT_MAX_FAILS, type BackendSpec } from "../src/upstream/backendSpec.js";
import { hash32, HashRing } from "../src/upstream/consistentHash.js";
import { cookieAffinity } from "../src/upstream/cookieAffinity.js";
import { Endpoint } from "../src/upstream/endpoint.js";
import { ServicePool } from "../src/upstream/servicePool.js";

// The per-request path of the route policies (cookie affinity, upstream-hash-by), and the
// ring's construction, which happens once per pool. Run with `npx vitest bench`.

const TIMEOUTS = { connectMs: 1_000, readMs: 1_000 };
const endpoints = (n: number) => Array.from({ length: n }, (_, i) => new Endpoint({ host: "10.0.0.1", port: 10_000 + i }, TIMEOUTS));

const three = endpoints(3);
const fifty = endpoints(50);
const ring3 = new HashRing(three, (e) => e.address);
const ring50 = new HashRing(fifty, (e) => e.address);
const uris = Array.from({ length: 1024 }, (_, i) => `/catalog/item/${i}?page=${i % 7}`);
let i = 0;

describe("HashRing", () => {
  bench("build, 3 endpoints (once per pool)", () => {
    new HashRing(three, (e) => e.address);
  });
  bench("build, 50 endpoints (once per pool)", () => {
    new HashRing(fifty, (e) => e.address);
  });
  bench("hash32 of a request URI", () => {
    hash32(uris[i++ & 1023]!);
  });
  bench("find, 3 endpoints all available", () => {
    ring3.find(hash32(uris[i++ & 1023]!), three);
  });
  bench("find, 50 endpoints all available", () => {
    ring50.find(hash32(uris[i++ & 1023]!), fifty);
  });
  const oneOut = three.slice(1);
  bench("find, 3 endpoints, one out of rotation (walks to a neighbour)", () => {
    ring3.find(hash32(uris[i++ & 1023]!), oneOut);
  });
});

const balanced: BalancePolicy = { kind: "cookie", name: "INGRESSCOOKIE", mode: "balanced" };
const persistent: BalancePolicy = { kind: "cookie", name: "INGRESSCOOKIE", mode: "persistent" };
const cookies = cookieAffinity("default/web:80", ring3, roundRobin());
const placedBalanced: PickContext = { clientIp: "c", balance: balanced };
cookies(three, placedBalanced);
const placedPersistent: PickContext = { clientIp: "c", balance: persistent };
cookies(three, placedPersistent);

describe("cookie affinity per request", () => {
  bench("balanced, with a good cookie", () => {
    cookies(three, { clientIp: "c", balance: balanced, cookie: placedBalanced.setCookie! });
  });
  bench("persistent, with a good cookie", () => {
    cookies(three, { clientIp: "c", balance: persistent, cookie: placedPersistent.setCookie! });
  });
  bench("balanced, a new client (placed, cookie value made)", () => {
    cookies(three, { clientIp: "c", balance: balanced });
  });
  bench("persistent, a new client (placed)", () => {
    cookies(three, { clientIp: "c", balance: persistent });
  });
});

function pool(): ServicePool {
  const spec: BackendSpec = {
    key: "default/web:80",
    namespace: "default",
    service: "web",
    port: 80,
    type: "ClusterIP",
    endpoints: three.map((e) => ({ host: "10.0.0.1", port: Number(e.address.split(":")[1]) })),
    affinity: { kind: "None" },
    health: { maxFails: DEFAULT_MAX_FAILS, failTimeoutMs: DEFAULT_FAIL_TIMEOUT_MS, checkIntervalMs: DEFAULT_CHECK_INTERVAL_MS },
  };
  return new ServicePool(spec, three, () => undefined);
}
const p = pool();
const hash: BalancePolicy = { kind: "hash", key: "$request_uri", parts: [{ variable: "request_uri" }] };

describe("ServicePool.pick with a route policy", () => {
  bench("no policy (round robin, the unchanged path)", () => {
    p.pick({ clientIp: "c" });
  });
  bench("upstream-hash-by", () => {
    p.pick({ clientIp: "c", balance: hash, hashKey: uris[i++ & 1023]! });
  });
  bench("cookie, balanced, with a good cookie", () => {
    p.pick({ clientIp: "c", balance: balanced, cookie: placedBalanced.setCookie! });
  });
});
