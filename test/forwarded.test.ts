import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IngressdOptions } from "../src/server/ingressd.js";
import { startUpstream, type RulesDir, type Upstream } from "./helpers.js";
import { memoryLog, type MemoryLog } from "./healthHelpers.js";
import { inspect, proxyWith, rawValues, readAll, site, type Proxy, type Seen } from "./proxyHelpers.js";

/**
 * X-Real-IP and X-Forwarded-For under `--trust-proxy` (issue 9.8). A peer inside it: its
 * X-Forwarded-For is walked from the right past trusted proxies (nginx's real_ip_recursive)
 * and the address found is X-Real-IP, the logged client and what access rules see. The
 * chain itself goes on with the peer appended, trusted or not, as it always did.
 */
describe("forwarding headers behind --trust-proxy (issue 9.8)", () => {
  const HOST = "web.localhost";
  let up: Upstream;

  /** One request from `from` (a loopback address bound as the client's source) with `headers`. */
  async function seenFrom(proxy: Proxy, from: string, headers: Record<string, string | string[]>, path = "/"): Promise<Seen> {
    const res = await new Promise<Awaited<ReturnType<typeof readAll>>>((resolve, reject) => {
      const req = request(`${proxy.url}${path}`, { headers: { host: HOST, ...headers }, localAddress: from, agent: false }, (r) => readAll(r).then(resolve, reject));
      req.on("error", reject);
      req.end();
    });
    expect(res.status, res.body.toString()).toBe(200);
    return JSON.parse(res.body.toString()) as Seen;
  }

  function forwarded(s: Seen): { realIp: string[]; xff: string[] } {
    return { realIp: rawValues(s.rawHeaders, "x-real-ip"), xff: rawValues(s.rawHeaders, "x-forwarded-for") };
  }

  beforeAll(async () => {
    up = await startUpstream(inspect("web"));
  });
  afterAll(async () => {
    await up.close();
  });

  describe("with 127.0.0.1 and 10.0.0.0/8 trusted", () => {
    let proxy: Proxy;
    let rules: RulesDir;
    let log: MemoryLog;
    beforeAll(async () => {
      log = memoryLog();
      const extra: Partial<IngressdOptions> = { trustProxy: ["127.0.0.1", "10.0.0.0/8"], logger: log.logger };
      ({ proxy, rules } = await proxyWith({ "web.yaml": site("web", HOST, [up.port]) }, extra));
    });
    afterAll(async () => {
      await proxy.close();
      await rules.cleanup();
    });

    it("a trusted peer: X-Real-IP is the client its X-Forwarded-For names; the chain is kept, the peer appended", async () => {
      const s = await seenFrom(proxy, "127.0.0.1", { "x-forwarded-for": "203.0.113.7", "x-real-ip": "192.0.2.99" }, "/one");
      expect(forwarded(s)).toEqual({ realIp: ["203.0.113.7"], xff: ["203.0.113.7, 127.0.0.1"] });
      const line = await log.waitForLine((l) => l.log === "access" && l.path === "/one", "the access line of /one");
      expect(line.client).toBe("203.0.113.7");
    });

    it("a trusted peer: the chain is walked from the right past trusted proxies", async () => {
      const s = await seenFrom(proxy, "127.0.0.1", { "x-forwarded-for": ["198.51.100.9, 203.0.113.7", "10.1.2.3"] });
      expect(forwarded(s)).toEqual({ realIp: ["203.0.113.7"], xff: ["198.51.100.9, 203.0.113.7, 10.1.2.3, 127.0.0.1"] });
    });

    it("a trusted peer without X-Forwarded-For: the peer is the client", async () => {
      const s = await seenFrom(proxy, "127.0.0.1", {});
      expect(forwarded(s)).toEqual({ realIp: ["127.0.0.1"], xff: ["127.0.0.1"] });
    });

    it("a trusted peer with a malformed chain: the peer is the client, the chain still kept", async () => {
      const s = await seenFrom(proxy, "127.0.0.1", { "x-forwarded-for": "203.0.113.7, not-an-address" });
      expect(forwarded(s)).toEqual({ realIp: ["127.0.0.1"], xff: ["203.0.113.7, not-an-address, 127.0.0.1"] });
    });

    it("an untrusted peer (127.0.0.2): as without --trust-proxy, X-Real-IP is the peer, the chain kept with it appended", async () => {
      const s = await seenFrom(proxy, "127.0.0.2", { "x-forwarded-for": "203.0.113.7", "x-real-ip": "192.0.2.99" }, "/two");
      expect(forwarded(s)).toEqual({ realIp: ["127.0.0.2"], xff: ["203.0.113.7, 127.0.0.2"] });
      const line = await log.waitForLine((l) => l.log === "access" && l.path === "/two", "the access line of /two");
      expect(line.client).toBe("127.0.0.2");
    });
  });

  describe("without --trust-proxy", () => {
    let proxy: Proxy;
    let rules: RulesDir;
    beforeAll(async () => {
      ({ proxy, rules } = await proxyWith({ "web.yaml": site("web", HOST, [up.port]) }));
    });
    afterAll(async () => {
      await proxy.close();
      await rules.cleanup();
    });

    it.each(["127.0.0.1", "127.0.0.2"])("from %s: X-Real-IP is the peer, the chain kept with the peer appended", async (from) => {
      const s = await seenFrom(proxy, from, { "x-forwarded-for": "203.0.113.7", "x-real-ip": "192.0.2.99" });
      expect(forwarded(s)).toEqual({ realIp: [from], xff: [`203.0.113.7, ${from}`] });
    });
  });
});
