import { afterEach, describe, expect, it } from "vitest";
import { get, startUpstream } from "./helpers.js";
import { after, endpointOf, faultyUpstream, healthSite, memoryLog, resetAfterBody, type Fault } from "./healthHelpers.js";
import { blackholeListener, connects, freePort, proxyWith, rawRequest, waitFor, within, type Proxy } from "./proxyHelpers.js";

// Faulty upstreams (issue 9): the right status, the endpoint's passive health updated,
// no connection left open, and a request that may have reached an upstream never sent
// to a second one unless its method is idempotent (as nginx).

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function track<T extends { close(): Promise<void> }>(x: T): T {
  cleanups.push(() => x.close());
  return x;
}

/** Short timeouts, so "never answers" and "cannot connect" fail fast. */
const TIMEOUTS = { readTimeoutMs: 300, connectTimeoutMs: 300 };

async function proxyOver(files: Record<string, string>, extra: Parameters<typeof proxyWith>[1] = {}): Promise<Proxy> {
  const { proxy, rules } = await proxyWith(files, { shutdownGraceMs: 1_000, ...TIMEOUTS, ...extra });
  cleanups.push(async () => {
    await proxy.close();
    await rules.cleanup();
  });
  return proxy;
}

const HOST = "web.localhost";
const MAX_FAILS = "ingressd.io/max-fails";
const FAIL_TIMEOUT = "ingressd.io/fail-timeout";
const TRY_DURATION = "ingressd.io/try-duration";
const UPGRADE = `GET /ws HTTP/1.1\r\nHost: ${HOST}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;

/** Each fault, the status ingressd answers for it, and the error code its access line names. */
const CASES: [Fault, number, RegExp][] = [
  // undici sees the reset as ECONNRESET, or as the close that follows it (UND_ERR_SOCKET).
  ["reset-in-head", 502, /^(ECONNRESET|UND_ERR_SOCKET)$/],
  ["never-answers", 504, /^UND_ERR_HEADERS_TIMEOUT$/],
  ["garbage", 502, /^(HPE_\w+|HTTPParserError)$/],
  ["headers-100k", 502, /^UND_ERR_HEADERS_OVERFLOW$/],
];

describe("faulty upstreams", () => {
  for (const [fault, status, code] of CASES) {
    it(`${fault}: ${status} from ingressd, the cause in the access log, and no connection left open to the upstream`, async () => {
      const faulty = track(await faultyUpstream(fault));
      const log = memoryLog();
      const proxy = await proxyOver({ "web.yaml": healthSite("web", HOST, [faulty.port]) }, { logger: log.logger });
      const res = await within(get(`${proxy.url}/`, { host: HOST }), 5_000, "the answer");
      expect(res.status, res.body).toBe(status);
      expect(res.headers.server).toBe("ingressd");
      expect(res.body.startsWith(String(status))).toBe(true);
      const line = await log.waitForLine((l) => l.log === "access" && l.status === status, "the access line");
      expect(String(line.error)).toMatch(code);
      expect(faulty.requests()).toBe(1);
      // undici closes a connection it cannot use; no event reaches the test from the fake's side but the close.
      await waitFor(() => faulty.open() === 0, `${fault}: the upstream's connections closed`, 3_000);
    });

    it(`${fault}: counted against passive health — the endpoint leaves rotation and the traffic goes to the good one`, async () => {
      const faulty = track(await faultyUpstream(fault));
      const good = track(await startUpstream("good"));
      const proxy = await proxyOver({ "web.yaml": healthSite("web", HOST, [faulty.port, good.port], { [MAX_FAILS]: "2", [FAIL_TIMEOUT]: "30s" }) });
      // Round robin: two failures need at most four requests; a few more in case of a retry's pick.
      for (let sent = 0; faulty.requests() < 2; sent++) {
        expect(sent, `requests sent before ${fault} failed twice`).toBeLessThan(8);
        const res = await within(get(`${proxy.url}/`, { host: HOST }), 5_000, "the answer");
        expect([200, 502, 504]).toContain(res.status);
      }
      expect(await endpointOf(proxy.admin, "web", faulty.port)).toMatchObject({ inRotation: false });
      expect(await endpointOf(proxy.admin, "web", good.port)).toMatchObject({ inRotation: true, passive: "ok" });
      for (let i = 0; i < 6; i++) {
        const res = await get(`${proxy.url}/${i}`, { host: HOST });
        expect(res.status, res.body).toBe(200);
        expect(JSON.parse(res.body)).toMatchObject({ name: "good", url: `/${i}` });
      }
      expect(faulty.requests()).toBe(2);
    });
  }

  it("an upgrade whose connection times out counts against passive health, as a request's does", async () => {
    const hole = track(await blackholeListener());
    expect(await connects(hole.port, 200)).toBe(false); // premise: connections to it hang
    const proxy = await proxyOver({ "web.yaml": healthSite("web", HOST, [hole.port], { [MAX_FAILS]: "1", [FAIL_TIMEOUT]: "30s" }) });
    const res = await within(rawRequest(proxy.httpPort, UPGRADE), 5_000, "the upgrade's answer");
    expect(res.status).toBe(504);
    expect(await endpointOf(proxy.admin, "web", hole.port)).toMatchObject({ inRotation: false });
  });

  it("an upstream that answers an upgrade without switching protocols works: 502 for the client, but no failure for passive health", async () => {
    const declining = track(await startUpstream((req, res) => res.writeHead(404, { "content-length": 0 }).end()));
    const proxy = await proxyOver({ "web.yaml": healthSite("web", HOST, [declining.port], { [MAX_FAILS]: "1", [FAIL_TIMEOUT]: "30s" }) });
    const res = await within(rawRequest(proxy.httpPort, UPGRADE), 5_000, "the upgrade's answer");
    expect(res.status).toBe(502);
    expect(declining.received.length).toBe(1);
    expect(await endpointOf(proxy.admin, "web", declining.port)).toMatchObject({ inRotation: true, passive: "ok" });
  });
});

