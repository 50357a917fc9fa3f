import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { parseDuration } from "../src/config/annotations.js";
import { parseRulesFile } from "../src/config/parse.js";
import { validateDocuments } from "../src/config/validate.js";
import { formatIssue } from "../src/model/issues.js";
import { Endpoint, type PassiveHealthReader } from "../src/upstream/endpoint.js";
import { get, ingressYaml, nextReload, startUpstream } from "./helpers.js";
import {
  after,
  checkedUpstream,
  configOf,
  endpointOf,
  healthSite,
  memoryLog,
  resetAfterBody,
  resettingServer,
  serviceOf,
  upstreamOn,
  whoAnswers,
  type EndpointView,
  type MemoryLog,
} from "./healthHelpers.js";
import { freePort, inspect, proxyWith, sha256, start, waitFor, within, type Proxy, type Seen } from "./proxyHelpers.js";

// ---------------------------------------------------------------------------
// Fixtures: everything a test starts is closed after it, in reverse order.
// ---------------------------------------------------------------------------

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function track<T extends { close(): Promise<void> }>(x: T): T {
  cleanups.push(() => x.close());
  return x;
}

async function proxyOver(files: Record<string, string>, extra: Parameters<typeof proxyWith>[1] = {}): Promise<Awaited<ReturnType<typeof proxyWith>>> {
  const made = await proxyWith(files, { shutdownGraceMs: 1_000, ...extra });
  cleanups.push(async () => {
    await made.proxy.close();
    await made.rules.cleanup();
  });
  return made;
}

const MAX_FAILS = "ingressd.io/max-fails";
const FAIL_TIMEOUT = "ingressd.io/fail-timeout";
const CHECK_PATH = "ingressd.io/health-check-path";
const CHECK_INTERVAL = "ingressd.io/health-check-interval";
const TRY_DURATION = "ingressd.io/try-duration";

const HOST = "web.localhost";

/** Sends GETs (each must be answered by `expected`) until `done` holds; returns how many were sent. */
async function requestUntil(proxy: Proxy, expected: string, done: () => boolean | Promise<boolean>, max: number, what: string): Promise<number> {
  for (let sent = 1; sent <= max; sent++) {
    expect(await whoAnswers(proxy.url, HOST)).toBe(expected);
    if (await done()) return sent;
  }
  throw new Error(`${what}: not after ${max} requests`);
}

/** `n` GETs; who answered each. */
async function answers(proxy: Proxy, n: number): Promise<(string | number)[]> {
  const out: (string | number)[] = [];
  for (let i = 0; i < n; i++) out.push(await whoAnswers(proxy.url, HOST));
  return out;
}

function ejectedFor(ep: EndpointView): number {
  if (ep.passive === "ok") throw new Error(`endpoint ${ep.address} is not passively ejected`);
  return ep.passive.ejectedForMs;
}

/** Retry-After as a positive whole number of seconds. */
function retryAfter(headers: Record<string, string | string[] | undefined>): number {
  const v = headers["retry-after"];
  expect(v, "Retry-After header").toMatch(/^[1-9]\d*$/);
  return Number(v);
}

/** ingressd's own 503: short plain text, Retry-After. */
function expectOwn503(res: Awaited<ReturnType<typeof get>>): number {
  expect(res.status, res.body).toBe(503);
  expect(res.headers.server).toBe("ingressd");
  expect(res.headers["content-type"]).toMatch(/^text\/plain/);
  expect(res.body.length).toBeGreaterThan(0);
  expect(res.body.length).toBeLessThan(512);
  expect(res.body.startsWith("503")).toBe(true);
  return retryAfter(res.headers);
}

// ---------------------------------------------------------------------------
// Units
// ---------------------------------------------------------------------------

