/**
 * Issue 12, h2c on the HTTP port: "The HTTP port accepts HTTP/2 with prior knowledge (h2c)
 * beside HTTP/1.1 on the same port (recognise the connection preface), so `grpcurl
 * -plaintext` works in local development." HTTP/1.1 on that port must stay as it was,
 * backpressure on request bodies included.
 */
import { execFile } from "node:child_process";
import { once } from "node:events";
import { createServer as createHttpServer, type IncomingMessage } from "node:http";
import { connect, createServer as createH2cServer, type ClientHttp2Session } from "node:http2";
import { connect as netConnect, type AddressInfo, type Socket } from "node:net";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { servePriorKnowledge } from "../src/server/priorKnowledge.js";
import { get, startProxy, startUpstream, type RulesDir, type Upstream } from "./helpers.js";
import { h2Request } from "./h2Helpers.js";
import { inspect, proxyWith, site, waitFor, type Proxy, type Seen } from "./proxyHelpers.js";

const run = promisify(execFile);

describe("h2c with prior knowledge on the HTTP port (issue 12)", () => {
  let up: Upstream;
  let proxy: Proxy;
  let rules: RulesDir;
  let session: ClientHttp2Session;

  beforeAll(async () => {
    up = await startUpstream(inspect("web"));
    ({ proxy, rules } = await proxyWith({ "web.yaml": site("web", "web.localhost", [up.port]) }));
    session = connect(`http://127.0.0.1:${proxy.httpPort}`);
    await once(session, "connect");
  });
  afterAll(async () => {
    session?.close();
    await proxy?.close();
    await up?.close();
    await rules?.cleanup();
  });

  it("serves HTTP/2 requests by :authority, forwarded as http", async () => {
    const r = await h2Request(session, { ":authority": "web.localhost", ":path": "/h2c?x=1" });
    expect(r.headers[":status"]).toBe(200);
    const s = JSON.parse(r.body.toString()) as Seen;
    expect(s.url).toBe("/h2c?x=1");
    expect(s.headers.host).toBe("web.localhost");
    expect(s.headers["x-forwarded-proto"]).toBe("http");
    expect(s.headers["x-forwarded-host"]).toBe("web.localhost");
  });

  it("streams a request body on the same session", async () => {
    const body = Buffer.alloc(200_000, 3);
    const r = await h2Request(session, { ":authority": "web.localhost", ":path": "/upload", ":method": "POST" }, body);
    expect((JSON.parse(r.body.toString()) as Seen).bytes).toBe(body.length);
  });

  it("curl --http2-prior-knowledge gets HTTP/2 200", async () => {
    const { stdout } = await run("curl", ["-sS", "-i", "--http2-prior-knowledge", "-H", "Host: web.localhost", `${proxy.url}/curl`], { timeout: 10_000 });
    expect(stdout.split("\r\n")[0]).toBe("HTTP/2 200 ");
  });

  it("serves HTTP/1.1 on the same port as before", async () => {
    const r = await get(`${proxy.url}/h1`, { host: "web.localhost" });
    expect(r.status).toBe(200);
    expect((JSON.parse(r.body) as Seen).url).toBe("/h1");
    const { stdout } = await run("curl", ["-sS", "-i", "--http1.1", "-H", "Host: web.localhost", `${proxy.url}/curl1`], { timeout: 10_000 });
    expect(stdout.split("\r\n")[0]).toBe("HTTP/1.1 200 OK");
  });

  it("a connection sending the preface and then garbage is closed; the server goes on", async () => {
    const socket = netConnect(proxy.httpPort, "127.0.0.1");
    await once(socket, "connect");
    socket.on("error", () => undefined);
    socket.resume();
    socket.write(Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Buffer.alloc(64, 0xff)]));
    await once(socket, "close");
    const r = await h2Request(session, { ":authority": "web.localhost", ":path": "/still-up" });
    expect(r.headers[":status"]).toBe(200);
  });

  it("answers a CONNECT and an OPTIONS * over HTTP/2 without harm to the session", async () => {
    // Node answers a CONNECT (no extended CONNECT is offered) before ingressd sees it.
    expect((await h2Request(session, { ":method": "CONNECT", ":authority": "web.localhost:443" })).headers[":status"]).toBe(405);
    expect((await h2Request(session, { ":method": "OPTIONS", ":authority": "web.localhost", ":path": "*" })).headers[":status"]).toBe(200);
    const r = await h2Request(session, { ":authority": "web.localhost", ":path": "/after" });
    expect(r.headers[":status"]).toBe(200);
  });

  it("closes gracefully with an idle h2c session open", async () => {
    const { proxy: p, rules: r } = await proxyWith({ "web.yaml": site("web", "web.localhost", [up.port]) }, { shutdownGraceMs: 20_000 });
    const s = connect(`http://127.0.0.1:${p.httpPort}`);
    await once(s, "connect");
    expect((await h2Request(s, { ":authority": "web.localhost", ":path": "/" })).headers[":status"]).toBe(200);
    const goaway = once(s, "goaway");
    const closed = p.close();
    await goaway; // the idle session is told to go, not left to the grace period
    await closed;
    s.destroy();
    await r.cleanup();
  });
});

