import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import type { IncomingMessage } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get, startUpstream, type RulesDir, type Upstream } from "./helpers.js";
import { memoryLog, type MemoryLog } from "./healthHelpers.js";
import { proxyWith, rawUntilClosed, site, waitFor, within, type Proxy } from "./proxyHelpers.js";
import { createTestCa } from "./tlsHelpers.js";
import { MIN_BODY_BYTES_PER_SECOND } from "../src/proxy/clientBodyTimeout.js";

/**
 * Hostile clients at the front door (issue 9): each answered as nginx 1.22 answers them,
 * with `Server: ingressd`, `Connection: close` and a short text body, nothing of the
 * request forwarded, and the connection closed after the answer.
 */
const HOST = "web.localhost";
const H = `Host: ${HOST}\r\n`;
/** What a proxy framing the body differently from the upstream would forward as a second request. */
const SMUGGLED = `GET /smuggled HTTP/1.1\r\n${H}\r\n`;
/** Short timeouts, so slow clients are closed in a test's time. */
const HEADER_TIMEOUT_MS = 1_000;
const BODY_TIMEOUT_MS = 1_000;

interface Answer {
  status: number;
  /** Header lines, lower-cased. */
  head: string[];
  body: string;
}

/** Every response in `text`, in order (framed by Content-Length, or chunked as upstream answers are relayed). */
function answers(text: string): Answer[] {
  const out: Answer[] = [];
  let rest = text;
  while (rest.startsWith("HTTP/1.1 ")) {
    const end = rest.indexOf("\r\n\r\n");
    const lines = rest.slice(0, end).split("\r\n");
    const head = lines.map((l) => l.toLowerCase());
    rest = rest.slice(end + 4);
    let body = "";
    if (head.includes("transfer-encoding: chunked")) {
      for (;;) {
        const sizeEnd = rest.indexOf("\r\n");
        const size = parseInt(rest.slice(0, sizeEnd), 16);
        body += rest.slice(sizeEnd + 2, sizeEnd + 2 + size);
        rest = rest.slice(sizeEnd + 2 + size + 2);
        if (size === 0) break;
      }
    } else {
      const length = Number(head.find((l) => l.startsWith("content-length:"))?.split(":")[1] ?? 0);
      body = rest.slice(0, length);
      rest = rest.slice(length);
    }
    out.push({ status: Number(lines[0]!.split(" ")[1]), head, body });
  }
  expect(rest, `bytes after the responses in ${JSON.stringify(text.slice(0, 300))}`).toBe("");
  return out;
}