describe("parseDuration", () => {
  it.each([
    ["2s", 2_000],
    ["500ms", 500],
    ["1m", 60_000],
    ["1h", 3_600_000],
    ["1m30s", 90_000],
    ["2s500ms", 2_500],
    ["1.5s", 1_500],
    ["0.25s", 250],
    ["10", 10_000],
    ["0.5", 500],
    ["0", 0],
    ["0s", 0],
    [" 2s ", 2_000],
  ])("%j → %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["", " ", "soon", "s", "ms", "-1s", "2 s", "1.s", "1m5", "5sec", "1d", "1e3", "2S", "+2s", "1,5s"])("%j is malformed → undefined", (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe("Endpoint passive accounting (explicit times)", () => {
  const ep = (): Endpoint => new Endpoint({ host: "127.0.0.1", port: 1 }, { connectMs: 1_000, readMs: 1_000 });

  /** A Service's limits reading `e`, with the transitions it is told of ("out@<time of the failure>" / "back"). */
  let lastFailure = 0;
  function reader(e: Endpoint, maxFails: number, failTimeoutMs: number) {
    const told: string[] = [];
    const r: PassiveHealthReader = { maxFails, failTimeoutMs, passiveHealthChanged: (_ep, healthy) => told.push(healthy ? "back" : `out@${lastFailure}`) };
    e.addReader(r);
    return {
      told,
      fail: (t: number) => ((lastFailure = t), e.recordFailure(t, "ECONNREFUSED")),
      until: () => e.outUntil(maxFails, failTimeoutMs),
      isOut: (t: number) => e.outUntil(maxFails, failTimeoutMs) > t,
    };
  }

  it("max-fails failures within fail-timeout eject it for fail-timeout, counted from the ejecting failure", () => {
    const r = reader(ep(), 3, 10_000);
    r.fail(1_000);
    r.fail(2_000);
    expect(r.isOut(2_000)).toBe(false);
    r.fail(3_000);
    expect(r.told).toEqual(["out@3000"]);
    expect(r.until()).toBe(13_000);
    expect(r.isOut(3_000)).toBe(true);
    expect(r.isOut(12_999)).toBe(true);
    expect(r.isOut(13_000)).toBe(false);
  });

  it("failures further apart than fail-timeout do not add up", () => {
    const r = reader(ep(), 2, 1_000);
    r.fail(0);
    r.fail(1_001); // not within one window with the failure at 0
    expect(r.isOut(1_001)).toBe(false);
    r.fail(1_500); // within one window with the failure at 1001
    expect(r.isOut(1_500)).toBe(true);
    expect(r.told).toEqual(["out@1500"]);
  });

  it("a failure exactly fail-timeout after the first still counts (the window is inclusive)", () => {
    const r = reader(ep(), 2, 1_000);
    r.fail(0);
    r.fail(1_000);
    expect(r.told).toEqual(["out@1000"]);
  });

  it("max-fails 1 ejects on the first failure; max-fails 0 never ejects", () => {
    const one = reader(ep(), 1, 1_000);
    one.fail(5);
    expect(one.isOut(6)).toBe(true);
    const off = reader(ep(), 0, 1_000);
    for (let t = 0; t < 100; t++) off.fail(t);
    expect(off.isOut(100)).toBe(false);
    expect(off.until()).toBe(0);
    expect(off.told).toEqual([]);
  });

  it("a success starts the count over", () => {
    const e = ep();
    const r = reader(e, 3, 10_000);
    r.fail(0);
    r.fail(1);
    e.recordSuccess();
    expect(r.told).toEqual([]); // it was not out: nothing to say
    r.fail(2);
    r.fail(3);
    expect(r.isOut(3)).toBe(false);
    r.fail(4);
    expect(r.isOut(4)).toBe(true);
  });

  it("a success ends an ejection (and says so); a failure while out is not told again, and extends the ejection as in nginx", () => {
    const e = ep();
    const r = reader(e, 1, 1_000);
    r.fail(0);
    r.fail(500); // already out: not told again
    expect(r.told).toEqual(["out@0"]);
    expect(r.until()).toBe(1_500);
    e.recordSuccess();
    expect(r.told).toEqual(["out@0", "back"]);
    expect(r.isOut(501)).toBe(false);
    expect(r.until()).toBe(0);
    e.recordSuccess();
    expect(r.told).toEqual(["out@0", "back"]);
  });

  it("after the ejection expires the endpoint is tried again and a failing trial ejects it again within max-fails failures", () => {
    const r = reader(ep(), 2, 1_000);
    r.fail(0);
    r.fail(10);
    expect(r.isOut(1_010)).toBe(false); // fail-timeout over: back in rotation for a trial
    let ejectedAgainAfter = 0;
    for (let t = 1_011; t < 1_020 && ejectedAgainAfter === 0; t++) {
      r.fail(t);
      if (r.isOut(t)) ejectedAgainAfter = t - 1_010;
    }
    expect(ejectedAgainAfter).toBeGreaterThanOrEqual(1);
    expect(ejectedAgainAfter).toBeLessThanOrEqual(2);
    expect(r.isOut(1_020)).toBe(true);
  });

  it("every Service applies its own limits to the shared failures, and only those whose limits are crossed are told", () => {
    const e = ep();
    const strict = reader(e, 1, 10_000);
    const usual = reader(e, 3, 10_000);
    const never = reader(e, 0, 10_000);
    const wide = reader(e, 5, 60_000);
    strict.fail(0);
    expect([strict.isOut(0), usual.isOut(0), never.isOut(0), wide.isOut(0)]).toEqual([true, false, false, false]);
    usual.fail(1);
    never.fail(2);
    expect([strict.isOut(2), usual.isOut(2), never.isOut(2), wide.isOut(2)]).toEqual([true, true, false, false]);
    for (let t = 3; t < 5; t++) never.fail(t);
    expect(wide.isOut(5)).toBe(true); // the ring grew to the largest max-fails read: 5 failures counted
    expect([strict.told, usual.told, never.told, wide.told]).toEqual([["out@0"], ["out@2"], [], ["out@4"]]);
    e.recordSuccess();
    expect([strict.told.at(-1), usual.told.at(-1), never.told, wide.told.at(-1)]).toEqual(["back", "back", [], "back"]);
  });

  it("a Service that stops reading (its pool was replaced) is told nothing more", () => {
    const e = ep();
    const told: boolean[] = [];
    const r: PassiveHealthReader = { maxFails: 1, failTimeoutMs: 1_000, passiveHealthChanged: (_ep, healthy) => told.push(healthy) };
    e.addReader(r);
    e.removeReader(r);
    e.recordFailure(0, "ECONNREFUSED");
    expect(told).toEqual([]);
    expect(e.outUntil(1, 1_000)).toBe(1_000); // the failure itself is still shared
  });
});

// ---------------------------------------------------------------------------
// Passive health
// ---------------------------------------------------------------------------

describe("passive health", () => {
  it("an endpoint refusing connections leaves rotation after max-fails, requests stay on the other, it is tried after fail-timeout and rejoins once listening", async () => {
    const live = track(await startUpstream("live"));
    const dead = await freePort();
    const { proxy } = await proxyOver({ "web.yaml": healthSite("web", HOST, [dead, live.port], { [MAX_FAILS]: "2", [FAIL_TIMEOUT]: "1s" }) });

    const svc = await serviceOf(proxy.admin, "web");
    expect(svc.health).toMatchObject({ maxFails: 2, failTimeoutMs: 1_000 });
    expect(await endpointOf(proxy.admin, "web", dead)).toEqual({ address: `127.0.0.1:${dead}`, inRotation: true, passive: "ok", active: "off" });

    // Every request succeeds on the live endpoint while the dead one collects its failures.
    const sent = await requestUntil(proxy, "live", async () => !(await endpointOf(proxy.admin, "web", dead)).inRotation, 8, "dead endpoint ejected");
    expect(sent).toBeLessThanOrEqual(4);
    const out = await endpointOf(proxy.admin, "web", dead);
    const observedAt = Date.now();
    expect(out.inRotation).toBe(false);
    const ejectedForMs = ejectedFor(out);
    expect(ejectedForMs).toBeGreaterThan(0);
    expect(ejectedForMs).toBeLessThanOrEqual(1_000);
    expect(await endpointOf(proxy.admin, "web", live.port)).toMatchObject({ inRotation: true, passive: "ok" });

    expect(await answers(proxy, 10)).toEqual(Array(10).fill("live"));

    // Back in rotation once fail-timeout is over, not before.
    await waitFor(async () => (await endpointOf(proxy.admin, "web", dead)).inRotation, "the dead endpoint back in rotation", 3_000, 20);
    expect(Date.now() - observedAt).toBeGreaterThanOrEqual(ejectedForMs - 50);
    expect((await endpointOf(proxy.admin, "web", dead)).passive).toBe("ok");

    // The upstream comes back on its port: it gets its share again.
    const revived = track(await upstreamOn(dead, "revived"));
    const who = await answers(proxy, 6);
    expect(who.filter((w) => w === "revived").length).toBeGreaterThanOrEqual(2);
    expect(who.filter((w) => w === "live").length).toBeGreaterThanOrEqual(2);
    expect(revived.received.length).toBe(who.filter((w) => w === "revived").length);
    expect(await endpointOf(proxy.admin, "web", dead)).toMatchObject({ inRotation: true, passive: "ok" });
  });

  it("an ejected endpoint is not even tried (its connection attempts stop), then tried again after fail-timeout", async () => {
    const live = track(await startUpstream("live"));
    const resetter = track(await resettingServer());
    const { proxy } = await proxyOver({ "web.yaml": healthSite("web", HOST, [resetter.port, live.port], { [MAX_FAILS]: "2", [FAIL_TIMEOUT]: "1s" }) });

    await requestUntil(proxy, "live", async () => !(await endpointOf(proxy.admin, "web", resetter.port)).inRotation, 8, "resetting endpoint ejected");
    expect(resetter.attempts()).toBe(2);

    expect(await answers(proxy, 10)).toEqual(Array(10).fill("live"));
    expect(resetter.attempts()).toBe(2); // out of rotation: no connection attempt at all

    await waitFor(async () => (await endpointOf(proxy.admin, "web", resetter.port)).inRotation, "the resetting endpoint back in rotation", 3_000, 20);
    await requestUntil(proxy, "live", () => resetter.attempts() > 2, 6, "the endpoint tried again after fail-timeout");
    expect(resetter.attempts()).toBe(3);

    // Still failing: out again (nginx takes it out after the failed trial; ingressd within max-fails failures).
    await requestUntil(proxy, "live", async () => !(await endpointOf(proxy.admin, "web", resetter.port)).inRotation, 6, "ejected again");
    expect(resetter.attempts()).toBeLessThanOrEqual(4);
    const attempts = resetter.attempts();
    expect(await answers(proxy, 6)).toEqual(Array(6).fill("live"));
    expect(resetter.attempts()).toBe(attempts);
  });

  it("max-fails \"0\" turns passive ejection off", async () => {
    const live = track(await startUpstream("live"));
    const resetter = track(await resettingServer());
    const { proxy } = await proxyOver({ "web.yaml": healthSite("web", HOST, [resetter.port, live.port], { [MAX_FAILS]: "0", [FAIL_TIMEOUT]: "1s" }) });

    expect((await serviceOf(proxy.admin, "web")).health.maxFails).toBe(0);
    expect(await answers(proxy, 12)).toEqual(Array(12).fill("live"));
    expect(resetter.attempts()).toBeGreaterThanOrEqual(6); // still in rotation, still tried
    expect(await endpointOf(proxy.admin, "web", resetter.port)).toMatchObject({ inRotation: true, passive: "ok" });
  });

  it("defaults: max-fails 3, fail-timeout 10s", async () => {
    const live = track(await startUpstream("live"));
    const resetter = track(await resettingServer());
    const { proxy } = await proxyOver({ "web.yaml": healthSite("web", HOST, [resetter.port, live.port]) });

    expect((await serviceOf(proxy.admin, "web")).health).toEqual({ maxFails: 3, failTimeoutMs: 10_000 });
    await requestUntil(proxy, "live", async () => !(await endpointOf(proxy.admin, "web", resetter.port)).inRotation, 10, "ejected with the defaults");
    expect(resetter.attempts()).toBe(3);
    const ms = ejectedFor(await endpointOf(proxy.admin, "web", resetter.port));
    expect(ms).toBeGreaterThan(9_000);
    expect(ms).toBeLessThanOrEqual(10_000);
  });

  it("ejection and return are logged with the backend and endpoint", async () => {
    const live = track(await startUpstream("live"));
    const dead = await freePort();
    const log = memoryLog();
    const { proxy } = await proxyOver({ "web.yaml": healthSite("web", HOST, [dead, live.port], { [MAX_FAILS]: "1", [FAIL_TIMEOUT]: "1s" }) }, { logger: log.logger });
    expect(await whoAnswers(proxy.url, HOST)).toBe("live");
    const outLine = await log.waitForLine((l) => l.msg === "endpoint out of rotation", "'endpoint out of rotation'");
    expect(outLine).toMatchObject({ backend: "default/web:80", endpoint: `127.0.0.1:${dead}` });
    expect(String(outLine.reason)).toMatch(/1 failures? within 1000 ms/);
    expect(log.lines.some((l) => l.msg === "endpoint back in rotation")).toBe(false);

    await waitFor(async () => (await endpointOf(proxy.admin, "web", dead)).inRotation, "back in rotation after fail-timeout", 3_000, 20);
    track(await upstreamOn(dead, "revived"));
    // Round robin: one of two requests goes to the revived endpoint.
    expect(await answers(proxy, 2)).toContain("revived");
    const backLine = await log.waitForLine((l) => l.msg === "endpoint back in rotation", "'endpoint back in rotation'");
    expect(backLine).toMatchObject({ backend: "default/web:80", endpoint: `127.0.0.1:${dead}` });
  });
});

describe("passive health of an endpoint shared by Services", () => {
  /** Services strict (max-fails 1) and lenient (max-fails 0), each with the shared endpoint first and a live one of its own. */
  async function sharedEndpoint(logger?: MemoryLog["logger"]) {
    const shared = track(await resettingServer());
    const strictLive = track(await startUpstream("strict-live"));
    const lenientLive = track(await startUpstream("lenient-live"));
    const { proxy } = await proxyOver(
      {
        "strict.yaml": healthSite("strict", "strict.localhost", [shared.port, strictLive.port], { [MAX_FAILS]: "1", [FAIL_TIMEOUT]: "10s" }),
        "lenient.yaml": healthSite("lenient", "lenient.localhost", [shared.port, lenientLive.port], { [MAX_FAILS]: "0" }),
      },
      logger ? { logger } : {},
    );
    return { proxy, shared };
  }

  it("a Service with max-fails \"0\" keeps an endpoint another Service's limits ejected, and keeps trying it", async () => {
    const { proxy, shared } = await sharedEndpoint();
    for (let i = 0; i < 4 && (await endpointOf(proxy.admin, "strict", shared.port)).inRotation; i++) {
      expect(await whoAnswers(proxy.url, "strict.localhost")).toBe("strict-live");
    }
    expect((await endpointOf(proxy.admin, "strict", shared.port)).inRotation).toBe(false);
    expect(await endpointOf(proxy.admin, "lenient", shared.port)).toMatchObject({ inRotation: true, passive: "ok" });

    const attempts = shared.attempts();
    for (let i = 0; i < 4; i++) expect(await whoAnswers(proxy.url, "lenient.localhost")).toBe("lenient-live");
    expect(shared.attempts()).toBeGreaterThanOrEqual(attempts + 2); // round robin: every other request tries it first
    expect(await endpointOf(proxy.admin, "lenient", shared.port)).toMatchObject({ inRotation: true, passive: "ok" });
    // Meanwhile the strict Service still keeps it out.
    const strictAttempts = shared.attempts();
    for (let i = 0; i < 4; i++) expect(await whoAnswers(proxy.url, "strict.localhost")).toBe("strict-live");
    expect(shared.attempts()).toBe(strictAttempts);
  });

  it("failures seen through one Service count for every Service naming the endpoint, each judging them by its own limits (and logging its own transition)", async () => {
    const log = memoryLog();
    const { proxy, shared } = await sharedEndpoint(log.logger);
    // Only the lenient Service gets traffic; its first request tries the shared endpoint first.
    expect(await whoAnswers(proxy.url, "lenient.localhost")).toBe("lenient-live");
    expect(shared.attempts()).toBe(1);
    expect(await endpointOf(proxy.admin, "strict", shared.port)).toMatchObject({ inRotation: false });
    expect(await endpointOf(proxy.admin, "lenient", shared.port)).toMatchObject({ inRotation: true, passive: "ok" });
    const line = await log.waitForLine((l) => l.msg === "endpoint out of rotation", "'endpoint out of rotation'");
    expect(line).toMatchObject({ backend: "default/strict:80", endpoint: `127.0.0.1:${shared.port}` });
    expect(log.lines.filter((l) => l.msg === "endpoint out of rotation").map((l) => l.backend)).toEqual(["default/strict:80"]);
  });
});

// ---------------------------------------------------------------------------
// Active health
// ---------------------------------------------------------------------------

describe("active health checks", () => {
  it("an endpoint whose /healthz answers 500 leaves rotation; 200 or 3xx brings it back; probes are GETs with user-agent ingressd-health-check", async () => {
    const a = track(await checkedUpstream("a"));
    const b = track(await checkedUpstream("b"));
    const { proxy } = await proxyOver({ "web.yaml": healthSite("web", HOST, [a.port, b.port], { [CHECK_PATH]: "/healthz", [CHECK_INTERVAL]: "200ms" }) });

    expect((await serviceOf(proxy.admin, "web")).health).toMatchObject({ checkPath: "/healthz", checkIntervalMs: 200 });
    await waitFor(async () => (await serviceOf(proxy.admin, "web")).endpoints.every((e) => e.active === "healthy" && e.inRotation), "both endpoints healthy", 3_000, 20);

    // Every endpoint is probed, repeatedly, with a GET carrying ingressd's user-agent.
    await waitFor(() => a.probes.length >= 3 && b.probes.length >= 3, "three probes of each endpoint", 3_000, 20);
    for (const p of [...a.probes, ...b.probes]) {
      expect(p.method).toBe("GET");
      expect(p.url).toBe("/healthz");
      expect(p.headers["user-agent"]).toBe("ingressd-health-check");
    }

    a.health = 500;
    await waitFor(async () => {
      const ep = await endpointOf(proxy.admin, "web", a.port);
      return ep.active === "unhealthy" && !ep.inRotation;
    }, "a unhealthy and out of rotation", 3_000, 20);
    expect((await endpointOf(proxy.admin, "web", a.port)).passive).toBe("ok");
    const before = a.traffic();
    expect(await answers(proxy, 10)).toEqual(Array(10).fill("b"));
    expect(a.traffic()).toBe(before);

    a.health = 302; // 3xx is healthy
    await waitFor(async () => {
      const ep = await endpointOf(proxy.admin, "web", a.port);
      return ep.active === "healthy" && ep.inRotation;
    }, "a healthy again", 3_000, 20);
    const who = await answers(proxy, 6);
    expect(who.filter((w) => w === "a").length).toBeGreaterThanOrEqual(2);
    expect(who.filter((w) => w === "b").length).toBeGreaterThanOrEqual(2);

    a.health = 404; // 4xx is not
    await waitFor(async () => (await endpointOf(proxy.admin, "web", a.port)).active === "unhealthy", "a unhealthy on 404", 3_000, 20);
    a.health = 200;
    await waitFor(async () => (await endpointOf(proxy.admin, "web", a.port)).inRotation, "a back on 200", 3_000, 20);
  });

  it("an endpoint with nothing listening fails its check before any request is sent to it", async () => {
    const live = track(await checkedUpstream("live"));
    const dead = await freePort();
    const { proxy } = await proxyOver({ "web.yaml": healthSite("web", HOST, [dead, live.port], { [CHECK_PATH]: "/healthz", [CHECK_INTERVAL]: "200ms" }) });
    await waitFor(async () => (await endpointOf(proxy.admin, "web", dead)).active === "unhealthy", "the dead endpoint unhealthy", 3_000, 20);
    expect(await endpointOf(proxy.admin, "web", dead)).toMatchObject({ inRotation: false, passive: "ok" });
    expect(await answers(proxy, 6)).toEqual(Array(6).fill("live"));
    expect(live.traffic()).toBe(6);
  });

  it("without the annotation there are no probes and endpoints report active: off", async () => {
    const a = track(await checkedUpstream("a"));
    const { proxy } = await proxyOver({ "web.yaml": healthSite("web", HOST, [a.port]) });
    expect(await whoAnswers(proxy.url, HOST)).toBe("a");
    expect(await endpointOf(proxy.admin, "web", a.port)).toMatchObject({ active: "off", inRotation: true });
    expect(a.probes.length).toBe(0);
  });
});

// ---------------------------------------------------------------------------
// Every endpoint out
// ---------------------------------------------------------------------------

describe("every endpoint out of rotation", () => {
  it("passive health never takes a Service's last endpoint: each request while it is down is tried (502), the first one after it is back succeeds", async () => {
    const port = await freePort();
    const log = memoryLog();
    // The defaults (max-fails 3, fail-timeout 10s): a dev server restart refuses a few connections.
    const { proxy } = await proxyOver({ "web.yaml": healthSite("web", HOST, [port]) }, { logger: log.logger });
    for (let i = 0; i < 5; i++) {
      const res = await within(get(`${proxy.url}/`, { host: HOST }), 2_000, `answer ${i}`);
      expect(res.status, `request ${i}: ${res.body}`).toBe(502);
    }
    // Out by its limits (and logged so), yet still offered: there is no other endpoint.
    expect((await endpointOf(proxy.admin, "web", port)).passive).not.toBe("ok");
    const outLine = await log.waitForLine((l) => l.msg === "endpoint out of rotation", "'endpoint out of rotation'");
    expect(String(outLine.reason)).toMatch(/still tried while no endpoint of the Service is in rotation/);

    const back = track(await upstreamOn(port, "back"));
    expect(await whoAnswers(proxy.url, HOST)).toBe("back");
    expect(back.received.length).toBe(1);
    expect(await endpointOf(proxy.admin, "web", port)).toMatchObject({ inRotation: true, passive: "ok" });
  });

  it("passive health never takes the last endpoints: with every endpoint out by its limits, all are tried and the one back first serves", async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const { proxy } = await proxyOver({ "web.yaml": healthSite("web", HOST, [p1, p2], { [MAX_FAILS]: "1", [FAIL_TIMEOUT]: "10s" }) });
    for (let i = 0; i < 3; i++) expect((await get(`${proxy.url}/`, { host: HOST })).status).toBe(502);
    expect((await serviceOf(proxy.admin, "web")).endpoints.map((e) => e.passive === "ok")).toEqual([false, false]);
    track(await upstreamOn(p2, "second"));
    expect(await whoAnswers(proxy.url, HOST)).toBe("second");
    // Back in rotation: the other one is out by its limits again, so it alone serves.
    expect(await answers(proxy, 4)).toEqual(Array(4).fill("second"));
  });

  it("active: 503 with Retry-After, and nothing reaches the unhealthy endpoints", async () => {
    const a = track(await checkedUpstream("a"));
    const b = track(await checkedUpstream("b"));
    a.health = 500;
    b.health = 503;
    const { proxy } = await proxyOver({ "web.yaml": healthSite("web", HOST, [a.port, b.port], { [CHECK_PATH]: "/healthz", [CHECK_INTERVAL]: "200ms" }) });
    await waitFor(async () => (await serviceOf(proxy.admin, "web")).endpoints.every((e) => e.active === "unhealthy" && !e.inRotation), "both unhealthy", 3_000, 20);
    const res = await within(get(`${proxy.url}/`, { host: HOST }), 2_000, "the 503");
    const seconds = expectOwn503(res);
    expect(seconds).toBeLessThanOrEqual(5);
    expect(a.traffic() + b.traffic()).toBe(0);
  });

  it("a held request (try-duration) is not sent to endpoints failing their active check: 503, upstream untouched", async () => {
    const a = track(await checkedUpstream("a"));
    a.health = 500;
    const { proxy } = await proxyOver({
      "web.yaml": healthSite("web", HOST, [a.port], { [CHECK_PATH]: "/healthz", [CHECK_INTERVAL]: "200ms", [TRY_DURATION]: "1s" }),
    });
    await waitFor(async () => (await endpointOf(proxy.admin, "web", a.port)).active === "unhealthy", "a unhealthy", 3_000, 20);
    const res = await within(get(`${proxy.url}/`, { host: HOST }), 4_000, "an answer");
    // Both at once, so a failure shows what the client got as well as what reached the upstream.
    expect({ status: res.status, body: res.body, proxiedToUnhealthy: a.traffic() }).toMatchObject({ status: 503, proxiedToUnhealthy: 0 });
    expectOwn503(res);
  });
});

