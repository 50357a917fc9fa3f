import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import type { RulesDir } from "./helpers.js";
import { freePort, proxyWith, site, type Proxy } from "./proxyHelpers.js";

/** A WebSocket upstream: greets with `hello from <name>`, echoes each message as `<name>: <msg>`. */
interface WsUpstream {
  port: number;
  upgrades: IncomingMessage[];
  wss: WebSocketServer;
  close(): Promise<void>;
}

async function startWsUpstream(name: string): Promise<WsUpstream> {
  const server: Server = createServer((_req, res) => res.writeHead(426).end());
  const wss = new WebSocketServer({ server });
  const upgrades: IncomingMessage[] = [];
  wss.on("connection", (ws, req) => {
    upgrades.push(req);
    ws.send(`hello from ${name}`);
    ws.on("message", (data, isBinary) => ws.send(isBinary ? data : `${name}: ${String(data)}`, { binary: isBinary }));
  });
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  return {
    port: (server.address() as AddressInfo).port,
    upgrades,
    wss,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((res) => wss.close(() => res()));
      server.closeAllConnections();
      await new Promise<void>((res) => server.close(() => res()));
    },
  };
}

/** Collects messages in order; `next()` resolves with the next one. */
function messages(ws: WebSocket): { next(): Promise<string> } {
  const queue: string[] = [];
  const waiting: ((m: string) => void)[] = [];
  ws.on("message", (data) => {
    const m = String(data);
    const w = waiting.shift();
    if (w) w(m);
    else queue.push(m);
  });
  return {
    next: () => {
      const m = queue.shift();
      if (m !== undefined) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        waiting.push(resolve);
        ws.once("close", () => reject(new Error("closed while waiting for a message")));
      });
    },
  };
}

