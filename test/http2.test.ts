/**
 * Issue 12, HTTP/2 on the HTTPS port: "The HTTPS port offers `h2` and `http/1.1` by ALPN.
 * Requests route by `:authority` exactly as by Host; the same forwarded headers, hop-by-hop
 * rules, streaming both ways, 1xx and trailers relayed; a stream reset by the client aborts
 * its upstream request; HTTP/1.1 clients on the same port are unaffected. WebSockets keep
 * working over HTTP/1.1." — and "Access log … carry the protocol".
 */
import { execFile } from "node:child_process";
import { once } from "node:events";
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from "node:http2";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { connect as tlsConnect } from "node:tls";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { h2Request, h2Response } from "./h2Helpers.js";
import { get, rulesDir, serviceYaml, startProxy, type RulesDir } from "./helpers.js";
import { memoryLog, type MemoryLog } from "./healthHelpers.js";
import { inspect, rawValues, sha256, type Proxy, type Seen } from "./proxyHelpers.js";
import { createTestCa, httpsGet, secretYaml, tlsIngressYaml, type TestCa } from "./tlsHelpers.js";

const run = promisify(execFile);

/** An upstream answering by path: what the tests below need of it, each on its own path. */
function upstreamHandler(state: { resetSeen?: () => void }) {
  const seen = inspect("web");
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (req.url === "/trailers") {
      res.writeHead(200, { "content-type": "text/plain", trailer: "x-checksum" });
      res.write("body ");
      res.addTrailers({ "x-checksum": "abc123" });
      res.end("done");
      return;
    }
    if (req.url === "/early-hints") {
      res.writeEarlyHints({ link: "</style.css>; rel=preload; as=style" });
      res.writeHead(200, { "content-type": "text/plain", connection: "keep-alive", "keep-alive": "timeout=5" });
      res.end("hinted");
      return;
    }
    if (req.url === "/first-chunk") {
      // Answers on the first body chunk: the client sees the response while its upload is still open.
      req.once("data", (c: Buffer) => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.write(`got ${c.length > 0 ? "data" : "nothing"}\n`);
        req.on("data", (more: Buffer) => res.write(more));
        req.on("end", () => res.end());
      });
      return;
    }
    if (req.url === "/hang") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("started\n");
      res.once("close", () => state.resetSeen?.());
      return;
    }
    seen(req, res);
  };
}