// ---------------------------------------------------------------------------
// Holding requests while an upstream restarts
// ---------------------------------------------------------------------------

describe("try-duration: holding a request while the upstream restarts", () => {
  /** Sends a request to a Service whose only endpoint is down and brings it up after ~600 ms. */
  async function restartDuring(files: (port: number) => Record<string, string>, extra: Parameters<typeof proxyWith>[1], request: (proxy: Proxy) => ReturnType<typeof get>, handler: Parameters<typeof upstreamOn>[1] = "restarted") {
    const port = await freePort();
    const { proxy } = await proxyOver(files(port), extra);
    const t0 = performance.now();
    const pending = request(proxy);
    // The timer simulates the restart; nothing in ingressd is waited for with it.
    const restarted = after(600).then(async () => track(await upstreamOn(port, handler)));
    const res = await within(pending, 6_000, "the held request's answer");
    const elapsed = performance.now() - t0;
    return { res, elapsed, upstream: await restarted, proxy, port };
  }

  it("global --upstream-try-duration: the request succeeds once the upstream listens", async () => {
    const { res, elapsed, upstream } = await restartDuring(
      (port) => ({ "web.yaml": healthSite("web", HOST, [port]) }),
      { upstreamTryDurationMs: 3_000 },
      (proxy) => get(`${proxy.url}/x`, { host: HOST }),
    );
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ name: "restarted", url: "/x" });
    expect(elapsed).toBeGreaterThanOrEqual(550);
    expect(upstream.received.length).toBe(1);
  });

  it("annotation ingressd.io/try-duration: the same, without the global option", async () => {
    const { res, elapsed, upstream, proxy } = await restartDuring(
      (port) => ({ "web.yaml": healthSite("web", HOST, [port], { [TRY_DURATION]: "3s" }) }),
      {},
      (proxy) => get(`${proxy.url}/y`, { host: HOST }),
    );
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ name: "restarted", url: "/y" });
    expect(elapsed).toBeGreaterThanOrEqual(550);
    expect(upstream.received.length).toBe(1);
    expect((await serviceOf(proxy.admin, "web")).health.tryDurationMs).toBe(3_000);
    // The success put the endpoint back (it had collected failures, maybe an ejection, while down).
    expect(await endpointOf(proxy.admin, "web", upstream.port)).toMatchObject({ inRotation: true, passive: "ok" });
  });

  it("without a try duration a refused request is answered at once (502)", async () => {
    const dead = await freePort();
    const { proxy } = await proxyOver({ "web.yaml": healthSite("web", HOST, [dead]) });
    const t0 = performance.now();
    const res = await within(get(`${proxy.url}/`, { host: HOST }), 2_000, "the 502");
    expect(res.status).toBe(502);
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it("annotation try-duration \"0s\" overrides the global option: not held", async () => {
    const dead = await freePort();
    const { proxy } = await proxyOver({ "web.yaml": healthSite("web", HOST, [dead], { [TRY_DURATION]: "0s" }) }, { upstreamTryDurationMs: 3_000 });
    const t0 = performance.now();
    const res = await within(get(`${proxy.url}/`, { host: HOST }), 4_000, "the answer");
    expect(res.status).toBe(502);
    expect(performance.now() - t0).toBeLessThan(500);
  });

  for (const [how, annotations, extra] of [
    ["annotation", { [TRY_DURATION]: "1s" }, {}],
    ["global option", {}, { upstreamTryDurationMs: 1_000 }],
  ] as const) {
    it(`try duration over (${how}): 503 with Retry-After after at least the duration, within duration + 2 s`, async () => {
      const dead = await freePort();
      const { proxy } = await proxyOver({ "web.yaml": healthSite("web", HOST, [dead], annotations) }, extra);
      const t0 = performance.now();
      const res = await within(get(`${proxy.url}/`, { host: HOST }), 5_000, "the 503");
      const elapsed = performance.now() - t0;
      expectOwn503(res);
      expect(elapsed).toBeLessThan(3_000);
      expect(elapsed, "held for the whole try duration").toBeGreaterThanOrEqual(1_000);
    });
  }

  it("a try duration shorter than the hold interval (200ms) still holds: 503 after ≥ 200 ms, not an immediate 502", async () => {
    const dead = await freePort();
    const { proxy } = await proxyOver({ "web.yaml": healthSite("web", HOST, [dead], { [TRY_DURATION]: "200ms" }) });
    const t0 = performance.now();
    const res = await within(get(`${proxy.url}/`, { host: HOST }), 4_000, "the answer");
    const elapsed = performance.now() - t0;
    expectOwn503(res);
    expect(elapsed).toBeGreaterThanOrEqual(200);
    expect(elapsed).toBeLessThan(2_200);
  });

  it("a POST whose body was not sent yet is held and delivered once, body intact", async () => {
    const body = randomBytes(256 * 1024);
    const { res, upstream } = await restartDuring(
      (port) => ({ "web.yaml": healthSite("web", HOST, [port], { [TRY_DURATION]: "3s" }) }),
      {},
      (proxy) => get(`${proxy.url}/upload`, { host: HOST, "content-type": "application/octet-stream", "content-length": String(body.length) }, "POST", body),
      inspect("restarted"),
    );
    expect(res.status, res.body).toBe(200);
    const seen = JSON.parse(res.body) as Seen;
    expect(seen).toMatchObject({ name: "restarted", method: "POST", url: "/upload", bytes: body.length, sha256: sha256(body) });
    expect(upstream.received.length).toBe(1);
  });

  it("a POST whose body was sent before the upstream reset is neither retried nor held: 502 at once, seen once", async () => {
    const resetter = track(await resetAfterBody());
    const { proxy } = await proxyOver({ "web.yaml": healthSite("web", HOST, [resetter.port], { [TRY_DURATION]: "2s", [MAX_FAILS]: "0" }) }, { upstreamTryDurationMs: 2_000 });
    const body = randomBytes(16 * 1024);
    const t0 = performance.now();
    const res = await within(get(`${proxy.url}/submit`, { host: HOST, "content-type": "application/octet-stream" }, "POST", body), 4_000, "the answer");
    const elapsed = performance.now() - t0;
    expect(res.status, res.body).toBe(502);
    expect(elapsed).toBeLessThan(1_000);
    expect(resetter.attempts()).toBe(1);
    expect(resetter.bodies).toEqual([body.length]);
    // Longer than one hold interval (250 ms): a late duplicate would have arrived by now. Absence has no event.
    await after(400);
    expect(resetter.attempts()).toBe(1);
  });

  it("a POST is not retried on a second endpoint either once its body was sent", async () => {
    const resetter = track(await resetAfterBody());
    const live = track(await startUpstream("live"));
    const { proxy } = await proxyOver({ "web.yaml": healthSite("web", HOST, [resetter.port, live.port], { [MAX_FAILS]: "0" }) });
    const body = randomBytes(8 * 1024);
    // Round robin: within two POSTs one goes to the resetter first.
    const statuses: number[] = [];
    for (let i = 0; i < 2 && resetter.attempts() === 0; i++) {
      statuses.push((await within(get(`${proxy.url}/submit`, { host: HOST, "content-type": "application/octet-stream" }, "POST", body), 4_000, "the answer")).status);
    }
    expect(resetter.attempts()).toBe(1);
    expect(statuses.at(-1)).toBe(502);
    expect(live.received.length).toBe(statuses.length - 1);
  });

  it("a client that leaves while its request is held: the request never reaches the upstream afterwards", async () => {
    const port = await freePort();
    const log = memoryLog();
    const { proxy } = await proxyOver({ "web.yaml": healthSite("web", HOST, [port], { [TRY_DURATION]: "3s" }) }, { logger: log.logger });
    const { req, response } = start(`${proxy.url}/gone`, { headers: { host: HOST } });
    response.catch(() => undefined);
    req.end();
    await after(300); // held by now (the first attempt was refused at once); nothing to observe from outside
    req.destroy();
    const line = await log.waitForLine((l) => l.log === "access" && l.path === "/gone", "access line of /gone");
    expect(line.status).toBe(499);
    const upstream = track(await upstreamOn(port, "restarted"));
    expect(await whoAnswers(proxy.url, HOST, "/fresh")).toBe("restarted");
    await after(600); // more than two hold intervals: a leftover retry would have arrived
    expect(upstream.received.map((r) => r.url)).toEqual(["/fresh"]);
  });
});