describe("a request that may have reached the upstream is not sent again unless idempotent", () => {
  /** Sends `method` requests until the faulty endpoint got one more (round robin: within two); the statuses. */
  async function untilFaultyGotOne(proxy: Proxy, faulty: { requests(): number }, method: string): Promise<number[]> {
    const before = faulty.requests();
    const statuses: number[] = [];
    for (let i = 0; i < 2 && faulty.requests() === before; i++) {
      statuses.push((await within(get(`${proxy.url}/submit`, { host: HOST, "content-length": "0" }, method), 5_000, "the answer")).status);
    }
    expect(faulty.requests()).toBe(before + 1);
    return statuses;
  }

  for (const method of ["POST", "PATCH"]) {
    it(`a bodiless ${method} reset in the middle of the response head: 502, the other endpoint never sees it`, async () => {
      const faulty = track(await faultyUpstream("reset-in-head"));
      const good = track(await startUpstream("good"));
      const proxy = await proxyOver({ "web.yaml": healthSite("web", HOST, [faulty.port, good.port], { [MAX_FAILS]: "0" }) });
      const statuses = await untilFaultyGotOne(proxy, faulty, method);
      expect(statuses.at(-1)).toBe(502);
      expect(good.received.map((r) => r.method)).toEqual(Array(statuses.length - 1).fill(method));
    });
  }

  it("a GET reset in the middle of the response head goes to the other endpoint (nginx's proxy_next_upstream error)", async () => {
    const faulty = track(await faultyUpstream("reset-in-head"));
    const good = track(await startUpstream("good"));
    const proxy = await proxyOver({ "web.yaml": healthSite("web", HOST, [faulty.port, good.port], { [MAX_FAILS]: "0" }) });
    const statuses = await untilFaultyGotOne(proxy, faulty, "GET");
    expect(statuses).toEqual(Array(statuses.length).fill(200));
    expect(good.received.length).toBe(statuses.length);
  });

  it("a GET without a response within the read timeout goes to the other endpoint (proxy_next_upstream timeout); a POST gets 504", async () => {
    const silent = track(await faultyUpstream("never-answers"));
    const good = track(await startUpstream("good"));
    const proxy = await proxyOver({ "web.yaml": healthSite("web", HOST, [silent.port, good.port], { [MAX_FAILS]: "0" }) });
    const gets = await untilFaultyGotOne(proxy, silent, "GET");
    expect(gets).toEqual(Array(gets.length).fill(200));
    expect(good.received.length).toBe(gets.length);
    const posts = await untilFaultyGotOne(proxy, silent, "POST");
    expect(posts.at(-1)).toBe(504);
    expect(good.received.length).toBe(gets.length + posts.length - 1);
  });

  it("a bodiless POST whose connection was refused goes to the other endpoint: it never left ingressd", async () => {
    const dead = await freePort();
    const good = track(await startUpstream("good"));
    const proxy = await proxyOver({ "web.yaml": healthSite("web", HOST, [dead, good.port], { [MAX_FAILS]: "0" }) });
    for (let i = 0; i < 4; i++) {
      const res = await get(`${proxy.url}/${i}`, { host: HOST, "content-length": "0" }, "POST");
      expect(res.status, res.body).toBe(200);
    }
    expect(good.received.length).toBe(4);
  });

  it("a bodiless POST reset after it was sent is not held for the try duration either: 502 at once, seen once", async () => {
    const resetter = track(await resetAfterBody());
    const proxy = await proxyOver({ "web.yaml": healthSite("web", HOST, [resetter.port], { [TRY_DURATION]: "2s", [MAX_FAILS]: "0" }) });
    const t0 = performance.now();
    const res = await within(get(`${proxy.url}/submit`, { host: HOST, "content-length": "0" }, "POST"), 4_000, "the answer");
    expect(res.status, res.body).toBe(502);
    expect(performance.now() - t0).toBeLessThan(1_000);
    // Longer than one hold interval (250 ms): a late duplicate would have arrived by now. Absence has no event.
    await after(400);
    expect(resetter.attempts()).toBe(1);
  });
});