describe("HTTP/2 on the HTTPS port (issue 12)", () => {
  let ca: TestCa;
  let up: Server;
  let wss: WebSocketServer;
  let rules: RulesDir;
  let proxy: Proxy;
  let log: MemoryLog;
  let port: number;
  let session: ClientHttp2Session;
  const state: { resetSeen?: () => void } = {};

  beforeAll(async () => {
    ca = await createTestCa();
    up = createHttpServer(upstreamHandler(state));
    wss = new WebSocketServer({ server: up });
    wss.on("connection", (ws) => ws.on("message", (m: Buffer) => ws.send(`echo:${m.toString()}`)));
    await new Promise<void>((res) => up.listen(0, "127.0.0.1", res));
    rules = await rulesDir();
    await rules.write("svc.yaml", serviceYaml("web", [(up.address() as AddressInfo).port]));
    await rules.write("secret.yaml", secretYaml("site", await ca.issue(["site.test", "other.test"])));
    await rules.write("ing.yaml", tlsIngressYaml("site", { hosts: ["site.test"], service: "web", tls: [{ hosts: ["site.test", "other.test"], secretName: "site" }] }));
    log = memoryLog();
    proxy = await startProxy([rules.dir], { httpsPort: 0, logger: log.logger });
    port = await proxy.httpsReady();
    session = connect(`https://127.0.0.1:${port}`, { ca: ca.certPem, servername: "site.test" });
    await once(session, "connect");
  });

  afterAll(async () => {
    session?.close();
    await proxy?.close();
    for (const c of wss?.clients ?? []) c.terminate();
    await new Promise((res) => up?.close(res));
    await rules?.cleanup();
  });

  it("negotiates h2 by ALPN", () => {
    expect(session.alpnProtocol).toBe("h2");
  });

  it("routes by :authority, with the forwarded headers and no pseudo-header upstream", async () => {
    const r = await h2Request(session, { ":authority": "site.test", ":path": "/a/b?c=1", "x-end-to-end": "kept", te: "trailers" });
    expect(r.headers[":status"]).toBe(200);
    expect(r.headers.server).toBe("ingressd");
    const s = JSON.parse(r.body.toString()) as Seen;
    expect(s.url).toBe("/a/b?c=1");
    expect(s.method).toBe("GET");
    expect(rawValues(s.rawHeaders, "host")).toEqual(["site.test"]);
    expect(s.headers["x-forwarded-host"]).toBe("site.test");
    expect(s.headers["x-forwarded-proto"]).toBe("https");
    expect(s.headers["x-forwarded-port"]).toBe(String(port));
    expect(s.headers["x-forwarded-for"]).toBe("127.0.0.1");
    expect(s.headers["x-end-to-end"]).toBe("kept");
    expect(s.headers.te).toBeUndefined(); // hop-by-hop, as over HTTP/1.1
    expect(s.rawHeaders.filter((_, i) => i % 2 === 0 && s.rawHeaders[i]!.startsWith(":"))).toEqual([]);
    expect(r.headers["x-request-id"]).toBe(s.headers["x-request-id"]);
  });

  it("answers 404 for an :authority no rule names, as for a Host", async () => {
    const r = await h2Request(session, { ":authority": "other.test", ":path": "/" });
    expect(r.headers[":status"]).toBe(404);
    expect(r.body.toString()).toContain('no route for host "other.test"');
  });

  it("streams a request body up and the response down while the upload is still open", async () => {
    const stream = session.request({ ":authority": "site.test", ":path": "/first-chunk", ":method": "POST" });
    const response = h2Response(stream);
    stream.write(Buffer.alloc(1000, 1));
    // The response head arrives before the client has finished its body: both ways stream.
    const [head] = (await once(stream, "response")) as [IncomingHttpHeaders];
    expect(head[":status"]).toBe(200);
    const part = Buffer.alloc(300_000, 2);
    stream.end(part);
    const r = await response;
    expect(r.body.subarray(0, 9).toString()).toBe("got data\n");
    expect(sha256(r.body.subarray(9))).toBe(sha256(part));
  });

  it("uploads a large body intact", async () => {
    const body = Buffer.alloc(5 * 1024 * 1024, 7);
    const r = await h2Request(session, { ":authority": "site.test", ":path": "/upload", ":method": "POST" }, body);
    const s = JSON.parse(r.body.toString()) as Seen;
    expect(s.bytes).toBe(body.length);
    expect(s.sha256).toBe(sha256(body));
  });

  it("relays the upstream's trailers", async () => {
    const r = await h2Request(session, { ":authority": "site.test", ":path": "/trailers" });
    expect(r.body.toString()).toBe("body done");
    expect(r.trailers?.["x-checksum"]).toBe("abc123");
  });

  it("relays 103 Early Hints, and drops connection-specific headers from the response", async () => {
    const r = await h2Request(session, { ":authority": "site.test", ":path": "/early-hints" });
    expect(r.informational.map((h) => [h[":status"], h.link])).toEqual([[103, "</style.css>; rel=preload; as=style"]]);
    expect(r.headers[":status"]).toBe(200);
    expect(r.headers.connection).toBeUndefined();
    expect(r.headers["keep-alive"]).toBeUndefined();
    expect(r.body.toString()).toBe("hinted");
  });

  it("a stream the client resets aborts its upstream request, and the session goes on", async () => {
    const upstreamClosed = new Promise<void>((res) => (state.resetSeen = res));
    const stream = session.request({ ":authority": "site.test", ":path": "/hang" });
    await once(stream, "response");
    stream.close(constants.NGHTTP2_CANCEL);
    await upstreamClosed;
    const line = await log.waitForLine((l) => l.log === "access" && l.path === "/hang", "for the reset request");
    expect(line.status).toBe(499);
    const r = await h2Request(session, { ":authority": "site.test", ":path": "/after" });
    expect(r.headers[":status"]).toBe(200);
  });

  it("logs the protocol of each request, and counts requests by protocol", async () => {
    const id = "h2-protocol-log";
    await h2Request(session, { ":authority": "site.test", ":path": "/logged", "x-request-id": id });
    const line = await log.waitForLine((l) => l.request_id === id, "for the h2 request");
    expect(line).toMatchObject({ protocol: "HTTP/2.0", host: "site.test", status: 200 });
    const h1 = await httpsGet(port, "site.test", "/logged-h1", { ca: ca.certPem, headers: { "x-request-id": "h1-protocol-log" } });
    expect(h1.status).toBe(200);
    const line1 = await log.waitForLine((l) => l.request_id === "h1-protocol-log", "for the HTTP/1.1 request");
    expect(line1.protocol).toBe("HTTP/1.1");
    const metrics = (await get(`${proxy.admin}/metrics`)).body;
    expect(metrics).toMatch(/^ingressd_requests_by_protocol_total\{protocol="HTTP\/2\.0"\} [1-9]/m);
    expect(metrics).toMatch(/^ingressd_requests_by_protocol_total\{protocol="HTTP\/1\.1"\} [1-9]/m);
  });

  it("serves HTTP/1.1 clients on the same port as before", async () => {
    const agent = new HttpsAgent({ ALPNProtocols: ["http/1.1"] });
    const r = await httpsGet(port, "site.test", "/h1", { ca: ca.certPem, agent });
    agent.destroy();
    expect(r.status).toBe(200);
    expect(r.socket.alpnProtocol).toBe("http/1.1");
    const s = JSON.parse(r.body) as Seen;
    expect(s.headers["x-forwarded-proto"]).toBe("https");
    expect(s.headers["x-forwarded-host"]).toBe("site.test");
  });

  it("keeps WebSockets working over HTTP/1.1 on the same port", async () => {
    // ws hands its options to https.request, which takes servername (ws's typings leave it out).
    const tls = { servername: "site.test", ca: ca.certPem } as WebSocket.ClientOptions;
    const ws = new WebSocket(`wss://127.0.0.1:${port}/ws`, { headers: { host: "site.test" }, ...tls });
    await once(ws, "open");
    ws.send("hello");
    const [msg] = (await once(ws, "message")) as [Buffer];
    expect(msg.toString()).toBe("echo:hello");
    ws.close();
    await once(ws, "close");
  });

  it("opens a WebSocket over HTTP/2 (RFC 8441 extended CONNECT) to an HTTP/1.1 WebSocket upstream", async () => {
    expect(session.remoteSettings.enableConnectProtocol).toBe(true);
    const stream = session.request({ ":method": "CONNECT", ":protocol": "websocket", ":scheme": "https", ":path": "/ws", ":authority": "site.test", "sec-websocket-version": "13" }, { endStream: false });
    const [head] = (await once(stream, "response")) as [IncomingHttpHeaders];
    expect(head[":status"]).toBe(200);
    expect(head["sec-websocket-accept"]).toBeUndefined();
    stream.write(maskedTextFrame("hello"));
    expect(await textFrame(stream)).toBe("echo:hello");
    stream.close();
    const line = await log.waitForLine((l) => l.log === "access" && l.path === "/ws" && l.protocol === "HTTP/2.0", "for the WebSocket");
    expect(line.status).toBe(200);
  });

  it("closes an HTTP/1.1 CONNECT on the same port, as before", async () => {
    const socket = tlsConnect({ host: "127.0.0.1", port, servername: "site.test", ca: ca.certPem, ALPNProtocols: ["http/1.1"] });
    await once(socket, "secureConnect");
    socket.on("error", () => undefined);
    socket.resume();
    socket.write("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    await once(socket, "close");
    const r = await h2Request(session, { ":authority": "site.test", ":path": "/after-connect" });
    expect(r.headers[":status"]).toBe(200);
  });

  it("curl --http2 gets HTTP/2 200", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ingressd-h2-"));
    try {
      await writeFile(join(dir, "ca.pem"), ca.certPem);
      const { stdout } = await run("curl", ["-sS", "-i", "--http2", "--cacert", join(dir, "ca.pem"), "--resolve", `site.test:${port}:127.0.0.1`, `https://site.test:${port}/curl`], { timeout: 10_000 });
      expect(stdout.split("\r\n")[0]).toBe("HTTP/2 200 ");
      expect((JSON.parse(stdout.slice(stdout.indexOf("\r\n\r\n") + 4)) as Seen).headers["x-forwarded-host"]).toBe(`site.test:${port}`); // curl's :authority names the port, as its Host would
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** A client's WebSocket text frame (short, masked, as RFC 6455 §5.3 requires of clients). */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

/** The text of the next (short, unmasked) frame a server sends on `stream`. */
function textFrame(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const onData = (c: Buffer): void => {
      buf = Buffer.concat([buf, c]);
      if (buf.length < 2 || buf.length < 2 + (buf[1]! & 0x7f)) return;
      stream.off("data", onData);
      resolve(buf.subarray(2, 2 + (buf[1]! & 0x7f)).toString());
    };
    stream.on("data", onData);
  });
}

describe("WebSockets over HTTP/2 are tunnels like any other (issue 12)", () => {
  let ca: TestCa;
  let up: Server;
  let wss: WebSocketServer;
  let rules: RulesDir;
  let proxy: Proxy;
  let port: number;
  let session: ClientHttp2Session;

  beforeAll(async () => {
    ca = await createTestCa();
    up = createHttpServer((_req, res) => res.end("plain"));
    wss = new WebSocketServer({ server: up });
    wss.on("connection", (ws) => ws.on("message", (m: Buffer) => ws.send(`echo:${m.toString()}`)));
    await new Promise<void>((res) => up.listen(0, "127.0.0.1", res));
    rules = await rulesDir();
    await rules.write("svc.yaml", serviceYaml("web", [(up.address() as AddressInfo).port]));
    await rules.write("secret.yaml", secretYaml("site", await ca.issue(["site.test", "idle.test"])));
    await rules.write("ing.yaml", tlsIngressYaml("site", { hosts: ["site.test"], service: "web", tls: [{ hosts: ["site.test"], secretName: "site" }] }));
    await rules.write(
      "idle.yaml",
      tlsIngressYaml("idle", { hosts: ["idle.test"], service: "web", tls: [{ hosts: ["idle.test"], secretName: "site" }], annotations: { "nginx.ingress.kubernetes.io/proxy-read-timeout": "1" } }),
    );
    // A grace period far longer than the test's timeout: only closing the tunnels at once lets close() return in time.
    proxy = await startProxy([rules.dir], { httpsPort: 0, shutdownGraceMs: 120_000 });
    port = await proxy.httpsReady();
    session = connect(`https://127.0.0.1:${port}`, { ca: ca.certPem, servername: "site.test" });
    session.on("error", () => undefined);
    await once(session, "connect");
  });

  afterAll(async () => {
    session?.destroy();
    await proxy?.close();
    for (const c of wss?.clients ?? []) c.terminate();
    await new Promise((res) => up?.close(res));
    await rules?.cleanup();
  });

  async function openTunnel(authority: string): Promise<import("node:http2").ClientHttp2Stream> {
    const stream = session.request({ ":method": "CONNECT", ":protocol": "websocket", ":scheme": "https", ":path": "/ws", ":authority": authority, "sec-websocket-version": "13" }, { endStream: false });
    stream.on("error", () => undefined);
    const [head] = (await once(stream, "response")) as [IncomingHttpHeaders];
    expect(head[":status"]).toBe(200);
    stream.write(maskedTextFrame("hi"));
    expect(await textFrame(stream)).toBe("echo:hi");
    return stream;
  }

  it("proxy-read-timeout closes a WebSocket over HTTP/2 after that long without traffic, as on HTTP/1.1", async () => {
    const stream = await openTunnel("idle.test");
    stream.resume();
    await new Promise((res) => stream.once("close", res)); // reset by ingressd: once() would reject on its 'error'
  });

  it("shutdown closes WebSockets over HTTP/2 at once, as it does HTTP/1.1 tunnels, instead of waiting out the grace period", async () => {
    const stream = await openTunnel("site.test");
    stream.resume();
    const closed = new Promise((res) => stream.once("close", res));
    await proxy.close();
    await closed;
  });
});
