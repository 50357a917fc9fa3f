import { EventEmitter, once } from "node:events";
import { Agent, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get, ingressYaml, serviceYaml, startUpstream, type RulesDir, type Upstream } from "./helpers.js";
import { blackholeListener, connects, freePort, proxyWith, readAll, readOutcome, site, waitFor, type Proxy } from "./proxyHelpers.js";

/** ingressd's own error answer: the status, a short plain-text body, `Server: ingressd`, a request id. */
function expectOwnError(res: Awaited<ReturnType<typeof get>>, status: number): void {
  expect(res.status, res.body).toBe(status);
  expect(res.headers.server).toBe("ingressd");
  expect(res.headers["content-type"]).toMatch(/^text\/plain/);
  expect(res.body.length).toBeGreaterThan(0);
  expect(res.body.length).toBeLessThan(512);
  expect(res.body.startsWith(String(status))).toBe(true);
  expect(res.headers["x-request-id"]).toBeTruthy();
}

const EMPTY_ENDPOINTS = `apiVersion: v1
kind: Service
metadata:
  name: empty
spec:
  ports:
    - port: 80
---
apiVersion: v1
kind: Endpoints
metadata:
  name: empty
subsets: []
---
${ingressYaml("empty", "empty.localhost", [{ path: "/", service: "empty" }])}`;

describe("proxy errors", () => {
  let live: Upstream;
  let second: Upstream;
  let resetter: Upstream;
  let proxy: Proxy;
  let rules: RulesDir;
  let deadPort: number;
  /** The response the resetting upstream holds, until the test tells it to reset. */
  const held = new EventEmitter();

  beforeAll(async () => {
    live = await startUpstream("live");
    second = await startUpstream("second");
    resetter = await startUpstream((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      if (req.url === "/length") res.writeHead(200, { "content-length": 1_000_000, "content-type": "application/octet-stream" });
      else res.writeHead(200, { "content-type": "application/octet-stream" }); // chunked
      res.write(Buffer.alloc(64 * 1024, 1), () => held.emit("sent", res));
    });
    deadPort = await freePort();
    ({ proxy, rules } = await proxyWith({
      "web.yaml": site("web", "web.localhost", [live.port]),
      "ghost.yaml": ingressYaml("ghost", "ghost.localhost", [{ path: "/", service: "missing" }]),
      "empty.yaml": EMPTY_ENDPOINTS,
      "dead.yaml": site("dead", "dead.localhost", [deadPort]),
      "half.yaml": site("half", "half.localhost", [deadPort, second.port]),
      "reset.yaml": site("reset", "reset.localhost", [resetter.port]),
    }));
  });
  afterAll(async () => {
    await proxy.close();
    await live.close();
    await second.close();
    await resetter.close();
    await rules.cleanup();
  });

  it("a route that works, for contrast", async () => {
    const res = await get(`${proxy.url}/`, { host: "web.localhost" });
    expect(res.status).toBe(200);
  });

  it("no route and no default backend → 404", async () => {
    expectOwnError(await get(`${proxy.url}/x`, { host: "nope.localhost" }), 404);
  });

  it("an Ingress naming an undefined Service → 503", async () => {
    expectOwnError(await get(`${proxy.url}/`, { host: "ghost.localhost" }), 503);
  });

  it("a Service without endpoints (empty subsets) → 503", async () => {
    expectOwnError(await get(`${proxy.url}/`, { host: "empty.localhost" }), 503);
  });

  it("an upstream port with nothing listening → 502", async () => {
    expectOwnError(await get(`${proxy.url}/`, { host: "dead.localhost" }), 502);
  });

  it("two endpoints, one refusing: every GET succeeds on the live one", async () => {
    const before = second.received.length;
    for (let i = 0; i < 10; i++) {
      const res = await get(`${proxy.url}/${i}`, { host: "half.localhost" });
      expect(res.status, res.body).toBe(200);
      expect(JSON.parse(res.body)).toMatchObject({ name: "second", url: `/${i}` });
    }
    expect(second.received.length - before).toBe(10);
  });

  for (const [variant, path] of [
    ["with Content-Length", "/length"],
    ["chunked", "/chunked"],
  ] as const) {
    it(`an upstream reset mid-response (${variant}) cuts the client's response`, async () => {
      const sent = once(held, "sent") as Promise<[ServerResponse]>;
      const req = request(`${proxy.url}${path}`, { headers: { host: "reset.localhost" }, agent: false });
      req.on("error", () => undefined); // the cut may also surface here
      req.end();
      const [res] = (await once(req, "response")) as [IncomingMessage];
      expect(res.statusCode).toBe(200);
      const firstData = once(res, "data");
      const outcome = readOutcome(res);
      // Headers and the first bytes have crossed the proxy; now the upstream resets.
      await firstData;
      const [upRes] = await sent;
      (upRes.socket as Socket).resetAndDestroy();
      const o = await outcome;
      expect(o.ended).toBe(false);
      expect(o.complete).toBe(false);
      expect(o.body.length).toBeGreaterThan(0);
      expect(o.body.length).toBeLessThan(1_000_000);
    });
  }
});