describe("connections that send nothing (issue 12: the preface check must not hold them)", () => {
  it("a client that closes its side before sending a byte is closed by the server at once, not left in CLOSE-WAIT", async () => {
    const proxy = await startProxy([]);
    try {
      const client = netConnect(proxy.httpPort, "127.0.0.1");
      await once(client, "connect");
      const ended = once(client, "end"); // the server's FIN
      client.end(); // ours, without a byte sent
      await ended;
    } finally {
      await proxy.close();
    }
  });

  it("shutdown does not wait for a connection that has sent nothing (wrk's last reconnects), though the first-bytes timeout is 60 s", async () => {
    const proxy = await startProxy([], { shutdownGraceMs: 60_000 });
    const client = netConnect(proxy.httpPort, "127.0.0.1");
    await once(client, "connect");
    const serverClosed = once(client, "close");
    await proxy.close(); // hung until the 60 s first-bytes timeout (test timeout 30 s) before the fix
    await serverClosed;
  });
});

describe("the preface check (issue 12)", () => {
  /** An HTTP/1.1 server with the preface check in front, and the h2c server it hands HTTP/2 to. */
  async function servers(onRequest: (req: IncomingMessage) => void = () => undefined) {
    const http = createHttpServer(onRequest);
    const h2c = createH2cServer();
    servePriorKnowledge(http, h2c, 5_000);
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    const accepted = once(http, "connection") as Promise<[Socket]>;
    const client = netConnect((http.address() as AddressInfo).port, "127.0.0.1");
    await once(client, "connect");
    const [socket] = await accepted;
    return { h2c, client, socket, close: () => (client.destroy(), http.close()) };
  }

  it("recognises a preface that arrives in pieces", async () => {
    const { h2c, client, socket, close } = await servers();
    try {
      const session = once(h2c, "session");
      client.write("PRI * HTTP/2.0\r\n");
      await waitFor(() => socket.bytesRead >= 16, "the first piece to be read");
      // The rest of the preface, then an empty SETTINGS frame.
      client.write(Buffer.concat([Buffer.from("\r\nSM\r\n\r\n"), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
      await session;
    } finally {
      close();
    }
  });

  it("a request body the handler does not read is not read off the socket past its buffers", async () => {
    let request: IncomingMessage | undefined;
    const { client, close } = await servers((req) => (request = req));
    try {
      const total = 50 * 1024 * 1024;
      client.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${total}\r\n\r\n`);
      const mib = Buffer.alloc(1024 * 1024);
      let written = 0;
      const pump = (): void => {
        while (written < total && client.write(mib)) written += mib.length;
        if (written < total) client.once("drain", pump);
      };
      pump();
      await waitFor(() => request !== undefined, "the request");
      // Nothing to await for something that must not happen: the client is given a while to push.
      await new Promise((r) => setTimeout(r, 500));
      expect(request!.socket.bytesRead).toBeLessThan(4 * 1024 * 1024);
    } finally {
      close();
    }
  });
});