describe("the front door refuses hostile requests as nginx does (issue 9)", () => {
  let up: Upstream;
  /** Answers at once, before the request body is in, and never ends its response. */
  let early: Upstream;
  let proxy: Proxy;
  let rules: RulesDir;
  beforeAll(async () => {
    up = await startUpstream("web");
    early = await startUpstream((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("started\n");
    });
    ({ proxy, rules } = await proxyWith(
      { "web.yaml": site("web", HOST, [up.port]), "early.yaml": site("early", "early.localhost", [early.port]) },
      { clientHeaderTimeoutMs: HEADER_TIMEOUT_MS, clientBodyTimeoutMs: BODY_TIMEOUT_MS },
    ));
  });
  afterAll(async () => {
    await proxy.close();
    await up.close();
    await early.close();
    await rules.cleanup();
  });

  /** Paths the upstream received from now until a request of the test's own arrives. */
  async function forwardedBefore(sentinel: string): Promise<string[]> {
    expect((await get(`${proxy.url}${sentinel}`, { host: HOST })).status).toBe(200);
    const urls = up.received.map((r) => r.url!);
    up.received.length = 0;
    return urls.filter((u) => u !== sentinel);
  }

  async function openConnections(): Promise<number> {
    const text = (await get(`${proxy.admin}/metrics`)).body;
    return Number(/^ingressd_active_connections\{listener="http"\} (\d+)$/m.exec(text)?.[1] ?? 0);
  }

  /** The one answer to `data`, ingressd's own, the connection closed after it and nothing forwarded. */
  async function refusal(data: string): Promise<Answer> {
    await forwardedBefore("/before");
    const all = answers(await within(rawUntilClosed(proxy.httpPort, data), 5_000, "close of the connection by ingressd"));
    expect(all.map((a) => a.status)).toHaveLength(1);
    const res = all[0]!;
    expect(res.head).toContain("server: ingressd");
    expect(res.head).toContain("connection: close");
    expect(res.body).toMatch(new RegExp(`^${res.status} [A-Z][^:]*: .+\\n$`));
    expect(await forwardedBefore("/sentinel")).toEqual([]);
    await waitFor(async () => (await openConnections()) === 0, "ingressd to hold no client connection");
    return res;
  }

  it("headers over Node's 16 KiB: 431 Request Header Fields Too Large", async () => {
    const res = await refusal(`GET / HTTP/1.1\r\n${H}X-Big: ${"a".repeat(20 * 1024)}\r\n\r\n`);
    expect(res.status).toBe(431);
    expect(res.body).toMatch(/^431 Request Header Fields Too Large: /);
  });

  it.each([
    ["9 KiB (parsed, refused before forwarding)", 9 * 1024],
    ["20 KiB (past Node's header limit)", 20 * 1024],
  ])("a request-target of %s: 414 URI Too Long", async (_name, size) => {
    const res = await refusal(`GET /${"a".repeat(size)} HTTP/1.1\r\n${H}\r\n${SMUGGLED}`);
    expect(res.status).toBe(414);
    expect(res.body).toMatch(/^414 URI Too Long: /);
  });

  it("an upgrade request with a 9 KiB request-target: 414", async () => {
    const res = await refusal(
      `GET /${"a".repeat(9 * 1024)} HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    expect(res.status).toBe(414);
  });

  it("a request-target of exactly 8 KiB is forwarded", async () => {
    const path = `/${"a".repeat(8191)}`;
    expect((await get(`${proxy.url}${path}`, { host: HOST })).status).toBe(200);
    expect(await forwardedBefore("/sentinel")).toEqual([path]);
  });

  it("Transfer-Encoding in an HTTP/1.0 request: 400 (RFC 9112 §6.1, faulty framing)", async () => {
    expect((await refusal(`POST / HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`)).status).toBe(400);
  });

  it.each([
    ["identity, chunked", `Transfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    ["gzip, chunked", `Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    ["xchunked (with Content-Length)", `Transfer-Encoding: xchunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    ["xchunked", `Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    ["a vertical tab before chunked", `Transfer-Encoding:\x0bchunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    ["chunked, identity", `Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ])("Transfer-Encoding %s: 501 Not Implemented", async (_name, rest) => {
    const res = await refusal(`POST / HTTP/1.1\r\n${H}${rest}`);
    expect(res.status).toBe(501);
    expect(res.body).toMatch(/^501 Not Implemented: /);
  });

  it.each([
    ["two Transfer-Encoding fields", `Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    ["a folded Transfer-Encoding", `Transfer-Encoding:\r\n chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    ["a space before the colon", `Transfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    ["chunked with Content-Length", `Content-Length: ${5 + SMUGGLED.length}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    ["a NUL in the Transfer-Encoding value", `Transfer-Encoding: chunked\x00\r\n\r\n0\r\n\r\n`],
    ["a chunk size past 64 bits", `Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF1\r\nx\r\n0\r\n\r\n${SMUGGLED}`],
  ])("%s: 400", async (_name, rest) => {
    expect((await refusal(`POST / HTTP/1.1\r\n${H}${rest}`)).status).toBe(400);
  });

  it("Transfer-Encoding: Chunked in any case, blanks around it, is forwarded", async () => {
    const text = await within(rawUntilClosed(proxy.httpPort, `POST /chunked HTTP/1.1\r\n${H}Transfer-Encoding:  Chunked \r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n`), 5_000, "the answer");
    expect(answers(text).map((a) => a.status)).toEqual([200]);
    expect(JSON.parse(answers(text)[0]!.body)).toMatchObject({ url: "/chunked", bytes: 3 });
    expect(await forwardedBefore("/sentinel")).toEqual(["/chunked"]);
  });

  it("a valid request, then a malformed one on the same connection: 200, then 400, then closed", async () => {
    await forwardedBefore("/before");
    const text = await within(rawUntilClosed(proxy.httpPort, `GET /first HTTP/1.1\r\n${H}\r\nGARBAGE\r\n\r\n`), 5_000, "close of the connection by ingressd");
    const all = answers(text);
    expect(all.map((a) => a.status)).toEqual([200, 400]);
    expect(JSON.parse(all[0]!.body)).toMatchObject({ url: "/first" });
    expect(all[1]!.head).toContain("connection: close");
    expect(all[1]!.body).toMatch(/^400 Bad Request: /);
    expect(await forwardedBefore("/sentinel")).toEqual(["/first"]);
  });

  it("two valid requests, then a malformed one: 200, 200, then 400", async () => {
    await forwardedBefore("/before");
    const text = await within(rawUntilClosed(proxy.httpPort, `GET /a HTTP/1.1\r\n${H}\r\nGET /b HTTP/1.1\r\n${H}\r\nGARBAGE\r\n\r\n`), 5_000, "close of the connection by ingressd");
    const all = answers(text);
    expect(all.map((a) => a.status)).toEqual([200, 200, 400]);
    expect(all.slice(0, 2).map((a) => (JSON.parse(a.body) as { url: string }).url)).toEqual(["/a", "/b"]);
    expect(await forwardedBefore("/sentinel")).toEqual(["/a", "/b"]);
  });

  it("headers sent too slowly: 408 at the header timeout, connection closed", async () => {
    const start = performance.now();
    const text = await within(rawUntilClosed(proxy.httpPort, `GET /slow HTTP/1.1\r\n${H}X-Slow: `), 10 * HEADER_TIMEOUT_MS, "close of the connection by ingressd");
    expect(performance.now() - start).toBeGreaterThanOrEqual(HEADER_TIMEOUT_MS - 50);
    const [res] = answers(text);
    expect(res!.status).toBe(408);
    expect(res!.head).toContain("connection: close");
    expect(await forwardedBefore("/sentinel")).toEqual([]);
  });

  it("a connection that never sends a byte is closed at the header timeout, unanswered (as nginx)", async () => {
    const text = await within(rawUntilClosed(proxy.httpPort, ""), 10 * HEADER_TIMEOUT_MS, "close of the connection by ingressd");
    expect(text).toBe("");
  });

  /** A POST of 1000 bytes whose body stops after `sent` bytes; resolves with what ingressd sent once it closed. */
  function stalledBody(sent: number): Promise<string> {
    return rawUntilClosed(proxy.httpPort, `POST /stalled HTTP/1.1\r\n${H}Content-Length: 1000\r\n\r\n${"x".repeat(sent)}`);
  }

  it("a request body that stalls: 408 at the body timeout, the upstream request aborted unfinished", async () => {
    await forwardedBefore("/before");
    const text = await within(stalledBody(10), 10 * BODY_TIMEOUT_MS, "close of the connection by ingressd");
    const [res] = answers(text);
    expect(res!.status).toBe(408);
    expect(res!.head).toContain("connection: close");
    expect(res!.body).toMatch(/^408 Request Timeout: /);
    // The head was streamed upstream before the body stalled: that request never completes there.
    const upstreamReq = up.received.find((r) => r.url === "/stalled")!;
    expect(upstreamReq).toBeDefined();
    await waitFor(() => upstreamReq.destroyed, "the upstream request to be aborted");
    expect(upstreamReq.complete).toBe(false);
    await waitFor(async () => (await openConnections()) === 0, "ingressd to hold no client connection");
  });

  it("a request body that stalls after the response started: the connection is cut, the upstream request aborted", async () => {
    const text = await within(
      rawUntilClosed(proxy.httpPort, `POST /early HTTP/1.1\r\nHost: early.localhost\r\nContent-Length: 1000\r\n\r\n${"x".repeat(10)}`),
      10 * BODY_TIMEOUT_MS,
      "close of the connection by ingressd",
    );
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text).toContain("started\n");
    expect(text).not.toMatch(/\r\n0\r\n\r\n$/); // cut, not ended
    const upstreamReq = early.received.find((r: IncomingMessage) => r.url === "/early")!;
    await waitFor(() => upstreamReq.destroyed, "the upstream request to be aborted");
    expect(upstreamReq.complete).toBe(false);
  });

  /** Sends a body of `pieces` × `piece` bytes, one piece every quarter body timeout; resolves with the answer once ingressd closes. */
  async function paced(piece: number, pieces: number): Promise<string> {
    const sock = connect(proxy.httpPort, "127.0.0.1");
    const chunks: Buffer[] = [];
    sock.on("data", (c: Buffer) => chunks.push(c));
    sock.on("error", () => undefined);
    const closed = new Promise<void>((res) => sock.once("close", () => res()));
    sock.write(`POST /trickle HTTP/1.1\r\n${H}Content-Length: ${piece * pieces}\r\nConnection: close\r\n\r\n`);
    for (let i = 0; i < pieces && !sock.destroyed; i++) {
      await new Promise((r) => setTimeout(r, BODY_TIMEOUT_MS / 4)); // a pace set by the test, not a wait for an event
      if (!sock.destroyed) sock.write("x".repeat(piece));
    }
    await within(closed, 10 * BODY_TIMEOUT_MS, "the answer");
    return Buffer.concat(chunks).toString("latin1");
  }

  it("a slow body that stays above the minimum rate (240 B/s on average) is served, however long it takes", async () => {
    const piece = Math.ceil((MIN_BODY_BYTES_PER_SECOND * BODY_TIMEOUT_MS) / 1000 / 2); // twice the minimum per period
    const [res] = answers(await paced(piece, 12));
    expect(res!.status).toBe(200);
    expect(JSON.parse(res!.body)).toMatchObject({ url: "/trickle", bytes: piece * 12 });
  });

  it("a body trickling below the minimum rate, though never idle for the body timeout, is cut (slowloris): 408", async () => {
    const text = await paced(1, 40);
    const [res] = answers(text);
    expect(res!.status).toBe(408);
    expect(res!.head).toContain("connection: close");
  });
});

describe("the HTTPS front door answers refusals the same way, and logs them", () => {
  let up: Upstream;
  let proxy: Proxy;
  let rules: RulesDir;
  let log: MemoryLog;
  let certDir: string;
  let httpsPort: number;
  beforeAll(async () => {
    const ca = await createTestCa();
    const pem = await ca.issue([HOST]);
    certDir = await mkdtemp(join(tmpdir(), "front-door-"));
    await writeFile(join(certDir, "tls.crt"), pem.cert);
    await writeFile(join(certDir, "tls.key"), pem.key);
    up = await startUpstream("web");
    log = memoryLog();
    ({ proxy, rules } = await proxyWith(
      { "web.yaml": site("web", HOST, [up.port]) },
      { logger: log.logger, httpsPort: 0, dataDir: certDir, defaultCert: join(certDir, "tls.crt"), defaultKey: join(certDir, "tls.key") },
    ));
    httpsPort = await proxy.httpsReady();
  });
  afterAll(async () => {
    await proxy.close();
    await up.close();
    await rules.cleanup();
    await rm(certDir, { recursive: true, force: true });
  });

  it("headers over 16 KiB over TLS: 431 from ingressd, connection closed, an access line", async () => {
    const sock = tlsConnect({ port: httpsPort, host: "127.0.0.1", servername: HOST, rejectUnauthorized: false });
    const chunks: Buffer[] = [];
    sock.on("data", (c: Buffer) => chunks.push(c));
    const ended = new Promise<void>((res) => sock.once("end", () => res()));
    sock.write(`GET / HTTP/1.1\r\n${H}X-Big: ${"a".repeat(20 * 1024)}\r\n\r\n`);
    await within(ended, 5_000, "close of the connection by ingressd");
    sock.destroy();
    const [res, ...more] = answers(Buffer.concat(chunks).toString("latin1"));
    expect(more).toEqual([]);
    expect(res!.status).toBe(431);
    expect(res!.head).toContain("server: ingressd");
    expect(res!.head).toContain("connection: close");
    expect(up.received).toEqual([]);
    const line = await log.waitForLine((l) => l.log === "access" && l.status === 431, "for the refusal");
    expect(line).toMatchObject({ client: "127.0.0.1", error: "HPE_HEADER_OVERFLOW" });
  });
});
