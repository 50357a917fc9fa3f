import { mkdtemp, rm } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, type RulesDir, type Upstream } from "./helpers.js";
import { memoryLog, type MemoryLog } from "./healthHelpers.js";
import { createTestCa, secretYaml, tlsIngressYaml } from "./tlsHelpers.js";
import { inspect, proxyWith, within, rawRequest, rawValues, site, sha256, waitFor, type Proxy, type Seen } from "./proxyHelpers.js";

/**
 * "h2c smuggling" (Bishop Fox, 2020): a proxy that tunnels `Upgrade: h2c` lets the client
 * talk HTTP/2 straight to the upstream once it switches, past every per-route rule. Only
 * WebSocket upgrades are tunnelled; anything else is served as the plain HTTP/1.1 request
 * it also is, without Upgrade and HTTP2-Settings (issue 9.9).
 */
describe("Upgrade: h2c and other non-WebSocket upgrades (issue 9.9)", () => {
  let up: Upstream;
  let proxy: Proxy;
  let rules: RulesDir;
  let log: MemoryLog;
  /** Upgrade requests the upstream saw: it would switch to anything asked for. */
  const upgrades: IncomingMessage[] = [];
  const switched = new Set<Socket>();

  beforeAll(async () => {
    up = await startUpstream(inspect("web"));
    up.server.on("upgrade", (req: IncomingMessage, socket: Socket) => {
      upgrades.push(req);
      switched.add(socket);
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${req.headers.upgrade}\r\n\r\n`);
    });
    log = memoryLog();
    ({ proxy, rules } = await proxyWith({ "web.yaml": site("web", "web.localhost", [up.port]) }, { logger: log.logger }));
  });
  afterAll(async () => {
    for (const s of switched) s.destroy();
    await proxy.close();
    await up.close();
    await rules.cleanup();
  });

  const H2C = "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n";

  /** The one response to `head`: a 101 (no Content-Length) fails here, as does a tunnel. */
  async function served(head: string, body = ""): Promise<Seen> {
    const res = await rawRequest(proxy.httpPort, head, body);
    expect(res.status, res.body.toString()).toBe(200);
    expect(res.headers.find(([n]) => n.toLowerCase() === "server")?.[1]).toBe("ingressd");
    return JSON.parse(res.body.toString()) as Seen;
  }

  function expectNoUpgradeFields(seen: Seen): void {
    expect(rawValues(seen.rawHeaders, "upgrade")).toEqual([]);
    expect(rawValues(seen.rawHeaders, "http2-settings")).toEqual([]);
    expect(rawValues(seen.rawHeaders, "connection").join(",")).not.toMatch(/upgrade|http2-settings/i);
  }

  it("a GET with Upgrade: h2c gets the upstream's plain 200; the upstream never sees the upgrade", async () => {
    const seen = await served(`GET /h2c HTTP/1.1\r\nHost: web.localhost\r\n${H2C}\r\n`);
    expect(seen).toMatchObject({ name: "web", method: "GET", url: "/h2c" });
    expectNoUpgradeFields(seen);
    expect(rawValues(seen.rawHeaders, "x-forwarded-for")).toEqual(["127.0.0.1"]); // forwarded as any request
    expect(upgrades).toEqual([]);
    const line = await log.waitForLine((l) => l.log === "access" && l.path === "/h2c", "the access line of /h2c");
    expect(line).toMatchObject({ status: 200, backend: "default/web:80" });
  });

  it("a chunked POST with Upgrade: h2c: its body arrives whole", async () => {
    const body = Buffer.alloc(100_000, 7);
    const chunked = `${(60_000).toString(16)}\r\n${body.subarray(0, 60_000).toString("latin1")}\r\n${(40_000).toString(16)}\r\n${body.subarray(60_000).toString("latin1")}\r\n0\r\n\r\n`;
    const seen = await served(`POST /upload HTTP/1.1\r\nHost: web.localhost\r\n${H2C}Transfer-Encoding: chunked\r\n\r\n`, chunked);
    expect(seen).toMatchObject({ method: "POST", url: "/upload", bytes: body.length, sha256: sha256(body) });
    expectNoUpgradeFields(seen);
    expect(upgrades).toEqual([]);
  });

  it("Upgrade: h2c, websocket (a list) is not tunnelled either", async () => {
    const seen = await served(`GET /list HTTP/1.1\r\nHost: web.localhost\r\nConnection: keep-alive, Upgrade\r\nUpgrade: h2c, websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
    expect(seen.url).toBe("/list");
    expectNoUpgradeFields(seen);
    expect(upgrades).toEqual([]);
  });

  it("the connection stays usable: a second request on it is served", async () => {
    const both = `GET /first HTTP/1.1\r\nHost: web.localhost\r\n${H2C}\r\nGET /second HTTP/1.1\r\nHost: web.localhost\r\nConnection: close\r\n\r\n`;
    const before = up.received.length;
    await served(both);
    // rawRequest read only the first answer; the second request still reaches the upstream.
    await waitFor(() => up.received.length - before === 2, "the second request at the upstream");
    expect(up.received.slice(before).map((r) => r.url)).toEqual(["/first", "/second"]);
    expect(upgrades).toEqual([]);
  });
});

describe("a non-WebSocket upgrade over HTTPS (issue 9.9)", () => {
  it("is served as a plain request on the TLS connection too", async () => {
    const up = await startUpstream(inspect("web"));
    let upgraded = 0;
    up.server.on("upgrade", (_req, socket: Socket) => {
      upgraded++;
      socket.destroy();
    });
    const ca = await createTestCa();
    const dataDir = await mkdtemp(join(tmpdir(), "ingressd-h2c-"));
    const { proxy, rules } = await proxyWith(
      {
        "svc.yaml": site("web", "plain.localhost", [up.port]),
        "secret.yaml": secretYaml("tls", await ca.issue(["tls.test"])),
        "ing.yaml": tlsIngressYaml("tls", { hosts: ["tls.test"], service: "web", tls: [{ hosts: ["tls.test"], secretName: "tls" }] }),
      },
      { httpsPort: 0, dataDir },
    );
    try {
      const port = await proxy.httpsReady();
      const text = await within(
        new Promise<string>((resolve, reject) => {
          const sock = tlsConnect({ port, host: "127.0.0.1", servername: "tls.test", ca: ca.certPem }, () =>
            sock.write(`GET /tls HTTP/1.1\r\nHost: tls.test\r\nConnection: Upgrade\r\nUpgrade: foo/1\r\n\r\nGET /after HTTP/1.1\r\nHost: tls.test\r\nConnection: close\r\n\r\n`),
          );
          let got = "";
          sock.on("data", (c: Buffer) => (got += c.toString("latin1")));
          sock.on("end", () => resolve(got));
          sock.on("error", reject);
        }),
        5_000,
        "both answers over TLS",
      );
      const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
      expect(statuses, text).toEqual(["200", "200"]);
      expect(up.received.map((r) => r.url)).toEqual(["/tls", "/after"]);
      expect(up.received[0]!.headers.upgrade).toBeUndefined();
      expect(upgraded).toBe(0);
    } finally {
      await proxy.close();
      await up.close();
      await rules.cleanup();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
