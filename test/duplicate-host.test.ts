import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get, startUpstream, type RulesDir, type Upstream } from "./helpers.js";
import { proxyWith, rawUntilClosed, site, within, type Proxy } from "./proxyHelpers.js";

/**
 * RFC 9112 §3.2: a request with more than one Host header field gets 400. ingressd
 * answers it itself, closes the connection and forwards nothing (as nginx: "client sent
 * duplicate host header").
 */
describe("a request with two Host headers (issue 9.5)", () => {
  let up: Upstream;
  let proxy: Proxy;
  let rules: RulesDir;
  beforeAll(async () => {
    up = await startUpstream("web");
    ({ proxy, rules } = await proxyWith({ "web.yaml": site("web", "web.localhost", [up.port]) }));
  });
  afterAll(async () => {
    await proxy.close();
    await up.close();
    await rules.cleanup();
  });

  /**
   * What the upstream received from now until a later request of its own arrives: a request
   * forwarded before it is in the list by then.
   */
  async function forwardedBefore(sentinel: string): Promise<string[]> {
    expect((await get(`${proxy.url}${sentinel}`, { host: "web.localhost" })).status).toBe(200);
    return up.received.map((r) => r.url!).filter((u) => u !== sentinel);
  }

  /** The response to `head`, the connection closed by ingressd after it. */
  async function answer(head: string): Promise<{ status: number; head: string[] }> {
    const text = await within(rawUntilClosed(proxy.httpPort, head), 5_000, "close of the connection by ingressd");
    const lines = text.slice(0, text.indexOf("\r\n\r\n")).split("\r\n");
    expect(text.match(/^HTTP\/1\.1 /gm)?.length, text).toBe(1); // one response, nothing after it
    return { status: Number(lines[0]!.split(" ")[1]), head: lines.map((l) => l.toLowerCase()) };
  }

  it.each([
    ["two different hosts", "Host: web.localhost\r\nHost: evil.localhost\r\n"],
    ["the same host twice, in different case", "Host: web.localhost\r\nhost: web.localhost\r\n"],
  ])("%s: 400 from ingressd with Connection: close, nothing forwarded", async (_name, hosts) => {
    const res = await answer(`GET /dup HTTP/1.1\r\n${hosts}Connection: keep-alive\r\n\r\nGET /next HTTP/1.1\r\nHost: web.localhost\r\n\r\n`);
    expect(res.status).toBe(400);
    expect(res.head).toContain("connection: close");
    expect(res.head).toContain("server: ingressd");
    expect(await forwardedBefore("/sentinel")).toEqual([]); // neither it nor the request pipelined behind it
  });

  it("an upgrade request with two Host headers: 400, nothing forwarded", async () => {
    const res = await answer(
      "GET /ws HTTP/1.1\r\nHost: web.localhost\r\nHost: evil.localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    expect(res.status).toBe(400);
    expect(res.head).toContain("connection: close");
    expect(await forwardedBefore("/sentinel")).toEqual([]);
  });

  it("one Host header is served as before", async () => {
    const res = await answer("GET /one HTTP/1.1\r\nHost: web.localhost\r\nConnection: close\r\n\r\n");
    expect(res.status).toBe(200);
    expect(await forwardedBefore("/sentinel")).toEqual(["/one"]);
  });
});