async function openThrough(proxy: Proxy, host: string, path = "/ws"): Promise<{ ws: WebSocket; next(): Promise<string> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${proxy.httpPort}${path}`, { headers: { host } });
  const m = messages(ws); // attached before open: the greeting may arrive in the same packet
  await once(ws, "open");
  return { ws, ...m };
}

async function closeWs(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return;
  const closed = once(ws, "close");
  ws.close();
  await closed;
}

describe("websocket through ingressd", () => {
  let a: WsUpstream;
  let b: WsUpstream;
  let proxy: Proxy;
  let rules: RulesDir;
  beforeAll(async () => {
    a = await startWsUpstream("A");
    b = await startWsUpstream("B");
    ({ proxy, rules } = await proxyWith({
      "a.yaml": site("a", "a.localhost", [a.port]),
      "b.yaml": site("b", "b.localhost", [b.port]),
      "dead.yaml": site("dead", "dead.localhost", [await freePort()]),
    }));
  });
  afterAll(async () => {
    await proxy.close();
    await a.close();
    await b.close();
    await rules.cleanup();
  });

  it("exchanges messages both ways", async () => {
    const { ws, next } = await openThrough(proxy, "a.localhost");
    try {
      expect(await next()).toBe("hello from A"); // upstream → client
      for (const msg of ["one", "two", "x".repeat(100_000)]) {
        ws.send(msg); // client → upstream → client
        expect(await next()).toBe(`A: ${msg}`);
      }
      // Binary frames pass unchanged.
      const bin = Buffer.from([0, 1, 2, 255, 254]);
      const got = new Promise<Buffer>((resolve) => ws.once("message", (d, isBinary) => isBinary && resolve(d as Buffer)));
      ws.send(bin);
      expect(Buffer.compare(await got, bin)).toBe(0);
    } finally {
      await closeWs(ws);
    }
  });

  it("sends the upstream the route's Host and forwarding headers on the upgrade", async () => {
    const { ws, next } = await openThrough(proxy, "a.localhost", "/ws/path?x=1");
    try {
      await next();
      const req = a.upgrades.at(-1)!;
      expect(req.url).toBe("/ws/path?x=1");
      expect(req.headers.host).toBe("a.localhost");
      expect(req.headers["x-forwarded-for"]).toBe("127.0.0.1");
      expect(req.headers["x-real-ip"]).toBe("127.0.0.1");
      expect(req.headers["x-forwarded-host"]).toBe("a.localhost");
    } finally {
      await closeWs(ws);
    }
  });

  it("routes upgrades by host: two hosts reach two different upstreams", async () => {
    const ca = await openThrough(proxy, "a.localhost");
    const cb = await openThrough(proxy, "b.localhost");
    try {
      expect(await ca.next()).toBe("hello from A");
      expect(await cb.next()).toBe("hello from B");
      ca.ws.send("ping");
      cb.ws.send("ping");
      expect(await ca.next()).toBe("A: ping");
      expect(await cb.next()).toBe("B: ping");
    } finally {
      await closeWs(ca.ws);
      await closeWs(cb.ws);
    }
  });

  it("closing on the client side closes the upstream side, and vice versa", async () => {
    const { ws, next } = await openThrough(proxy, "b.localhost");
    await next();
    const server = [...b.wss.clients].at(-1)!;
    const serverClosed = once(server, "close");
    ws.close(1000, "bye");
    const [code] = (await serverClosed) as [number];
    expect(code).toBe(1000);

    const c2 = await openThrough(proxy, "b.localhost");
    await c2.next();
    const server2 = [...b.wss.clients].at(-1)!;
    const clientClosed = once(c2.ws, "close");
    server2.terminate(); // abrupt: the tunnel must still close the client side
    await clientClosed;
  });

  it("an upgrade to an unknown host gets 404", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.httpPort}/ws`, { headers: { host: "nope.localhost" } });
    const [, res] = (await once(ws, "unexpected-response")) as [unknown, IncomingMessage];
    expect(res.statusCode).toBe(404);
    expect(res.headers.server).toBe("ingressd");
    res.resume();
    ws.on("error", () => undefined); // terminate() reports the never-opened socket as an error
    ws.terminate();
  });

  it("an upgrade to a route whose upstream refuses connections gets 502", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.httpPort}/ws`, { headers: { host: "dead.localhost" } });
    const [, res] = (await once(ws, "unexpected-response")) as [unknown, IncomingMessage];
    expect(res.statusCode).toBe(502);
    expect(res.headers.server).toBe("ingressd");
    res.resume();
    ws.on("error", () => undefined);
    ws.terminate();
  });
});

describe("an upgraded connection's end", () => {
  /** 8 MiB after the 101, then the upstream closes: the client must get every byte before the close. */
  const SIZE = 8 * 1024 * 1024;
  let upstream: Server;
  let proxy: Proxy;
  let rules: RulesDir;
  beforeAll(async () => {
    upstream = createServer((_req, res) => res.writeHead(426).end());
    upstream.on("upgrade", (_req, socket) => {
      socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
      socket.end(Buffer.alloc(SIZE, 7));
    });
    await new Promise<void>((res) => upstream.listen(0, "127.0.0.1", res));
    ({ proxy, rules } = await proxyWith({ "big.yaml": site("big", "big.localhost", [(upstream.address() as AddressInfo).port]) }));
  });
  afterAll(async () => {
    await proxy.close();
    upstream.closeAllConnections();
    await new Promise<void>((res) => upstream.close(() => res()));
    await rules.cleanup();
  });

  it("a reply the upstream sends just before it closes reaches a slow client whole", async () => {
    const client = connect(proxy.httpPort, "127.0.0.1");
    client.write("GET /ws HTTP/1.1\r\nHost: big.localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    let received = 0;
    let head = "";
    // A slow reader: ingressd's side of the connection keeps bytes queued while the upstream closes.
    const trickle = setInterval(() => (client.isPaused() ? client.resume() : client.pause()), 2);
    client.on("data", (chunk: Buffer) => {
      if (!head.endsWith("\r\n\r\n")) {
        const text = chunk.toString("latin1");
        const end = (head + text).indexOf("\r\n\r\n");
        if (end < 0) {
          head += text;
          return;
        }
        received += chunk.length - (end + 4 - head.length);
        head = (head + text).slice(0, end + 4);
        return;
      }
      received += chunk.length;
    });
    await once(client, "close");
    clearInterval(trickle);
    expect(head).toMatch(/^HTTP\/1\.1 101/);
    expect(received).toBe(SIZE);
  });
});
