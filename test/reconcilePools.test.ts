import { describe, expect, it } from "vitest";
import { DEFAULT_CHECK_INTERVAL_MS, DEFAULT_FAIL_TIMEOUT_MS, DEFAULT_MAX_FAILS, type BackendSpec } from "../src/upstream/backendSpec.js";
import type { Endpoint } from "../src/upstream/endpoint.js";
import { reconcilePools, type ReconcileResult } from "../src/upstream/pools.js";

// reconcilePools on its own, across generations: what a reload keeps, carries over and
// retires. (test/reload.test.ts checks the same through a running ingressd: a pool and
// its keep-alive connection surviving an unrelated edit.) No pool is started and no
// endpoint dispatches, so nothing here opens a socket.

const timeouts = { connectMs: 1_000, readMs: 1_000 };
const noHealthEvents = (): void => undefined;

function spec(service: string, ports: number[], extra: Partial<BackendSpec> = {}): BackendSpec {
  return {
    key: `default/${service}:80`,
    namespace: "default",
    service,
    port: 80,
    type: "ClusterIP",
    endpoints: ports.map((port) => ({ host: "127.0.0.1", port })),
    affinity: { kind: "None" },
    health: { maxFails: DEFAULT_MAX_FAILS, failTimeoutMs: DEFAULT_FAIL_TIMEOUT_MS, checkIntervalMs: DEFAULT_CHECK_INTERVAL_MS },
    ...extra,
  };
}

/** One generation from `specs`, after `previous` (or from nothing). */
function generation(specs: BackendSpec[], previous?: ReconcileResult): ReconcileResult {
  return reconcilePools(previous?.pools ?? new Map(), previous?.endpoints ?? new Map(), new Map(specs.map((s) => [s.key, s])), timeouts, noHealthEvents);
}

const addresses = (eps: readonly Endpoint[]): string[] => eps.map((e) => e.address).sort();

describe("reconcilePools across reloads", () => {
  it("the first generation builds every pool and endpoint; nothing removed or retired", () => {
    const g = generation([spec("web", [9001, 9002]), spec("api", [9003])]);
    expect([...g.pools.keys()]).toEqual(["default/web:80", "default/api:80"]);
    expect(g.added).toHaveLength(2);
    expect(addresses([...g.endpoints.values()])).toEqual(["127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"]);
    expect(g.removed).toEqual([]);
    expect(g.retired).toEqual([]);
  });

  it("an unchanged spec keeps the same pool object: nothing added, removed or retired", () => {
    const g1 = generation([spec("web", [9001, 9002]), spec("api", [9003])]);
    const g2 = generation([spec("web", [9001, 9002]), spec("api", [9003])], g1);
    expect(g2.pools.get("default/web:80")).toBe(g1.pools.get("default/web:80"));
    expect(g2.pools.get("default/api:80")).toBe(g1.pools.get("default/api:80"));
    expect(g2.added).toEqual([]);
    expect(g2.removed).toEqual([]);
    expect(g2.retired).toEqual([]);
  });

  it("a changed spec builds a new pool that inherits the ClientIP affinity table and the active-health verdicts", () => {
    const affinity = { kind: "ClientIP", timeoutSeconds: 600 } as const;
    const g1 = generation([spec("web", [9001, 9002], { affinity })]);
    const before = g1.pools.get("default/web:80")!;
    before.affinity!.pin("10.0.0.1", "127.0.0.1:9002", Date.now());
    before.activeHealth.set("127.0.0.1:9001", false);
    before.activeHealth.set("127.0.0.1:9002", true);

    const g2 = generation([spec("web", [9001, 9002], { affinity, health: { ...before.spec.health, failTimeoutMs: 5_000 } })], g1);
    const after = g2.pools.get("default/web:80")!;
    expect(after).not.toBe(before);
    expect(g2.added).toEqual([after]);
    expect(g2.removed).toEqual([before]);
    expect(after.affinity).toBe(before.affinity);
    expect(after.affinity!.get("10.0.0.1", Date.now())).toBe("127.0.0.1:9002");
    expect([...after.activeHealth]).toEqual([
      ["127.0.0.1:9001", false],
      ["127.0.0.1:9002", true],
    ]);
  });

  it("a changed pool drops the health verdicts of endpoints it no longer has, and a new affinity timeout starts a new table", () => {
    const g1 = generation([spec("web", [9001, 9002], { affinity: { kind: "ClientIP", timeoutSeconds: 600 } })]);
    const before = g1.pools.get("default/web:80")!;
    before.activeHealth.set("127.0.0.1:9001", false);
    before.activeHealth.set("127.0.0.1:9002", false);

    const g2 = generation([spec("web", [9002], { affinity: { kind: "ClientIP", timeoutSeconds: 60 } })], g1);
    const after = g2.pools.get("default/web:80")!;
    expect([...after.activeHealth]).toEqual([["127.0.0.1:9002", false]]);
    expect(after.affinity).toBeDefined();
    expect(after.affinity).not.toBe(before.affinity);
    expect(after.affinity!.timeoutMs).toBe(60_000);
  });

  it("an endpoint address named by two Services is one Endpoint, and stays the same object across generations", () => {
    const g1 = generation([spec("web", [9001, 9002]), spec("api", [9002])]);
    const shared = g1.endpoints.get("127.0.0.1:9002")!;
    expect(g1.pools.get("default/web:80")!.endpoints[1]).toBe(shared);
    expect(g1.pools.get("default/api:80")!.endpoints[0]).toBe(shared);

    // web changes (9001 goes, 9003 comes): its new pool still holds the old Endpoint for 9002.
    const g2 = generation([spec("web", [9002, 9003]), spec("api", [9002])], g1);
    expect(g2.pools.get("default/web:80")).not.toBe(g1.pools.get("default/web:80"));
    expect(g2.pools.get("default/web:80")!.endpoints[0]).toBe(shared);
    expect(g2.pools.get("default/api:80")).toBe(g1.pools.get("default/api:80"));
    expect(g2.endpoints.get("127.0.0.1:9002")).toBe(shared);
  });

  it("endpoints no longer named by any pool are listed as retired; a removed Service's pool as removed", () => {
    const g1 = generation([spec("web", [9001, 9002]), spec("api", [9003]), spec("old", [9004, 9002])]);
    const old = g1.pools.get("default/old:80")!;
    const g2 = generation([spec("web", [9002]), spec("api", [9003])], g1);
    // 9001 left web, 9004 left with old; 9002 is still web's (and was old's too).
    expect(addresses(g2.retired)).toEqual(["127.0.0.1:9001", "127.0.0.1:9004"]);
    expect(g2.retired.every((e) => g1.endpoints.get(e.address) === e)).toBe(true);
    expect(g2.removed).toContain(old);
    expect(g2.removed).toContain(g1.pools.get("default/web:80"));
    expect(g2.removed).not.toContain(g1.pools.get("default/api:80"));
    expect(g2.pools.has("default/old:80")).toBe(false);
  });
});