describe("proxy timeouts", () => {
  let hang: Upstream;
  let proxy: Proxy;
  let rules: RulesDir;
  let blackhole: Awaited<ReturnType<typeof blackholeListener>>;
  beforeAll(async () => {
    hang = await startUpstream((req, res) => {
      req.resume();
      if (req.url === "/stall-body") {
        res.writeHead(200, { "content-length": 1000 });
        res.write("partial");
      }
      // otherwise: never answers
    });
    blackhole = await blackholeListener();
    ({ proxy, rules } = await proxyWith(
      {
        "hang.yaml": site("hang", "hang.localhost", [hang.port]),
        "hole.yaml": site("hole", "hole.localhost", [blackhole.port]),
      },
      { readTimeoutMs: 300, connectTimeoutMs: 300 },
    ));
  });
  afterAll(async () => {
    await proxy.close();
    await hang.close();
    await blackhole.close();
    await rules.cleanup();
  });

  it("an upstream that never answers → 504 after the read timeout", async () => {
    const t0 = Date.now();
    const res = await get(`${proxy.url}/`, { host: "hang.localhost" });
    expectOwnError(res, 504);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  });

  it("a response body that stalls past the read timeout is cut", async () => {
    const req = request(`${proxy.url}/stall-body`, { headers: { host: "hang.localhost" }, agent: false });
    req.on("error", () => undefined);
    req.end();
    const [res] = (await once(req, "response")) as [IncomingMessage];
    expect(res.statusCode).toBe(200);
    const o = await readOutcome(res);
    expect(o.complete).toBe(false);
    expect(o.body.toString()).toBe("partial");
  });

  it("a connection that cannot be established → 504 after the connect timeout", async () => {
    // Premise: the listener really swallows new connections.
    expect(await connects(blackhole.port, 200)).toBe(false);
    const t0 = Date.now();
    const res = await get(`${proxy.url}/`, { host: "hole.localhost" });
    expectOwnError(res, 504);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  });
});

describe("client aborts", () => {
  let up: Upstream;
  let proxy: Proxy;
  let rules: RulesDir;
  const arrived = new EventEmitter();
  arrived.setMaxListeners(0);
  beforeAll(async () => {
    up = await startUpstream((req, res) => {
      req.resume();
      if (req.url === "/ok") {
        res.end("ok");
        return;
      }
      arrived.emit(req.url!); // and never answer
    });
    ({ proxy, rules } = await proxyWith({ "hang.yaml": site("hang", "hang.localhost", [up.port]) }));
  });
  afterAll(async () => {
    await proxy.close();
    await up.close();
    await rules.cleanup();
  });

  const connections = (): Promise<number> => new Promise((res, rej) => up.server.getConnections((err, n) => (err ? rej(err) : res(n))));
  const tcpHandles = (): number => process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length;
  const processListeners = (): number => process.eventNames().reduce((n, e) => n + process.listenerCount(e), 0);

  it("1,000 requests aborted by the client after reaching the upstream leave no connections or listeners behind", async () => {
    const pool = () => proxy.runtime.current.pools.get("default/hang:80")!.endpoints[0]!.dispatcher;
    const poolListeners = (): number => pool().eventNames().reduce((n, e) => n + pool().listenerCount(e), 0);
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);

    // Warm up: the endpoint's pool exists and holds one keep-alive connection.
    expect((await get(`${proxy.url}/ok`, { host: "hang.localhost" })).body).toBe("ok");
    await waitFor(() => pool().stats.running === 0, "the warm-up request to finish");
    process.on("warning", onWarning);
    const baseConnections = await connections();
    const baseHandles = tcpHandles();
    const baseProcessListeners = processListeners();
    const basePoolListeners = poolListeners();
    try {
      const one = async (i: number): Promise<void> => {
        const path = `/hang/${i}`;
        const reached = once(arrived, path);
        const req = request(`${proxy.url}${path}`, { headers: { host: "hang.localhost" }, agent: false });
        req.on("error", () => undefined);
        req.end();
        await reached;
        const closed = new Promise<void>((resolve) => req.once("close", resolve));
        req.destroy();
        await closed;
      };
      const total = 1_000;
      const batch = 50;
      for (let i = 0; i < total; i += batch) {
        await Promise.all(Array.from({ length: batch }, (_, j) => one(i + j)));
      }
      expect(up.received.length).toBe(total + 1);

      await waitFor(async () => (await connections()) <= baseConnections, "the upstream's connections to return to the baseline", 10_000);
      await waitFor(() => pool().stats.running === 0 && pool().stats.pending === 0, "the proxy's upstream pool to have nothing in flight", 10_000);
      await waitFor(() => tcpHandles() <= baseHandles, "TCP handles in this process to return to the baseline", 10_000);
      expect(processListeners()).toBe(baseProcessListeners);
      expect(poolListeners()).toBe(basePoolListeners);
      expect(warnings.map((w) => `${w.name}: ${w.message}`)).toEqual([]);

      // And the proxy still serves.
      expect((await get(`${proxy.url}/ok`, { host: "hang.localhost" })).body).toBe("ok");
    } finally {
      process.off("warning", onWarning);
    }
  }, 25_000);
});

