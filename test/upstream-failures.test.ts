import { afterEach, describe, expect, it } from "vitest";
import { get, startUpstream } from "./helpers.js";
import { endpointOf, faultyUpstream, healthSite, memoryLog, type Fault } from "./healthHelpers.js";
import { blackholeListener, connects, proxyWith, rawRequest, waitFor, within, type Proxy } from "./proxyHelpers.js";

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