// ---------------------------------------------------------------------------
// Annotation validation
// ---------------------------------------------------------------------------

describe("annotation validation", () => {
  /** A Service whose annotation (line 6, column 5) is `line`. */
  const svcWith = (lines: string[]): string => `apiVersion: v1
kind: Service
metadata:
  name: web
  annotations:
${lines.map((l) => `    ${l}`).join("\n")}
spec:
  ports:
    - port: 80
`;

  it.each([
    [`ingressd.io/max-fails: "x"`, "ingressd.io/max-fails", /whole number/],
    [`ingressd.io/max-fails: "-1"`, "ingressd.io/max-fails", /whole number/],
    [`ingressd.io/fail-timeout: "soon"`, "ingressd.io/fail-timeout", /duration/],
    [`ingressd.io/fail-timeout: "0s"`, "ingressd.io/fail-timeout", /longer than 0/],
    [`ingressd.io/health-check-path: "healthz"`, "ingressd.io/health-check-path", /start/],
    [`ingressd.io/health-check-interval: "often"`, "ingressd.io/health-check-interval", /duration/],
    [`ingressd.io/health-check-interval: "0ms"`, "ingressd.io/health-check-interval", /longer than 0/],
    [`ingressd.io/try-duration: "forever"`, "ingressd.io/try-duration", /duration/],
    [`ingressd.io/foo: "bar"`, "ingressd.io/foo", /unknown annotation/],
  ])("%s is an error at its line, on field metadata.annotations[…], and the Service is not loaded", (line, name, message) => {
    const parsed = parseRulesFile("/rules/svc.yaml", svcWith([`other.example/keep: "yes"`, line]));
    if (!parsed.ok) throw new Error(parsed.issues.map(formatIssue).join("; "));
    const result = validateDocuments(parsed.documents);
    expect(result.resources).toEqual([]);
    expect(result.issues).toEqual([
      expect.objectContaining({
        severity: "error",
        code: "invalid-annotation",
        file: "/rules/svc.yaml",
        line: 7,
        col: 5,
        field: `metadata.annotations[${JSON.stringify(name)}]`,
        resource: "Service default/web",
        message: expect.stringMatching(message),
      }),
    ]);
    expect(formatIssue(result.issues[0]!)).toContain(`/rules/svc.yaml:7:5: error:`);
  });

  it("the field is spelled metadata.annotations[\"ingressd.io/max-fails\"]", () => {
    const parsed = parseRulesFile("svc.yaml", svcWith([`ingressd.io/max-fails: "x"`]));
    if (!parsed.ok) throw new Error("syntax");
    expect(validateDocuments(parsed.documents).issues[0]?.field).toBe('metadata.annotations["ingressd.io/max-fails"]');
  });

  it("valid values are accepted", () => {
    const parsed = parseRulesFile(
      "svc.yaml",
      svcWith([
        `ingressd.io/max-fails: "0"`,
        `ingressd.io/fail-timeout: "500ms"`,
        `ingressd.io/health-check-path: "/healthz"`,
        `ingressd.io/health-check-interval: "1m30s"`,
        `ingressd.io/try-duration: "0s"`,
        `nginx.ingress.kubernetes.io/whatever: "not ours"`,
      ]),
    );
    if (!parsed.ok) throw new Error("syntax");
    const result = validateDocuments(parsed.documents);
    expect(result.issues).toEqual([]);
    expect(result.resources.map((r) => r.id)).toEqual(["Service default/web"]);
  });

  it("through a running ingressd: every bad annotation is an error in /api/config with file:line and field; the Service is not served, its neighbour is", async () => {
    const live = track(await startUpstream("live"));
    const text = `apiVersion: v1
kind: Service
metadata:
  name: web
  annotations:
    ingressd.io/max-fails: "x"
    ingressd.io/fail-timeout: "soon"
    ingressd.io/health-check-path: "healthz"
    ingressd.io/foo: "bar"
spec:
  ports:
    - port: 80
---
apiVersion: v1
kind: Endpoints
metadata:
  name: web
subsets:
  - addresses: [{ ip: 127.0.0.1 }]
    ports: [{ port: ${live.port} }]
`;
    const { proxy, rules } = await proxyOver({
      "ok.yaml": healthSite("ok", "ok.localhost", [live.port], { [MAX_FAILS]: "2" }),
      "ing.yaml": ingressYaml("web", HOST, [{ path: "/", service: "web" }]),
    });
    const file = await rules.write("svc.yaml", text);
    await waitFor(async () => (await configOf(proxy.admin)).errors.length >= 4, "the annotation errors", 5_000, 20);
    const config = await configOf(proxy.admin);
    const errs = config.errors.filter((e) => e.file === file);
    const byField = Object.fromEntries(errs.map((e) => [e.field, e]));
    expect(Object.keys(byField).sort()).toEqual(
      ['metadata.annotations["ingressd.io/fail-timeout"]', 'metadata.annotations["ingressd.io/foo"]', 'metadata.annotations["ingressd.io/health-check-path"]', 'metadata.annotations["ingressd.io/max-fails"]'],
    );
    expect(byField['metadata.annotations["ingressd.io/max-fails"]']).toMatchObject({ severity: "error", code: "invalid-annotation", line: 6 });
    expect(byField['metadata.annotations["ingressd.io/fail-timeout"]']).toMatchObject({ line: 7 });
    expect(byField['metadata.annotations["ingressd.io/health-check-path"]']).toMatchObject({ line: 8 });
    expect(byField['metadata.annotations["ingressd.io/foo"]']).toMatchObject({ line: 9 });
    expect(config.services.map((s) => s.backend)).not.toContain("default/web:80");
    expect((await get(`${proxy.url}/`, { host: HOST })).status).toBe(503);
    expect(await whoAnswers(proxy.url, "ok.localhost")).toBe("live");
  });
});

