import { Writable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { nextReload, type Upstream } from "./helpers.js";
import { AffinityTable } from "../src/upstream/affinity.js";
import {
  affinityService,
  apiConfig,
  docs,
  endpointsYaml,
  ingressFor,
  lineOf,
  sequence,
  statusOf,
  whoFrom,
  World,
  type AffinityOpts,
} from "./serviceHelpers.js";

const HOST = "aff.localhost";
const KEY = "default/web:80";

let w = new World();
afterEach(async () => {
  await w.close();
  w = new World();
});

/**
 * Service `web` (with `opts`) over three echo upstreams a, b, c on 127.0.0.1 (in that
 * order in its Endpoints), routed from aff.localhost. Service, Endpoints and Ingress are
 * in separate files so each can be edited alone.
 */
async function affinitySite(opts: AffinityOpts, extra: Parameters<World["proxy"]>[1] = {}) {
  const ups = await w.upstreams(["a", "b", "c"]);
  const rules = await w.rules({
    "svc.yaml": affinityService("web", opts),
    "endpoints.yaml": endpointsYaml("web", ups.map((u) => u.port)),
    "ing.yaml": ingressFor("web", HOST, [{ path: "/", service: "web", port: 80 }]),
  });
  const proxy = await w.proxy(rules, extra);
  const byName = new Map(ups.map((u, i) => [["a", "b", "c"][i]!, u]));
  return {
    ups,
    rules,
    proxy,
    pool: () => {
      const p = proxy.runtime.current.pools.get(KEY);
      if (!p) throw new Error(`no pool ${KEY}`);
      return p;
    },
    table: () => {
      const t = proxy.runtime.current.pools.get(KEY)?.affinity;
      if (!t) throw new Error(`pool ${KEY} has no affinity table`);
      return t;
    },
    /** The endpoint address of upstream `name`. */
    addr: (name: string) => `127.0.0.1:${byName.get(name)!.port}`,
  };
}

function counts(names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

// ---------------------------------------------------------------------------------------------

describe("ClientIP affinity: pinning", () => {
  it("pins each client address to one endpoint: 20 requests from 127.0.0.1, then 127.0.0.2 and 127.0.0.3", async () => {
    const s = await affinitySite({ affinity: "ClientIP", timeoutSeconds: 600 });

    const one = await sequence(s.proxy, HOST, 20, "127.0.0.1");
    const two = await sequence(s.proxy, HOST, 20, "127.0.0.2");
    const three = await sequence(s.proxy, HOST, 20, "127.0.0.3");
    expect(new Set(one).size, one.join(",")).toBe(1);
    expect(new Set(two).size, two.join(",")).toBe(1);
    expect(new Set(three).size, three.join(",")).toBe(1);
    // New clients are placed round-robin, so three clients take the three endpoints.
    expect(new Set([one[0], two[0], three[0]]).size).toBe(3);
    // What the upstreams saw agrees: 20 requests each, not a spread.
    expect(s.ups.map((u) => u.received.length)).toEqual([20, 20, 20]);

    const t = s.table();
    expect(t.size).toBe(3);
    expect(t.timeoutMs).toBe(600_000);
    const now = Date.now();
    expect(t.get("127.0.0.1", now)).toBe(s.addr(one[0]!));
    expect(t.get("127.0.0.2", now)).toBe(s.addr(two[0]!));
    expect(t.get("127.0.0.3", now)).toBe(s.addr(three[0]!));

    const svc = (await apiConfig(s.proxy)).services.find((x: { backend: string }) => x.backend === KEY);
    expect(svc).toMatchObject({ sessionAffinity: "ClientIP", affinityTimeoutSeconds: 600, pinnedClients: 3 });
  });

  it("without sessionAffinityConfig, the timeout is Kubernetes' default 10800 s", async () => {
    const s = await affinitySite({ affinity: "ClientIP" });
    const seq = await sequence(s.proxy, HOST, 5);
    expect(new Set(seq).size).toBe(1);
    expect(s.table().timeoutMs).toBe(10_800_000);
  });

  it("with None (the default, or explicit) the same 20 requests spread round-robin", async () => {
    for (const affinity of [undefined, "None"]) {
      const s = await affinitySite(affinity === undefined ? {} : { affinity });
      const seq = await sequence(s.proxy, HOST, 20, "127.0.0.1");
      expect(new Set(seq).size, `${affinity}: ${seq.join(",")}`).toBe(3);
      // Strict rotation: every request goes to the next endpoint.
      seq.forEach((n, i) => expect(n, `request ${i} (${affinity})`).toBe(seq[i % 3]));
      expect(Object.values(counts(seq)).sort()).toEqual([6, 7, 7]);
      expect(s.pool().affinity).toBeUndefined();
      const svc = (await apiConfig(s.proxy)).services.find((x: { backend: string }) => x.backend === KEY);
      expect(svc.sessionAffinity).toBe("None");
      expect(svc.pinnedClients).toBeUndefined();
      await w.close();
      w = new World();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe("ClientIP affinity: expiry", () => {
  it("a client idle for longer than timeoutSeconds loses its pin, and round-robin moves it", async () => {
    const s = await affinitySite({ affinity: "ClientIP", timeoutSeconds: 1 });
    // 127.0.0.1 takes the first endpoint, 127.0.0.2 the second; the next new placement is the third.
    const first = await whoFrom(s.proxy, HOST, "127.0.0.1");
    const second = await whoFrom(s.proxy, HOST, "127.0.0.2");
    expect(second).not.toBe(first);
    expect(await whoFrom(s.proxy, HOST, "127.0.0.1")).toBe(first);
    expect(s.table().get("127.0.0.2", Date.now())).toBe(s.addr(second));

    await delay(1_200); // the one real wait: longer than the 1 s affinity timeout

    // The idle client's entry is gone from the table…
    expect(s.table().get("127.0.0.2", Date.now())).toBeUndefined();
    // …and the other idle client, asking again, is placed anew: round-robin's next, not its old endpoint.
    const after = await whoFrom(s.proxy, HOST, "127.0.0.1");
    expect(after).not.toBe(first);
    expect(after).not.toBe(second);
    expect(s.table().get("127.0.0.1", Date.now())).toBe(s.addr(after));
    // And it is pinned there from now on.
    expect(new Set(await sequence(s.proxy, HOST, 5, "127.0.0.1"))).toEqual(new Set([after]));
  });

  it("a client that keeps coming back within the timeout stays pinned past it (every 400 ms for 2 s, timeout 1 s)", async () => {
    const s = await affinitySite({ affinity: "ClientIP", timeoutSeconds: 1 });
    const started = Date.now();
    const pinned = await whoFrom(s.proxy, HOST, "127.0.0.1");
    const seen: string[] = [pinned];
    for (let i = 0; i < 5; i++) {
      await delay(400); // the client's think time: shorter than the timeout, so the pin must be refreshed
      seen.push(await whoFrom(s.proxy, HOST, "127.0.0.1"));
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    expect(seen).toEqual(Array(6).fill(pinned));
    expect(s.table().get("127.0.0.1", Date.now())).toBe(s.addr(pinned));
  });
});

// ---------------------------------------------------------------------------------------------

describe("ClientIP affinity: re-pinning", () => {
  it("the pinned endpoint leaves the Endpoints: the client is re-pinned to another and stays there; other pins are kept", async () => {
    const s = await affinitySite({ affinity: "ClientIP", timeoutSeconds: 600 });
    const pinned = await whoFrom(s.proxy, HOST, "127.0.0.1");
    const other = await whoFrom(s.proxy, HOST, "127.0.0.2");
    expect(other).not.toBe(pinned);
    const gone = s.ups.find((u) => s.addr(pinned) === `127.0.0.1:${u.port}`)!;
    const receivedBefore = gone.received.length;

    const reloaded = nextReload(s.proxy, (snap) => snap.pools.get(KEY)?.endpoints.length === 2);
    await s.rules.write("endpoints.yaml", endpointsYaml("web", s.ups.filter((u) => u !== gone).map((u) => u.port)));
    await reloaded;
    expect(s.pool().endpoints.map((e) => e.address)).not.toContain(s.addr(pinned));

    const repinned = await whoFrom(s.proxy, HOST, "127.0.0.1");
    expect(repinned).not.toBe(pinned);
    expect(s.table().get("127.0.0.1", Date.now())).toBe(s.addr(repinned));
    expect(new Set(await sequence(s.proxy, HOST, 10, "127.0.0.1"))).toEqual(new Set([repinned]));
    expect(gone.received.length).toBe(receivedBefore);
    // The rebuilt pool inherited the table: 127.0.0.2 keeps its endpoint.
    expect(new Set(await sequence(s.proxy, HOST, 5, "127.0.0.2"))).toEqual(new Set([other]));
  });

  it("the pinned upstream is stopped (connection refused): the request still succeeds on another and the client is re-pinned", async () => {
    const s = await affinitySite({ affinity: "ClientIP", timeoutSeconds: 600 });
    const pinned = await sequence(s.proxy, HOST, 3, "127.0.0.1");
    expect(new Set(pinned).size).toBe(1);
    const dead: Upstream = s.ups.find((u) => s.addr(pinned[0]!) === `127.0.0.1:${u.port}`)!;
    await dead.close();

    const res = await whoFrom(s.proxy, HOST, "127.0.0.1"); // throws on anything but a 200
    expect(res).not.toBe(pinned[0]);
    expect(s.table().get("127.0.0.1", Date.now())).toBe(s.addr(res));
    expect(new Set(await sequence(s.proxy, HOST, 5, "127.0.0.1"))).toEqual(new Set([res]));
  });
});

// ---------------------------------------------------------------------------------------------

describe("ClientIP affinity: reloads", () => {
  /** Three clients pinned to the three endpoints (a fresh round-robin would put any one of them elsewhere). */
  async function pinThree(s: Awaited<ReturnType<typeof affinitySite>>): Promise<Record<string, string>> {
    const pins: Record<string, string> = {};
    for (const c of ["127.0.0.1", "127.0.0.2", "127.0.0.3"]) pins[c] = await whoFrom(s.proxy, HOST, c);
    expect(new Set(Object.values(pins)).size).toBe(3);
    return pins;
  }

  it("an unrelated reload keeps the pool object and every pin", async () => {
    const s = await affinitySite({ affinity: "ClientIP", timeoutSeconds: 600 });
    const pins = await pinThree(s);
    const poolBefore = s.pool();
    const tableBefore = s.table();

    const [o] = await w.upstreams(["o"]);
    const reloaded = nextReload(s.proxy, (snap) => snap.pools.has("default/other:80"));
    await s.rules.write("other.yaml", docs(affinityService("other"), endpointsYaml("other", [o!.port]), ingressFor("other", "other.localhost", [{ path: "/", service: "other", port: 80 }])));
    const snap = await reloaded;
    expect(snap.generation).toBeGreaterThan(1);
    expect(await whoFrom(s.proxy, "other.localhost")).toBe("o");

    expect(s.pool()).toBe(poolBefore);
    expect(s.table()).toBe(tableBefore);
    // The last-placed client first: with a lost table it would land on round-robin's next.
    for (const c of ["127.0.0.3", "127.0.0.2", "127.0.0.1"]) {
      expect(new Set(await sequence(s.proxy, HOST, 3, c)), c).toEqual(new Set([pins[c]]));
    }
  });

  it("a change to the Service itself rebuilds the pool, which inherits the affinity table", async () => {
    const s = await affinitySite({ affinity: "ClientIP", timeoutSeconds: 600 });
    const pins = await pinThree(s);
    const poolBefore = s.pool();
    const tableBefore = s.table();

    const reloaded = nextReload(s.proxy, (snap) => snap.pools.get(KEY)?.spec.health.maxFails === 5);
    await s.rules.write("svc.yaml", affinityService("web", { affinity: "ClientIP", timeoutSeconds: 600, annotations: { "ingressd.io/max-fails": "5" } }));
    await reloaded;

    expect(s.pool()).not.toBe(poolBefore);
    expect(s.table()).toBe(tableBefore);
    for (const c of ["127.0.0.3", "127.0.0.2", "127.0.0.1"]) {
      expect(new Set(await sequence(s.proxy, HOST, 3, c)), c).toEqual(new Set([pins[c]]));
    }
  });
});

// ---------------------------------------------------------------------------------------------

/** A pino logger at info whose lines are parsed and kept; `waitFor` resolves on a matching line. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const waiters: { pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  let pending = "";
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      pending += chunk.toString();
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = JSON.parse(pending.slice(0, nl)) as Record<string, unknown>;
        pending = pending.slice(nl + 1);
        lines.push(line);
        for (const wt of waiters.splice(0)) {
          if (wt.pred(line)) wt.resolve(line);
          else waiters.push(wt);
        }
      }
      cb();
    },
  });
  return {
    logger: pino({ level: "info", base: undefined }, stream),
    lines,
    waitFor(pred: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
      const found = lines.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
}

describe("ClientIP affinity behind --trust-proxy", () => {
  it("a trusted peer's X-Forwarded-For is the client: pinned per forwarded address, logged as the client", async () => {
    const log = capturingLogger();
    const s = await affinitySite({ affinity: "ClientIP", timeoutSeconds: 600 }, { trustProxy: ["127.0.0.1"], logger: log.logger });

    const x = await sequence(s.proxy, HOST, 10, "127.0.0.1", { "x-forwarded-for": "10.1.1.1" });
    const y = await sequence(s.proxy, HOST, 10, "127.0.0.1", { "x-forwarded-for": "10.2.2.2" });
    expect(new Set(x).size, x.join(",")).toBe(1);
    expect(new Set(y).size, y.join(",")).toBe(1);
    expect(x[0]).not.toBe(y[0]); // two clients, placed round-robin, behind one proxy address
    // Interleaved, each forwarded client still lands on its own endpoint.
    for (let i = 0; i < 3; i++) {
      expect(await whoFrom(s.proxy, HOST, "127.0.0.1", { "x-forwarded-for": "10.1.1.1" })).toBe(x[0]);
      expect(await whoFrom(s.proxy, HOST, "127.0.0.1", { "x-forwarded-for": "10.2.2.2" })).toBe(y[0]);
    }
    // A chain ending in the trusted proxy itself: the nearest untrusted hop is the client.
    const z = await whoFrom(s.proxy, HOST, "127.0.0.1", { "x-forwarded-for": "10.3.3.3, 127.0.0.1" });

    const t = s.table();
    const now = Date.now();
    expect(t.get("10.1.1.1", now)).toBe(s.addr(x[0]!));
    expect(t.get("10.2.2.2", now)).toBe(s.addr(y[0]!));
    expect(t.get("10.3.3.3", now)).toBe(s.addr(z));
    expect(t.get("127.0.0.1", now)).toBeUndefined();
    expect(t.size).toBe(3);

    const line = await log.waitFor((l) => l.log === "access" && l.client === "10.2.2.2");
    expect(line).toMatchObject({ host: HOST, status: 200, upstream: s.addr(y[0]!) });
    expect(log.lines.filter((l) => l.log === "access" && l.client === "127.0.0.1")).toEqual([]);
  });

  it("an untrusted peer's X-Forwarded-For is ignored: 127.0.0.2 is keyed by 127.0.0.2", async () => {
    const s = await affinitySite({ affinity: "ClientIP", timeoutSeconds: 600 }, { trustProxy: ["127.0.0.1"] });
    const a = await sequence(s.proxy, HOST, 5, "127.0.0.2", { "x-forwarded-for": "10.1.1.1" });
    const b = await sequence(s.proxy, HOST, 5, "127.0.0.2", { "x-forwarded-for": "10.2.2.2" });
    expect(new Set([...a, ...b]).size).toBe(1); // one client, whatever it claims
    const t = s.table();
    expect(t.get("127.0.0.2", Date.now())).toBe(s.addr(a[0]!));
    expect(t.get("10.1.1.1", Date.now())).toBeUndefined();
    expect(t.get("10.2.2.2", Date.now())).toBeUndefined();
    expect(t.size).toBe(1);
  });

  it("without --trust-proxy, X-Forwarded-For is ignored: the key is the socket peer 127.0.0.1", async () => {
    const s = await affinitySite({ affinity: "ClientIP", timeoutSeconds: 600 });
    const a = await sequence(s.proxy, HOST, 5, "127.0.0.1", { "x-forwarded-for": "10.1.1.1" });
    const b = await sequence(s.proxy, HOST, 5, "127.0.0.1", { "x-forwarded-for": "10.2.2.2" });
    expect(new Set([...a, ...b]).size).toBe(1);
    const t = s.table();
    expect(t.get("127.0.0.1", Date.now())).toBe(s.addr(a[0]!));
    expect(t.get("10.1.1.1", Date.now())).toBeUndefined();
    expect(t.size).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------

describe("AffinityTable", () => {
  it("get returns the pin until timeoutMs after the last pin, then nothing (and drops the entry)", () => {
    const t = new AffinityTable(1_000);
    expect(t.get("c", 0)).toBeUndefined();
    t.pin("c", "10.0.0.1:80", 0);
    expect(t.get("c", 0)).toBe("10.0.0.1:80");
    expect(t.get("c", 999)).toBe("10.0.0.1:80");
    expect(t.size).toBe(1);
    expect(t.get("c", 1_001)).toBeUndefined();
    expect(t.size).toBe(0);
    // Once expired it stays expired, even if asked about an earlier time.
    expect(t.get("c", 500)).toBeUndefined();
  });

  it("pinning again refreshes the timeout and may change the endpoint", () => {
    const t = new AffinityTable(1_000);
    t.pin("c", "10.0.0.1:80", 0);
    t.pin("c", "10.0.0.1:80", 800);
    expect(t.get("c", 1_500)).toBe("10.0.0.1:80"); // 700 ms after the refresh
    expect(t.get("c", 1_801)).toBeUndefined();
    t.pin("c", "10.0.0.2:80", 2_000);
    expect(t.get("c", 2_001)).toBe("10.0.0.2:80");
    expect(t.size).toBe(1);
  });

  it("clients are independent", () => {
    const t = new AffinityTable(1_000);
    t.pin("a", "x:1", 0);
    t.pin("b", "y:1", 500);
    expect(t.get("a", 600)).toBe("x:1");
    expect(t.get("b", 600)).toBe("y:1");
    expect(t.get("a", 1_200)).toBeUndefined();
    expect(t.get("b", 1_200)).toBe("y:1");
  });

  it("at the cap, the least recently pinned client goes first (LRU), not the oldest inserted", () => {
    const t = new AffinityTable(60_000, 3);
    t.pin("a", "x:1", 0);
    t.pin("b", "x:2", 1);
    t.pin("c", "x:3", 2);
    t.pin("a", "x:1", 3); // a is used again: now the most recent
    t.pin("d", "x:4", 4);
    expect(t.size).toBe(3);
    expect(t.get("b", 5)).toBeUndefined();
    expect(t.get("a", 5)).toBe("x:1");
    expect(t.get("c", 5)).toBe("x:3");
    expect(t.get("d", 5)).toBe("x:4");
    t.pin("e", "x:5", 6); // c is now the least recently pinned
    expect(t.get("c", 7)).toBeUndefined();
    expect([t.get("a", 7), t.get("d", 7), t.get("e", 7)]).toEqual(["x:1", "x:4", "x:5"]);
  });

  it("is bounded by maxEntries: 1,000 clients within one timeout leave at most the cap, the most recent ones", () => {
    const cap = 50;
    const t = new AffinityTable(3_600_000, cap);
    for (let i = 0; i < 1_000; i++) {
      t.pin(`10.0.${i >> 8}.${i & 255}`, `ep:${i % 3}`, i);
      expect(t.size).toBeLessThanOrEqual(cap);
    }
    expect(t.size).toBe(cap);
    const now = 1_000;
    for (let i = 0; i < 1_000; i++) {
      const got = t.get(`10.0.${i >> 8}.${i & 255}`, now);
      if (i >= 1_000 - cap) expect(got, `client ${i}`).toBe(`ep:${i % 3}`);
      else expect(got, `client ${i}`).toBeUndefined();
    }
  });

  it("the default cap still bounds memory (100,000)", () => {
    const t = new AffinityTable(3_600_000);
    for (let i = 0; i < 100_050; i++) t.pin(`c${i}`, "e", 0);
    expect(t.size).toBe(100_000);
  });

  it("expired entries are evicted when another client is pinned, live ones are not", () => {
    const t = new AffinityTable(100);
    for (let i = 0; i < 500; i++) t.pin(`old${i}`, "e:1", 0); // expire at 100
    t.pin("mid", "e:2", 50); // expires at 150
    expect(t.size).toBe(501);
    t.pin("new", "e:3", 120);
    expect(t.size).toBe(2); // the 500 expired ones are gone without being asked about
    expect(t.get("mid", 120)).toBe("e:2");
    expect(t.get("new", 120)).toBe("e:3");
    expect(t.get("old0", 120)).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------

describe("sessionAffinity validation", () => {
  it("the ClusterIP typo is rejected at its file:line with a hint at ClientIP; the file's other resources serve", async () => {
    const [good] = await w.upstreams(["good"]);
    const text = docs(
      affinityService("typo", { affinity: "ClusterIP" }),
      affinityService("good", { affinity: "ClientIP", timeoutSeconds: 60 }),
      endpointsYaml("good", [good!.port]),
      endpointsYaml("typo", [good!.port]),
      ingressFor("good", "good.localhost", [{ path: "/", service: "good", port: 80 }]),
      ingressFor("typo", "typo.localhost", [{ path: "/", service: "typo", port: 80 }]),
    );
    const rules = await w.rules({ "svc.yaml": text });
    const proxy = await w.proxy(rules);

    const config = await apiConfig(proxy);
    const at = lineOf(text, "sessionAffinity: ClusterIP");
    expect(config.errors).toEqual([
      expect.objectContaining({
        severity: "error",
        file: rules.paths["svc.yaml"],
        line: at.line,
        field: "spec.sessionAffinity",
        resource: "Service default/typo",
      }),
    ]);
    // A hint at the typo, not only the generic "must be one of ClientIP, None".
    expect(config.errors[0].message).toContain("ClientIP");
    expect(config.errors[0].message).toContain("ClusterIP");
    expect(config.files).toEqual([expect.objectContaining({ path: rules.paths["svc.yaml"], status: "invalid", resources: 5 })]);

    expect(await whoFrom(proxy, "good.localhost")).toBe("good");
    expect(proxy.runtime.current.pools.get("default/good:80")?.affinity?.timeoutMs).toBe(60_000);
    expect(proxy.runtime.current.pools.has("default/typo:80")).toBe(false);
    expect(await statusOf(proxy, "typo.localhost")).toBe(503);
  });

  it("timeoutSeconds 0 and 86401 are rejected at their lines; 1 and 86400 are accepted", async () => {
    const [up] = await w.upstreams(["up"]);
    const names = { zero: 0, over: 86401, one: 1, max: 86400 };
    const text = docs(
      ...Object.entries(names).flatMap(([n, timeoutSeconds]) => [affinityService(n, { affinity: "ClientIP", timeoutSeconds }), endpointsYaml(n, [up!.port])]),
      ingressFor("all", "t.localhost", Object.keys(names).map((n) => ({ path: `/${n}`, service: n, port: 80 }))),
    );
    const rules = await w.rules({ "svc.yaml": text });
    const proxy = await w.proxy(rules);

    const config = await apiConfig(proxy);
    const errs = [...config.errors].sort((a: { line: number }, b: { line: number }) => a.line - b.line);
    expect(errs).toEqual([
      expect.objectContaining({ file: rules.paths["svc.yaml"], line: lineOf(text, "timeoutSeconds: 0\n").line, field: "spec.sessionAffinityConfig.clientIP.timeoutSeconds", resource: "Service default/zero" }),
      expect.objectContaining({ file: rules.paths["svc.yaml"], line: lineOf(text, "timeoutSeconds: 86401").line, field: "spec.sessionAffinityConfig.clientIP.timeoutSeconds", resource: "Service default/over" }),
    ]);
    for (const e of errs) expect(e.message).toMatch(/1 to 86400/);

    const pools = proxy.runtime.current.pools;
    expect(pools.has("default/zero:80")).toBe(false);
    expect(pools.has("default/over:80")).toBe(false);
    expect(pools.get("default/one:80")?.affinity?.timeoutMs).toBe(1_000);
    expect(pools.get("default/max:80")?.affinity?.timeoutMs).toBe(86_400_000);
    expect(await whoFrom(proxy, "t.localhost", "127.0.0.1", {}, "/one")).toBe("up");
    expect(await whoFrom(proxy, "t.localhost", "127.0.0.1", {}, "/max")).toBe("up");
    expect(await statusOf(proxy, "t.localhost", "/zero")).toBe(503);
    expect(await statusOf(proxy, "t.localhost", "/over")).toBe(503);
  });
});