describe("graceful shutdown", () => {
  it("lets an in-flight request finish with 200, refuses new connections, and resolves close() after it", async () => {
    const arrived = new EventEmitter();
    const up = await startUpstream((req, res) => {
      req.resume();
      if (req.url === "/slow") arrived.emit("slow", res);
      else res.end("quick");
    });
    const { proxy, rules } = await proxyWith({ "web.yaml": site("web", "web.localhost", [up.port]) });
    const agent = new Agent({ keepAlive: true });
    try {
      // An idle keep-alive connection, which close() must not wait for.
      const idleSocket = await new Promise<Socket>((resolve, reject) => {
        const req = request(`${proxy.url}/quick`, { agent, headers: { host: "web.localhost" } }, (res) => {
          res.resume();
          res.on("end", () => resolve(req.socket!));
        });
        req.on("error", reject);
        req.end();
      });
      const idleClosed = once(idleSocket, "close");

      const upstreamGotIt = once(arrived, "slow") as Promise<[ServerResponse]>;
      const req = request(`${proxy.url}/slow`, { headers: { host: "web.localhost" }, agent: false });
      req.end();
      const responseP = (once(req, "response") as Promise<[IncomingMessage]>).then(([res]) => readAll(res));
      const [upRes] = await upstreamGotIt;

      let answered = false;
      let closedEarly: boolean | undefined;
      const closing = proxy.close().then(() => (closedEarly = !answered));
      await idleClosed;
      expect(await connects(proxy.httpPort, 1_000)).toBe(false);
      expect(closedEarly).toBeUndefined(); // still waiting for the slow request

      answered = true;
      upRes.end("slow done");
      const res = await responseP;
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe("slow done");
      await closing;
      expect(closedEarly).toBe(false);
    } finally {
      agent.destroy();
      await proxy.close();
      await up.close();
      await rules.cleanup();
    }
  });

  it("cuts a request still in flight after the grace period, and close() resolves", async () => {
    const arrived = new EventEmitter();
    const up = await startUpstream((req) => {
      req.resume();
      arrived.emit("req"); // never answers
    });
    const { proxy, rules } = await proxyWith({ "web.yaml": site("web", "web.localhost", [up.port]) }, { shutdownGraceMs: 300 });
    try {
      const reached = once(arrived, "req");
      const req = request(`${proxy.url}/forever`, { headers: { host: "web.localhost" }, agent: false });
      const failed = new Promise<Error>((resolve) => req.once("error", resolve));
      req.end();
      await reached;
      const t0 = Date.now();
      await proxy.close();
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
      const err = await failed;
      expect(err.message).toMatch(/socket hang up|ECONNRESET/);
      await waitFor(async () => (await new Promise<number>((r) => up.server.getConnections((_e, n) => r(n)))) === 0, "the upstream connection to close");
    } finally {
      await up.close();
      await rules.cleanup();
    }
  });
});