// ---------------------------------------------------------------------------
// Health state across reloads
// ---------------------------------------------------------------------------

describe("health state across reloads", () => {
  it("a passively ejected endpoint stays out across an unrelated reload and an edit of its own Service", async () => {
    const live = track(await startUpstream("live"));
    const other = track(await startUpstream("other"));
    const dead = await freePort();
    const ann = { [MAX_FAILS]: "1", [FAIL_TIMEOUT]: "5s" };
    const { proxy, rules } = await proxyOver({ "web.yaml": healthSite("web", HOST, [dead, live.port], ann) });
    await requestUntil(proxy, "live", async () => !(await endpointOf(proxy.admin, "web", dead)).inRotation, 4, "ejected");
    const before = ejectedFor(await endpointOf(proxy.admin, "web", dead));

    const unrelated = nextReload(proxy, (s) => s.pools.has("default/other:80"));
    await rules.write("other.yaml", healthSite("other", "other.localhost", [other.port]));
    await within(unrelated, 5_000, "the reload adding Service other");
    const afterUnrelated = await endpointOf(proxy.admin, "web", dead);
    expect(afterUnrelated.inRotation).toBe(false);
    expect(ejectedFor(afterUnrelated)).toBeLessThanOrEqual(before);
    expect(await answers(proxy, 4)).toEqual(Array(4).fill("live"));
    expect(await whoAnswers(proxy.url, "other.localhost")).toBe("other");

    // Editing the Service itself (a new pool is built) keeps the endpoint's passive state.
    const edited = nextReload(proxy, (s) => s.pools.get("default/web:80")?.spec.health.tryDurationMs === 100);
    await rules.write("web.yaml", healthSite("web", HOST, [dead, live.port], { ...ann, [TRY_DURATION]: "100ms" }));
    await within(edited, 5_000, "the reload editing Service web");
    const afterEdit = await endpointOf(proxy.admin, "web", dead);
    expect(afterEdit.inRotation).toBe(false);
    expect(ejectedFor(afterEdit)).toBeGreaterThan(0);
    expect(await answers(proxy, 4)).toEqual(Array(4).fill("live"));
  });

  it("an active verdict is kept across an unrelated reload and an edit of its own Service", async () => {
    const a = track(await checkedUpstream("a"));
    const b = track(await checkedUpstream("b"));
    const other = track(await startUpstream("other"));
    a.health = 500;
    const ann = { [CHECK_PATH]: "/healthz", [CHECK_INTERVAL]: "1s" };
    const { proxy, rules } = await proxyOver({ "web.yaml": healthSite("web", HOST, [a.port, b.port], ann) });
    await waitFor(async () => (await endpointOf(proxy.admin, "web", a.port)).active === "unhealthy", "a unhealthy", 3_000, 20);
    // From now on a's probes never answer: a new verdict could only come after a 1 s probe timeout,
    // so right after a reload a's state is what was carried over (or "pending" if it was lost).
    a.health = "hang";

    const unrelated = nextReload(proxy, (s) => s.pools.has("default/other:80"));
    await rules.write("other.yaml", healthSite("other", "other.localhost", [other.port]));
    await within(unrelated, 5_000, "the reload adding Service other");
    expect(await endpointOf(proxy.admin, "web", a.port)).toMatchObject({ active: "unhealthy", inRotation: false });
    expect(await endpointOf(proxy.admin, "web", b.port)).toMatchObject({ active: "healthy", inRotation: true });
    expect(await answers(proxy, 4)).toEqual(Array(4).fill("b"));

    const edited = nextReload(proxy, (s) => s.pools.get("default/web:80")?.spec.health.failTimeoutMs === 2_000);
    await rules.write("web.yaml", healthSite("web", HOST, [a.port, b.port], { ...ann, [FAIL_TIMEOUT]: "2s" }));
    await within(edited, 5_000, "the reload editing Service web");
    expect(await endpointOf(proxy.admin, "web", a.port)).toMatchObject({ active: "unhealthy", inRotation: false });
    expect(await endpointOf(proxy.admin, "web", b.port)).toMatchObject({ active: "healthy", inRotation: true });
    expect(await answers(proxy, 4)).toEqual(Array(4).fill("b"));
    expect(a.traffic()).toBe(0);
  });
});
