import { randomBytes } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import { unlink } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseRulesFile } from "../src/config/parse.js";
import type { Loaded } from "../src/config/resources.js";
import { NODE_PORT_MAX, NODE_PORT_MIN } from "../src/model/nodePorts.js";
import { validateDocuments } from "../src/config/validate.js";
import { formatIssue } from "../src/model/issues.js";
import { planL4Listeners } from "../src/l4/plan.js";
import type { L4ListenerStatus } from "../src/l4/listeners.js";
import { get, ingressYaml, nextReload, rulesDir, serviceYaml, startProxy, startUpstream, type RulesDir } from "./helpers.js";
import {
  config,
  dial,
  dialOutcome,
  echoServer,
  exchange,
  freePortOn,
  isFree,
  l4ServiceYaml,
  memoryLogger,
  namedEchoServer,
  nodePort,
  Reader,
  serviceOf,
  tcpServer,
  whoAnswersTcp,
  type Proxy,
  type TcpServer,
} from "./l4Helpers.js";
import { blackholeListener, freePort, sha256, waitFor, within } from "./proxyHelpers.js";
import { docs, positionOf } from "./reloadHelpers.js";

// ---------------------------------------------------------------------------
// Per-test resources, released after each test (last acquired, first released)
// ---------------------------------------------------------------------------

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});
function defer(fn: () => unknown): void {
  cleanups.push(fn);
}

async function proxyOver(files: Record<string, string>, extra: Parameters<typeof startProxy>[1] = {}): Promise<{ proxy: Proxy; rules: RulesDir }> {
  const rules = await rulesDir();
  defer(() => rules.cleanup());
  for (const [name, text] of Object.entries(files)) await rules.write(name, text);
  const proxy = await startProxy([rules.dir], { shutdownGraceMs: 500, ...extra });
  defer(() => proxy.close());
  return { proxy, rules };
}

async function upstreamTcp(p: Promise<TcpServer>): Promise<TcpServer> {
  const s = await p;
  defer(() => s.close());
  return s;
}

async function client(port: number, host = "127.0.0.1", opts: { localAddress?: string; allowHalfOpen?: boolean } = {}) {
  const c = await dial(port, host, opts);
  defer(() => c.socket.destroy());
  return c;
}

/** Waits until the L4 listeners satisfy `pred` (reconciling runs after the reload event). */
function l4Where(proxy: Proxy, pred: (s: L4ListenerStatus[]) => boolean, what: string): Promise<void> {
  return waitFor(() => pred(proxy.l4.status()), what);
}

/** Waits until a fresh connection to `host:port` succeeds. */
function opens(port: number, host = "127.0.0.1"): Promise<void> {
  return waitFor(async () => (await dialOutcome(port, host)) === "connected", `a listener at ${host}:${port}`);
}

/** Waits until a fresh connection to `host:port` is refused. */
function refuses(port: number, host = "127.0.0.1"): Promise<void> {
  return waitFor(async () => (await dialOutcome(port, host)) === "ECONNREFUSED", `${host}:${port} to refuse connections`);
}

/** Writes `data` in 64 KiB pieces, so `writableLength` tells how much is still in user space. */
function writeInPieces(socket: Socket, data: Buffer): void {
  for (let i = 0; i < data.length; i += 64 * 1024) socket.write(data.subarray(i, i + 64 * 1024));
}

/** A unique, DNS-1035 Service name. */
let names = 0;
function svcName(prefix: string): string {
  return `${prefix}-${process.pid}-${names++}`;
}

/** Occupies `port` on `host` with a plain server of ours. */
async function occupy(port: number, host = "127.0.0.1"): Promise<Server> {
  const srv = createServer((s) => s.destroy());
  await new Promise<void>((res, rej) => {
    srv.once("error", rej);
    srv.listen(port, host, () => res());
  });
  return srv;
}

// ---------------------------------------------------------------------------
// planL4Listeners: pure planning
// ---------------------------------------------------------------------------

function services(files: Record<string, string>): Loaded<"Service">[] {
  const out: Loaded<"Service">[] = [];
  for (const [file, text] of Object.entries(files)) {
    const parsed = parseRulesFile(file, text);
    if (!parsed.ok) throw new Error(parsed.issues.map(formatIssue).join("; "));
    const v = validateDocuments(parsed.documents);
    const errors = v.issues.filter((i) => i.severity === "error");
    if (errors.length > 0) throw new Error(errors.map(formatIssue).join("; "));
    for (const r of v.resources) if (r.kind === "Service") out.push(r as Loaded<"Service">);
  }
  return out;
}

function svcYaml(name: string, o: { type?: string; nodePort?: number; port?: number; loadBalancerIP?: string; namespace?: string } = {}): string {
  return [
    "apiVersion: v1",
    "kind: Service",
    "metadata:",
    `  name: ${name}`,
    ...(o.namespace ? [`  namespace: ${o.namespace}`] : []),
    "spec:",
    `  type: ${o.type ?? "NodePort"}`,
    ...(o.loadBalancerIP ? [`  loadBalancerIP: ${o.loadBalancerIP}`] : []),
    "  ports:",
    `    - port: ${o.port ?? 80}`,
    ...(o.nodePort !== undefined ? [`      nodePort: ${o.nodePort}`] : []),
    "",
  ].join("\n");
}

const BIND = "127.0.0.1";
const inRange = (p: number | undefined): boolean => p !== undefined && Number.isInteger(p) && p >= NODE_PORT_MIN && p <= NODE_PORT_MAX;

describe("planL4Listeners", () => {
  it("an explicit nodePort is one listener on the bind address; ClusterIP Services get none", () => {
    const plan = planL4Listeners(services({ "a.yaml": docs(svcYaml("np", { nodePort: 30123 }), svcYaml("cip", { type: "ClusterIP" })) }), BIND, new Map());
    expect(plan.issues).toEqual([]);
    expect(plan.listeners).toEqual([{ id: "127.0.0.1:30123", address: "127.0.0.1", port: 30123, backend: "default/np:80", service: "default/np", kind: "NodePort", field: "spec.ports[0].nodePort", locate: expect.any(Function) }]);
    expect(plan.listeners[0]!.locate()).toMatchObject({ file: "a.yaml", line: expect.any(Number) });
    expect([...plan.nodePorts]).toEqual([["default/np:80", 30123]]);
    expect(plan.loadBalancers.size).toBe(0);
  });

  it("assigns a missing nodePort in range, the same one for the same Service every time", () => {
    const svcs = services({ "a.yaml": svcYaml("auto", { namespace: "shop" }) });
    const a = planL4Listeners(svcs, BIND, new Map());
    const b = planL4Listeners(svcs, BIND, new Map());
    const port = a.nodePorts.get("shop/auto:80");
    expect(inRange(port)).toBe(true);
    expect(b.nodePorts.get("shop/auto:80")).toBe(port);
    expect(a.listeners).toMatchObject([{ id: `127.0.0.1:${port}`, port, backend: "shop/auto:80", service: "shop/auto", kind: "NodePort" }]);
    expect(a.issues).toEqual([]);
  });

  it("keeps the nodePort a Service had before (given the previous map) when it is still free", () => {
    const svcs = services({ "a.yaml": svcYaml("auto") });
    const fresh = planL4Listeners(svcs, BIND, new Map()).nodePorts.get("default/auto:80")!;
    const before = fresh === 31999 ? 31998 : 31999;
    const plan = planL4Listeners(svcs, BIND, new Map([["default/auto:80", before]]));
    expect(plan.nodePorts.get("default/auto:80")).toBe(before);
    expect(plan.listeners.map((l) => l.port)).toEqual([before]);
  });

  it("an explicit nodePort takes a port assigned before to another Service, which moves", () => {
    const svcs = services({ "a.yaml": svcYaml("auto"), "b.yaml": svcYaml("pinned", { nodePort: 31999 }) });
    const plan = planL4Listeners(svcs, BIND, new Map([["default/auto:80", 31999]]));
    expect(plan.issues).toEqual([]);
    expect(plan.nodePorts.get("default/pinned:80")).toBe(31999);
    const moved = plan.nodePorts.get("default/auto:80");
    expect(inRange(moved)).toBe(true);
    expect(moved).not.toBe(31999);
    expect(plan.listeners.filter((l) => l.port === 31999).map((l) => l.service)).toEqual(["default/pinned"]);
  });

  it("a Service added later never takes the nodePort an existing Service was assigned (same hash, earlier file)", () => {
    // Two names whose derived ports collide: plan each alone.
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; i < 5000 && !pair; i++) {
      const name = `svc-${i}`;
      const port = planL4Listeners(services({ "x.yaml": svcYaml(name) }), BIND, new Map()).nodePorts.get(`default/${name}:80`)!;
      const other = seen.get(port);
      if (other) pair = [other, name];
      else seen.set(port, name);
    }
    expect(pair, "two names with the same derived nodePort").toBeDefined();
    const [existing, added] = pair!;
    // Generation 1: only `existing` (in z.yaml).
    const gen1 = planL4Listeners(services({ "z.yaml": svcYaml(existing) }), BIND, new Map());
    const port = gen1.nodePorts.get(`default/${existing}:80`)!;
    // Generation 2: `added` appears in a.yaml, sorted before z.yaml.
    const gen2 = planL4Listeners(services({ "a.yaml": svcYaml(added), "z.yaml": svcYaml(existing) }), BIND, gen1.nodePorts);
    expect(gen2.nodePorts.get(`default/${existing}:80`), `${existing} keeps ${port}`).toBe(port);
    expect(gen2.nodePorts.get(`default/${added}:80`)).not.toBe(port);
    expect(inRange(gen2.nodePorts.get(`default/${added}:80`))).toBe(true);
  });

  it("two Services with the same nodePort: node-port-conflict on the later one (by file), at its nodePort line", () => {
    const a = svcYaml("first", { nodePort: 30500 });
    const b = svcYaml("second", { nodePort: 30500 });
    // Given in reverse: "later" is file order, not input order.
    const svcs = services({ "rules/b.yaml": b, "rules/a.yaml": a });
    const plan = planL4Listeners(svcs, BIND, new Map());
    expect(plan.issues).toHaveLength(1);
    expect(plan.issues[0]).toMatchObject({
      severity: "error",
      code: "node-port-conflict",
      resource: "Service default/second",
      file: "rules/b.yaml",
      line: positionOf(b, "nodePort: 30500").line,
      field: "spec.ports[0].nodePort",
    });
    expect(plan.issues[0]!.message).toContain("default/first:80");
    expect(plan.listeners.map((l) => [l.port, l.service])).toEqual([[30500, "default/first"]]);
    expect(plan.nodePorts.has("default/second:80")).toBe(false);
  });

  it("a LoadBalancer listens at its nodePort and at loadBalancerIP:port (default: the bind address)", () => {
    const svcs = services({
      "a.yaml": docs(svcYaml("lb", { type: "LoadBalancer", nodePort: 30600, port: 5432, loadBalancerIP: "127.0.0.2" }), svcYaml("lbd", { type: "LoadBalancer", nodePort: 30601, port: 6379 })),
    });
    const plan = planL4Listeners(svcs, BIND, new Map());
    expect(plan.issues).toEqual([]);
    expect(plan.listeners.map((l) => [l.id, l.backend, l.kind])).toEqual([
      ["127.0.0.1:30600", "default/lb:5432", "LoadBalancer"],
      ["127.0.0.2:5432", "default/lb:5432", "LoadBalancer"],
      ["127.0.0.1:30601", "default/lbd:6379", "LoadBalancer"],
      ["127.0.0.1:6379", "default/lbd:6379", "LoadBalancer"],
    ]);
    expect(Object.fromEntries(plan.loadBalancers)).toEqual({ "default/lb": "127.0.0.2", "default/lbd": "127.0.0.1" });
  });

  it("two LoadBalancers at the same address and port: load-balancer-conflict on the later one", () => {
    const b = svcYaml("lb-two", { type: "LoadBalancer", nodePort: 30701, port: 5432, loadBalancerIP: "127.0.0.2" });
    const svcs = services({ "a.yaml": svcYaml("lb-one", { type: "LoadBalancer", nodePort: 30700, port: 5432, loadBalancerIP: "127.0.0.2" }), "b.yaml": b });
    const plan = planL4Listeners(svcs, BIND, new Map());
    expect(plan.issues.map((i) => [i.code, i.resource, i.file, i.line])).toEqual([["load-balancer-conflict", "Service default/lb-two", "b.yaml", positionOf(b, "port: 5432").line]]);
    expect(plan.listeners.filter((l) => l.id === "127.0.0.2:5432").map((l) => l.service)).toEqual(["default/lb-one"]);
  });

  it("a LoadBalancer port equal to another Service's nodePort on the bind address is a conflict, not two listeners with one id", () => {
    const svcs = services({ "a.yaml": svcYaml("np", { nodePort: 30800 }), "b.yaml": svcYaml("lb", { type: "LoadBalancer", nodePort: 30801, port: 30800 }) });
    const plan = planL4Listeners(svcs, BIND, new Map());
    const ids = plan.listeners.map((l) => l.id);
    expect(new Set(ids).size, `listener ids ${ids.join(", ")}`).toBe(ids.length);
    expect(plan.issues.filter((i) => i.severity === "error").map((i) => i.resource)).toEqual(["Service default/lb"]);
  });
});

// ---------------------------------------------------------------------------
// Listeners, end to end
// ---------------------------------------------------------------------------

describe("NodePort listeners carry bytes", () => {
  it("HTTP through a NodePort reaches the upstream untouched (L4, not the HTTP proxy)", async () => {
    const up = await startUpstream("web");
    defer(() => up.close());
    const np = await nodePort();
    await proxyOver({ "svc.yaml": l4ServiceYaml(svcName("web"), { nodePort: np, endpoints: [up.port] }) });
    const res = await get(`http://127.0.0.1:${np}/hello?x=1`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ name: "web", method: "GET", url: "/hello?x=1" });
    // The upstream's own Server header: no HTTP proxy in between.
    expect(res.headers.server).toBe("upstream-server");
    expect(up.received).toHaveLength(1);
  });

  it("raw TCP: bytes go both ways, in order and whole", async () => {
    const echo = await upstreamTcp(echoServer());
    const np = await nodePort();
    await proxyOver({ "svc.yaml": l4ServiceYaml(svcName("echo"), { nodePort: np, endpoints: [echo.port] }) });
    const c = await client(np);
    await exchange(c, "hello\n");
    await exchange(c, "second line\n");
    const big = randomBytes(512 * 1024);
    const before = c.reader.bytes.length;
    c.socket.write(big);
    await c.reader.until((b) => b.length >= before + big.length, "512 KiB echoed", 10_000);
    expect(sha256(c.reader.bytes.subarray(before))).toBe(sha256(big));
    expect(echo.accepted()).toBe(1);
  });

  it("two endpoints: connections alternate round-robin", async () => {
    const a = await upstreamTcp(namedEchoServer("a"));
    const b = await upstreamTcp(namedEchoServer("b"));
    const np = await nodePort();
    await proxyOver({ "svc.yaml": l4ServiceYaml(svcName("rr"), { nodePort: np, endpoints: [a.port, b.port] }) });
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push(await whoAnswersTcp(np));
    expect(seen.filter((x) => x === "a")).toHaveLength(3);
    expect(seen.filter((x) => x === "b")).toHaveLength(3);
    for (let i = 1; i < seen.length; i++) expect(seen[i], `connection ${i} after ${seen[i - 1]} (${seen.join(",")})`).not.toBe(seen[i - 1]);
  });

  it("sessionAffinity: ClientIP pins each client address to one endpoint", async () => {
    const a = await upstreamTcp(namedEchoServer("a"));
    const b = await upstreamTcp(namedEchoServer("b"));
    const np = await nodePort();
    const name = svcName("sticky");
    const { proxy } = await proxyOver({ "svc.yaml": l4ServiceYaml(name, { nodePort: np, endpoints: [a.port, b.port], affinity: true }) });
    const one: string[] = [];
    const two: string[] = [];
    for (let i = 0; i < 4; i++) {
      one.push(await whoAnswersTcp(np, "127.0.0.1", "127.0.0.1"));
      two.push(await whoAnswersTcp(np, "127.0.0.1", "127.0.0.2"));
    }
    expect(new Set(one).size, `from 127.0.0.1: ${one.join(",")}`).toBe(1);
    expect(new Set(two).size, `from 127.0.0.2: ${two.join(",")}`).toBe(1);
    // The second client is pinned on its own (round-robin gave it the other endpoint).
    expect(two[0]).not.toBe(one[0]);
    const svc = serviceOf(await config(proxy), `default/${name}:80`);
    expect(svc).toMatchObject({ sessionAffinity: "ClientIP", pinnedClients: 2, nodePort: np });
  });
});

describe("half-close", () => {
  it("the client ends its side and still receives the reply the upstream sends after seeing the end", async () => {
    const got: string[] = [];
    const up = await upstreamTcp(
      tcpServer(
        (s) => {
          let data = "";
          s.on("data", (c: Buffer) => (data += c.toString()));
          s.on("end", () => {
            got.push(data);
            s.end(`reply to ${data} after your FIN`);
          });
        },
        { allowHalfOpen: true },
      ),
    );
    const np = await nodePort();
    await proxyOver({ "svc.yaml": l4ServiceYaml(svcName("half"), { nodePort: np, endpoints: [up.port] }) });
    const c = await client(np, "127.0.0.1", { allowHalfOpen: true });
    c.socket.end("ping");
    await within(c.reader.ended, 5_000, "end from the proxy");
    expect(got).toEqual(["ping"]);
    expect(c.reader.text).toBe("reply to ping after your FIN");
  });

  it("a large reply after the client's FIN arrives whole, even to a slow reader", async () => {
    // Not a multiple of the read size: the last chunk is small, the moment a premature close would drop it.
    const size = 8 * 1024 * 1024 + 1000;
    const payload = randomBytes(size);
    const up = await upstreamTcp(
      tcpServer(
        (s) => {
          s.resume();
          s.on("end", () => s.end(payload));
        },
        { allowHalfOpen: true },
      ),
    );
    const np = await nodePort();
    await proxyOver({ "svc.yaml": l4ServiceYaml(svcName("bulk"), { nodePort: np, endpoints: [up.port] }) });
    const c = await client(np, "127.0.0.1", { allowHalfOpen: true });
    // A slow reader: at most 16 KiB per turn of the event loop, so the proxy's side backs up.
    c.socket.removeAllListeners("data");
    c.socket.pause();
    const chunks: Buffer[] = [];
    let closed = false;
    const done = new Promise<void>((res) =>
      c.socket.once("close", () => {
        closed = true;
        res();
      }),
    );
    const drip = (): void => {
      const b = c.socket.read(Math.min(16 * 1024, c.socket.readableLength)) as Buffer | null;
      if (b) chunks.push(b);
      if (!closed) setImmediate(drip);
    };
    c.socket.on("end", () => undefined);
    c.socket.end("GET");
    drip();
    await within(done, 20_000, "close of the client connection");
    const rest = c.socket.read() as Buffer | null;
    if (rest) chunks.push(rest);
    const got = Buffer.concat(chunks);
    expect(got.length).toBe(size);
    expect(sha256(got)).toBe(sha256(payload));
  });

  it("an upstream that sends 8 MiB and closes: a paused, then resumed client gets every byte, then the end", async () => {
    const payload = randomBytes(8 * 1024 * 1024);
    let sender!: Socket;
    const up = await upstreamTcp(
      tcpServer((s) => {
        sender = s;
        writeInPieces(s, payload);
        s.end();
      }),
    );
    const np = await nodePort();
    await proxyOver({ "svc.yaml": l4ServiceYaml(svcName("bigclose"), { nodePort: np, endpoints: [up.port] }) });
    const c = await client(np);
    c.socket.pause();
    // Buffers fill on every hop while the client reads nothing: at least 1 MiB has left the upstream.
    await waitFor(() => sender !== undefined && payload.length - sender.writableLength >= 1024 * 1024, "1 MiB on its way");
    c.socket.resume();
    await within(c.reader.ended, 20_000, "the end of the reply");
    expect(c.reader.bytes.length).toBe(payload.length);
    expect(sha256(c.reader.bytes)).toBe(sha256(payload));
  });

  it("the upstream ends first; a client that then sends 8 MiB and ends: a paused, then resumed upstream gets every byte, then the end", async () => {
    const body = randomBytes(8 * 1024 * 1024);
    let receiver!: Reader;
    const up = await upstreamTcp(
      tcpServer(
        (s) => {
          receiver = new Reader(s);
          s.pause();
          s.end("go ahead");
        },
        { allowHalfOpen: true },
      ),
    );
    const np = await nodePort();
    await proxyOver({ "svc.yaml": l4ServiceYaml(svcName("bigup"), { nodePort: np, endpoints: [up.port] }) });
    const c = await client(np, "127.0.0.1", { allowHalfOpen: true });
    await within(c.reader.ended, 5_000, "the upstream's end");
    writeInPieces(c.socket, body);
    c.socket.end();
    await waitFor(() => body.length - c.socket.writableLength >= 1024 * 1024, "1 MiB on its way");
    receiver.socket.resume();
    await within(receiver.ended, 20_000, "the end of the client's body at the upstream");
    expect(receiver.bytes.length).toBe(body.length);
    expect(sha256(receiver.bytes)).toBe(sha256(body));
    await within(c.reader.closed, 5_000, "close of the client connection");
  });

  it("the upstream ends its side first and still receives what the client sends afterwards", async () => {
    let resolveLate!: (s: string) => void;
    const late = new Promise<string>((r) => (resolveLate = r));
    const up = await upstreamTcp(
      tcpServer(
        (s) => {
          let data = "";
          s.on("data", (c: Buffer) => (data += c.toString()));
          s.on("end", () => resolveLate(data));
          s.end("bye from upstream");
        },
        { allowHalfOpen: true },
      ),
    );
    const np = await nodePort();
    await proxyOver({ "svc.yaml": l4ServiceYaml(svcName("halfup"), { nodePort: np, endpoints: [up.port] }) });
    const c = await client(np, "127.0.0.1", { allowHalfOpen: true });
    await within(c.reader.ended, 5_000, "end from the upstream");
    expect(c.reader.text).toBe("bye from upstream");
    c.socket.end("late words");
    expect(await within(late, 5_000, "the client's late bytes at the upstream")).toBe("late words");
  });
});

describe("connect failures", () => {
  it("a dead endpoint: the connection is retried on the other one", async () => {
    const dead = await freePort();
    const live = await upstreamTcp(namedEchoServer("live"));
    const np = await nodePort();
    // The dead endpoint is listed first: round-robin tries it first.
    await proxyOver({ "svc.yaml": l4ServiceYaml(svcName("retry"), { nodePort: np, endpoints: [dead, live.port] }) });
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) seen.push(await whoAnswersTcp(np));
    expect(seen).toEqual(["live", "live", "live", "live"]);
    expect(live.accepted()).toBe(4);
    // And the connection carries data after the retry.
    const c = await client(np);
    await exchange(c, "after retry\n");
  });

  it("an endpoint that never answers the connect: after connectTimeoutMs the other one is tried", async () => {
    const hole = await blackholeListener();
    defer(() => hole.close());
    const live = await upstreamTcp(namedEchoServer("live"));
    const np = await nodePort();
    await proxyOver({ "svc.yaml": l4ServiceYaml(svcName("slow"), { nodePort: np, endpoints: [hole.port, live.port] }) }, { connectTimeoutMs: 300 });
    const t0 = Date.now();
    expect(await whoAnswersTcp(np)).toBe("live");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  });

  it("every endpoint dead: the client connection is closed, without data, and nothing else breaks", async () => {
    const dead1 = await freePort();
    const dead2 = await freePort();
    const np = await nodePort();
    const np2 = await nodePort();
    const { proxy } = await proxyOver({
      "svc.yaml": l4ServiceYaml(svcName("dead"), { nodePort: np, endpoints: [dead1, dead2] }),
      "none.yaml": l4ServiceYaml(svcName("none"), { nodePort: np2, endpoints: [] }),
    });
    for (const port of [np, np, np2]) {
      const c = await client(port);
      c.socket.write("anyone?");
      await within(c.reader.closed, 10_000, `close of a connection to ${port}`);
      expect(c.reader.bytes.length).toBe(0);
    }
    expect((await get(`${proxy.admin}/healthz`)).status).toBe(200);
    await l4Where(proxy, (s) => s.every((l) => l.connections === 0), "no connections left");
  });
});

describe("passive health on L4", () => {
  it("a Service's only endpoint refusing connections is never ejected for good: the first connection after it is back reaches it", async () => {
    const port = await freePort();
    const np = await nodePort();
    // The defaults: max-fails 3, fail-timeout 10s.
    const { proxy } = await proxyOver({ "svc.yaml": l4ServiceYaml(svcName("restart"), { nodePort: np, endpoints: [port] }) });
    for (let i = 0; i < 5; i++) {
      const c = await client(np);
      await within(c.reader.closed, 5_000, `close of refused connection ${i}`);
    }
    const pool = proxy.runtime.current.pools.values().next().value!;
    expect(pool.isAvailable(pool.endpoints[0]!, Date.now())).toBe(false); // out by its limits, yet offered
    await upstreamTcp(namedEchoServer("back", port));
    expect(await whoAnswersTcp(np)).toBe("back");
  });
});

describe("nodePort assignment and validation", () => {
  it("a missing nodePort is assigned, shown in /api/config, served, and the same after an unrelated reload", async () => {
    const echo = await upstreamTcp(namedEchoServer("auto"));
    const name = svcName("auto");
    const { proxy, rules } = await proxyOver({ "svc.yaml": l4ServiceYaml(name, { endpoints: [echo.port] }) });
    const backend = `default/${name}:80`;
    const first = await config(proxy);
    const port = serviceOf(first, backend).nodePort;
    expect(inRange(port), `nodePort ${port}`).toBe(true);
    const listener = first.listeners.find((l) => l.backend === backend);
    expect(listener).toMatchObject({ address: "127.0.0.1", port, kind: "NodePort", service: `default/${name}` });
    if (listener!.state === "listening") expect(await whoAnswersTcp(port!)).toBe("auto");

    const reloaded = nextReload(proxy);
    await rules.write("other.yaml", serviceYaml(svcName("other"), [echo.port]));
    await within(reloaded, 5_000, "reload");
    const second = await config(proxy);
    expect(second.generation).toBeGreaterThan(first.generation);
    expect(serviceOf(second, backend).nodePort).toBe(port);
    expect(second.listeners.filter((l) => l.backend === backend).map((l) => l.port)).toEqual([port]);
  });

  it("an assigned nodePort stays with its Service when a new Service whose name derives the same port is added in an earlier file", async () => {
    const ns = `ns-${process.pid}`;
    // Two Service names in this namespace whose derived node ports collide, at a port free here.
    const derived = (name: string): number =>
      planL4Listeners(services({ "x.yaml": svcYaml(name, { namespace: ns }) }), BIND, new Map()).nodePorts.get(`${ns}/${name}:80`)!;
    const byPort = new Map<number, string>();
    let pair: [string, string, number] | undefined;
    for (let i = 0; i < 20_000 && !pair; i++) {
      const name = `coll-${i}`;
      const port = derived(name);
      const other = byPort.get(port);
      if (other && (await isFree(port)) && (await isFree(port + 1))) pair = [other, name, port];
      else if (!other) byPort.set(port, name);
    }
    expect(pair).toBeDefined();
    const [existing, added, port] = pair!;
    const oldUp = await upstreamTcp(namedEchoServer("existing"));
    const newUp = await upstreamTcp(namedEchoServer("added"));
    const withNs = (yaml: string): string => yaml.replace(/^  name: (.*)$/gm, `  name: $1\n  namespace: ${ns}`);
    const { proxy, rules } = await proxyOver({ "z.yaml": withNs(l4ServiceYaml(existing, { endpoints: [oldUp.port] })) });
    expect(serviceOf(await config(proxy), `${ns}/${existing}:80`).nodePort).toBe(port);
    expect(await whoAnswersTcp(port)).toBe("existing");
    const reloaded = nextReload(proxy);
    await rules.write("a.yaml", withNs(l4ServiceYaml(added, { endpoints: [newUp.port] })));
    await within(reloaded, 5_000, "reload");
    const doc = await config(proxy);
    expect(serviceOf(doc, `${ns}/${existing}:80`).nodePort, `${existing} keeps its nodePort`).toBe(port);
    expect(serviceOf(doc, `${ns}/${added}:80`).nodePort).not.toBe(port);
    // Clients of the existing Service still reach it at its port.
    expect(await whoAnswersTcp(port)).toBe("existing");
  });

  it("an explicit nodePort out of range is a validation error at its file:line, and opens nothing", async () => {
    const low = l4ServiceYaml(svcName("low"), { nodePort: 29999, endpoints: [1] });
    const high = l4ServiceYaml(svcName("high"), { nodePort: 32768, endpoints: [1] });
    const { proxy, rules } = await proxyOver({ "low.yaml": low, "high.yaml": high });
    const doc = await config(proxy);
    const bad = doc.errors.filter((e) => e.code === "invalid-node-port");
    expect(bad.map((e) => [e.file, e.line, e.field]).sort()).toEqual(
      [
        [join(rules.dir, "high.yaml"), positionOf(high, "nodePort: 32768").line, "spec.ports[0].nodePort"],
        [join(rules.dir, "low.yaml"), positionOf(low, "nodePort: 29999").line, "spec.ports[0].nodePort"],
      ].sort(),
    );
    expect(doc.listeners).toEqual([]);
    expect(await dialOutcome(29999)).not.toBe("connected");
  });

  it("two Services with the same nodePort: node-port-conflict on the later, the first one is served", async () => {
    const a = await upstreamTcp(namedEchoServer("first"));
    const b = await upstreamTcp(namedEchoServer("second"));
    const np = await nodePort();
    const first = svcName("first");
    const second = svcName("second");
    const bText = l4ServiceYaml(second, { nodePort: np, endpoints: [b.port] });
    const { proxy, rules } = await proxyOver({ "a.yaml": l4ServiceYaml(first, { nodePort: np, endpoints: [a.port] }), "b.yaml": bText });
    const doc = await config(proxy);
    const conflicts = doc.errors.filter((e) => e.code === "node-port-conflict");
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toMatchObject({ resource: `Service default/${second}`, file: join(rules.dir, "b.yaml"), line: positionOf(bText, `nodePort: ${np}`).line });
    expect(doc.listeners.filter((l) => l.port === np).map((l) => l.service)).toEqual([`default/${first}`]);
    expect(await whoAnswersTcp(np)).toBe("first");
  });
});

describe("LoadBalancer", () => {
  it("listens at loadBalancerIP:port and at its nodePort; status.loadBalancer.ingress[0].ip in /api/config", async () => {
    const db = await upstreamTcp(namedEchoServer("db"));
    const np = await nodePort();
    const port = await freePortOn("127.0.0.2");
    const name = svcName("db");
    const { proxy } = await proxyOver({ "db.yaml": l4ServiceYaml(name, { type: "LoadBalancer", loadBalancerIP: "127.0.0.2", port, nodePort: np, endpoints: [db.port] }) });
    expect(await whoAnswersTcp(port, "127.0.0.2")).toBe("db");
    expect(await whoAnswersTcp(np, "127.0.0.1")).toBe("db");
    const c = await client(port, "127.0.0.2");
    await c.reader.contains("db\n");
    await exchange(c, "SELECT 1;\n");
    const doc = await config(proxy);
    const svc = serviceOf(doc, `default/${name}:${port}`);
    expect(svc.type).toBe("LoadBalancer");
    expect(svc.nodePort).toBe(np);
    expect(svc.status?.loadBalancer.ingress[0]?.ip).toBe("127.0.0.2");
    expect(doc.listeners.map((l) => [l.address, l.port, l.kind, l.state]).sort()).toEqual(
      [
        ["127.0.0.1", np, "LoadBalancer", "listening"],
        ["127.0.0.2", port, "LoadBalancer", "listening"],
      ].sort(),
    );
  });

  it("without loadBalancerIP, listens on the bind address at port and reports it", async () => {
    const db = await upstreamTcp(namedEchoServer("plain"));
    const np = await nodePort();
    const port = await freePortOn("127.0.0.1");
    const name = svcName("plainlb");
    const { proxy } = await proxyOver({ "lb.yaml": l4ServiceYaml(name, { type: "LoadBalancer", port, nodePort: np, endpoints: [db.port] }) });
    expect(await whoAnswersTcp(port)).toBe("plain");
    const svc = serviceOf(await config(proxy), `default/${name}:${port}`);
    expect(svc.status?.loadBalancer.ingress).toEqual([{ ip: "127.0.0.1" }]);
  });
});

describe("reload reconciles the listeners", () => {
  it("adding a NodePort Service opens its listener", async () => {
    const echo = await upstreamTcp(namedEchoServer("added"));
    const np = await nodePort();
    const { proxy, rules } = await proxyOver({ "base.yaml": serviceYaml(svcName("base"), [echo.port]) });
    expect(await dialOutcome(np)).toBe("ECONNREFUSED");
    const reloaded = nextReload(proxy, (s) => s.l4.listeners.some((l) => l.port === np));
    await rules.write("added.yaml", l4ServiceYaml(svcName("added"), { nodePort: np, endpoints: [echo.port] }));
    await within(reloaded, 5_000, "reload with the new Service");
    await opens(np);
    expect(await whoAnswersTcp(np)).toBe("added");
    expect((await config(proxy)).listeners.find((l) => l.port === np)?.state).toBe("listening");
  });

  it("removing it stops new connections while an established one keeps working until it ends", async () => {
    let upstreamEnded!: () => void;
    const ended = new Promise<void>((r) => (upstreamEnded = r));
    const echo = await upstreamTcp(
      tcpServer((s) => {
        s.write("hi\n");
        s.pipe(s);
        s.on("end", () => upstreamEnded());
      }),
    );
    const np = await nodePort();
    const { proxy, rules } = await proxyOver({ "gone.yaml": l4ServiceYaml(svcName("gone"), { nodePort: np, endpoints: [echo.port] }), "keep.yaml": serviceYaml(svcName("keep"), [echo.port]) });
    const c = await client(np);
    await c.reader.contains("hi\n");
    await exchange(c, "before reload\n");

    const reloaded = nextReload(proxy, (s) => !s.l4.listeners.some((l) => l.port === np));
    await unlink(join(rules.dir, "gone.yaml"));
    await within(reloaded, 5_000, "reload without the Service");
    await l4Where(proxy, (s) => !s.some((l) => l.port === np && l.state === "listening"), "the listener to stop listening");
    expect(await dialOutcome(np)).toBe("ECONNREFUSED");
    expect(proxy.l4.status().filter((l) => l.port === np).map((l) => [l.state, l.connections])).toEqual([["draining", 1]]);
    expect((await config(proxy)).listeners.filter((l) => l.port === np).map((l) => l.state)).toEqual(["draining"]);

    // The established connection still carries data both ways, after the reload.
    await exchange(c, "after reload\n");
    await exchange(c, "and again\n");
    c.socket.end();
    await within(ended, 5_000, "the upstream to see the client's end");
    await within(c.reader.closed, 5_000, "close of the client connection");
    await l4Where(proxy, (s) => !s.some((l) => l.port === np), "the drained listener to go away");
  });

  it("a removed listener's connections are cut after l4DrainMs", async () => {
    const echo = await upstreamTcp(echoServer());
    const np = await nodePort();
    const { proxy, rules } = await proxyOver({ "gone.yaml": l4ServiceYaml(svcName("cut"), { nodePort: np, endpoints: [echo.port] }) }, { l4DrainMs: 300 });
    const c = await client(np);
    await exchange(c, "x");
    const reloaded = nextReload(proxy);
    const t0 = Date.now();
    await unlink(join(rules.dir, "gone.yaml"));
    await within(reloaded, 5_000, "reload");
    await exchange(c, "still here");
    await within(c.reader.closed, 5_000, "the drain deadline to close the connection");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    await l4Where(proxy, (s) => s.length === 0, "no listeners left");
  });

  it("changing the type from NodePort to ClusterIP closes the listener and drops services[].nodePort", async () => {
    const echo = await upstreamTcp(namedEchoServer("typed"));
    const np = await nodePort();
    const name = svcName("typed");
    const { proxy, rules } = await proxyOver({ "svc.yaml": l4ServiceYaml(name, { nodePort: np, endpoints: [echo.port] }) });
    expect(await whoAnswersTcp(np)).toBe("typed");
    const reloaded = nextReload(proxy);
    await rules.write("svc.yaml", l4ServiceYaml(name, { type: "ClusterIP", endpoints: [echo.port] }));
    await within(reloaded, 5_000, "reload");
    await refuses(np);
    const doc = await config(proxy);
    const svc = serviceOf(doc, `default/${name}:80`);
    expect(svc.type).toBe("ClusterIP");
    expect(svc.nodePort).toBeUndefined();
    await l4Where(proxy, (s) => s.length === 0, "no listeners");
  });

  it("changing the nodePort moves the listener", async () => {
    const echo = await upstreamTcp(namedEchoServer("mover"));
    const p1 = await nodePort();
    const p2 = await nodePort();
    const name = svcName("mover");
    const { proxy, rules } = await proxyOver({ "svc.yaml": l4ServiceYaml(name, { nodePort: p1, endpoints: [echo.port] }) });
    expect(await whoAnswersTcp(p1)).toBe("mover");
    const reloaded = nextReload(proxy, (s) => s.l4.listeners.some((l) => l.port === p2));
    await rules.write("svc.yaml", l4ServiceYaml(name, { nodePort: p2, endpoints: [echo.port] }));
    await within(reloaded, 5_000, "reload with the new nodePort");
    await opens(p2);
    expect(await whoAnswersTcp(p2)).toBe("mover");
    await refuses(p1);
    const doc = await config(proxy);
    expect(serviceOf(doc, `default/${name}:80`).nodePort).toBe(p2);
    expect(doc.listeners.map((l) => l.port)).toEqual([p2]);
  });
});

describe("a port that cannot be bound", () => {
  it("is a listen-failed error in /api/config and the logs; the rest keeps working; freeing it + a reload opens it", async () => {
    const busyUp = await upstreamTcp(namedEchoServer("busy"));
    const okUp = await upstreamTcp(namedEchoServer("ok"));
    const web = await startUpstream("web");
    defer(() => web.close());
    const busy = await nodePort();
    const ok = await nodePort();
    const squatter = await occupy(busy);
    let squatting = true;
    defer(() => (squatting ? new Promise<void>((r) => squatter.close(() => r())) : undefined));
    const busyName = svcName("busy");
    const { logger, lines } = memoryLogger();
    const { proxy, rules } = await proxyOver(
      {
        "busy.yaml": l4ServiceYaml(busyName, { nodePort: busy, endpoints: [busyUp.port] }),
        "ok.yaml": l4ServiceYaml(svcName("ok"), { nodePort: ok, endpoints: [okUp.port] }),
        "web.yaml": docs(serviceYaml("web", [web.port]), ingressYaml("web", "web.localhost", [{ path: "/", service: "web" }])),
      },
      { logger },
    );

    const doc = await config(proxy);
    const failed = doc.errors.filter((e) => e.code === "listen-failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]!.resource).toBe(`Service default/${busyName}`);
    expect(failed[0]!.message).toContain(String(busy));
    expect(doc.listeners.find((l) => l.port === busy)).toMatchObject({ state: "error", service: `default/${busyName}` });
    expect(doc.listeners.find((l) => l.port === ok)?.state).toBe("listening");
    const said = (): Record<string, unknown>[] => lines.filter((l) => l.level === 50 && String(l.msg).includes(`default/${busyName}`));
    expect(said()).toHaveLength(1);
    // Named where the port is written, in the log line and in /api/config.
    const written = { file: join(rules.dir, "busy.yaml"), field: "spec.ports[0].nodePort" };
    expect(failed[0]).toMatchObject({ ...written, line: expect.any(Number) });
    expect(said()[0]).toMatchObject({ ...written, line: failed[0]!.line });
    expect(String(said()[0]!.msg)).toContain(`busy.yaml:${failed[0]!.line}:`);
    // Tried again on every reload, in case the port was freed, but said once while it stays the same.
    const retried = nextReload(proxy);
    await rules.write("unrelated-first.yaml", serviceYaml(svcName("unrelated"), [web.port]));
    await within(retried, 5_000, "reload");
    await waitFor(() => proxy.notReady() === undefined, "the L4 plan of the reload to be applied");
    expect((await config(proxy)).listeners.find((l) => l.port === busy)?.state).toBe("error");
    expect(said()).toHaveLength(1);

    // The other listener and the HTTP proxy still work.
    expect(await whoAnswersTcp(ok)).toBe("ok");
    const res = await get(`${proxy.url}/`, { host: "web.localhost" });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ name: "web" });

    // Free the port; the next reload opens it.
    await new Promise<void>((r) => squatter.close(() => r()));
    squatting = false;
    const reloaded = nextReload(proxy);
    await rules.write("unrelated.yaml", serviceYaml(svcName("unrelated2"), [web.port]));
    await within(reloaded, 5_000, "reload");
    await l4Where(proxy, (s) => s.some((l) => l.port === busy && l.state === "listening"), "the freed port to be listening");
    await opens(busy);
    expect(await whoAnswersTcp(busy)).toBe("busy");
    const after = await config(proxy);
    expect(after.errors.filter((e) => e.code === "listen-failed")).toEqual([]);
    expect(after.listeners.filter((l) => l.port === busy).map((l) => l.state)).toEqual(["listening"]);
    expect(await whoAnswersTcp(ok)).toBe("ok");
  });

  it("a LoadBalancer address in use fails alone: its nodePort still serves", async () => {
    const up = await upstreamTcp(namedEchoServer("half-open"));
    const np = await nodePort();
    const port = await freePortOn("127.0.0.2");
    const squatter = await occupy(port, "127.0.0.2");
    defer(() => new Promise<void>((r) => squatter.close(() => r())));
    const name = svcName("lbbusy");
    const { proxy } = await proxyOver({ "lb.yaml": l4ServiceYaml(name, { type: "LoadBalancer", loadBalancerIP: "127.0.0.2", port, nodePort: np, endpoints: [up.port] }) });
    const doc = await config(proxy);
    expect(doc.errors.filter((e) => e.code === "listen-failed").map((e) => e.resource)).toEqual([`Service default/${name}`]);
    expect(doc.listeners.map((l) => [l.address, l.port, l.state]).sort()).toEqual(
      [
        ["127.0.0.1", np, "listening"],
        ["127.0.0.2", port, "error"],
      ].sort(),
    );
    expect(await whoAnswersTcp(np)).toBe("half-open");
  });
});


describe("more listener behaviour", () => {
  it("a multi-port NodePort Service: each port's listener goes to that port's endpoints", async () => {
    const http = await upstreamTcp(namedEchoServer("http-port"));
    const metrics = await upstreamTcp(namedEchoServer("metrics-port"));
    const n1 = await nodePort();
    const n2 = await nodePort();
    const name = svcName("multi");
    const { proxy } = await proxyOver({
      "multi.yaml": `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  type: NodePort
  ports:
    - name: http
      port: 80
      nodePort: ${n1}
    - name: metrics
      port: 9000
      nodePort: ${n2}
---
apiVersion: v1
kind: Endpoints
metadata:
  name: ${name}
subsets:
  - addresses: [{ ip: 127.0.0.1 }]
    ports:
      - { name: http, port: ${http.port} }
      - { name: metrics, port: ${metrics.port} }
`,
    });
    expect(await whoAnswersTcp(n1)).toBe("http-port");
    expect(await whoAnswersTcp(n2)).toBe("metrics-port");
    const doc = await config(proxy);
    expect(serviceOf(doc, `default/${name}:80`).nodePort).toBe(n1);
    expect(serviceOf(doc, `default/${name}:9000`).nodePort).toBe(n2);
    expect(doc.listeners.map((l) => [l.port, l.backend]).sort()).toEqual(
      [
        [n1, `default/${name}:80`],
        [n2, `default/${name}:9000`],
      ].sort(),
    );
  });

  it("an endpoint leaving the Service: its open connections are closed, those to endpoints that stay keep going, new ones go to the current endpoints", async () => {
    const leaving = await upstreamTcp(namedEchoServer("leaving"));
    const staying = await upstreamTcp(namedEchoServer("staying"));
    const joining = await upstreamTcp(namedEchoServer("joining"));
    const np = await nodePort();
    const name = svcName("swap");
    const { proxy, rules } = await proxyOver({ "svc.yaml": l4ServiceYaml(name, { nodePort: np, endpoints: [leaving.port, staying.port] }) });
    // Round robin: two connections, one on each endpoint.
    const first = await client(np);
    const second = await client(np);
    const firstName = (await first.reader.contains("\n")).trim();
    const onLeaving = firstName === "leaving" ? first : second;
    const onStaying = firstName === "leaving" ? second : first;
    await onStaying.reader.contains("staying\n");
    await onLeaving.reader.contains("leaving\n");

    const reloaded = nextReload(proxy);
    await rules.write("svc.yaml", l4ServiceYaml(name, { nodePort: np, endpoints: [staying.port, joining.port] }));
    await within(reloaded, 5_000, "reload");
    await within(onLeaving.reader.closed, 5_000, "close of the connection to the endpoint that left");
    expect(leaving.sockets.size).toBe(0);
    await exchange(onStaying, "still here\n");
    expect(proxy.l4.status().filter((l) => l.port === np).map((l) => [l.state, l.connections])).toEqual([["listening", 1]]);
    const seen = new Set([await whoAnswersTcp(np), await whoAnswersTcp(np)]);
    expect(seen).toEqual(new Set(["staying", "joining"]));
  });

  it("an unrelated reload keeps idle NodePort and LoadBalancer connections: each still carries bytes both ways", async () => {
    const echo = await upstreamTcp(echoServer());
    const other = await upstreamTcp(echoServer());
    const np = await nodePort();
    const lbNodePort = await nodePort();
    const lbPort = await freePortOn("127.0.0.1");
    const { proxy, rules } = await proxyOver({
      "np.yaml": l4ServiceYaml(svcName("idle"), { nodePort: np, endpoints: [echo.port] }),
      "lb.yaml": l4ServiceYaml(svcName("idlelb"), { type: "LoadBalancer", port: lbPort, nodePort: lbNodePort, endpoints: [echo.port] }),
    });
    const viaNodePort = await client(np);
    const viaLoadBalancer = await client(lbPort);
    await exchange(viaNodePort, "before\n");
    await exchange(viaLoadBalancer, "before\n");
    for (const [i, text] of [serviceYaml(svcName("unrelated"), [other.port]), l4ServiceYaml(svcName("unrelatednp"), { endpoints: [other.port] })].entries()) {
      const generation = proxy.runtime.current.generation;
      const reloaded = nextReload(proxy, (s) => s.generation > generation);
      await rules.write(`unrelated-${i}.yaml`, text);
      await within(reloaded, 5_000, "reload after an unrelated file");
      await proxy.l4.reconcile(proxy.runtime.current.l4.listeners); // the reload's own reconcile is queued before this one
      await exchange(viaNodePort, `after reload ${i}\n`);
      await exchange(viaLoadBalancer, `after reload ${i}\n`);
    }
    expect(echo.sockets.size).toBe(2);
  });

  it("changing loadBalancerIP moves the LoadBalancer listener and its reported address", async () => {
    const up = await upstreamTcp(namedEchoServer("lb"));
    const np = await nodePort();
    let port = await freePortOn("127.0.0.2");
    for (let i = 0; i < 20 && !(await isFree(port, "127.0.0.3")); i++) port = await freePortOn("127.0.0.2");
    const name = svcName("lbmove");
    const { proxy, rules } = await proxyOver({ "lb.yaml": l4ServiceYaml(name, { type: "LoadBalancer", loadBalancerIP: "127.0.0.2", port, nodePort: np, endpoints: [up.port] }) });
    expect(await whoAnswersTcp(port, "127.0.0.2")).toBe("lb");
    const reloaded = nextReload(proxy);
    await rules.write("lb.yaml", l4ServiceYaml(name, { type: "LoadBalancer", loadBalancerIP: "127.0.0.3", port, nodePort: np, endpoints: [up.port] }));
    await within(reloaded, 5_000, "reload");
    await opens(port, "127.0.0.3");
    expect(await whoAnswersTcp(port, "127.0.0.3")).toBe("lb");
    await refuses(port, "127.0.0.2");
    expect(await whoAnswersTcp(np)).toBe("lb");
    const svc = serviceOf(await config(proxy), `default/${name}:${port}`);
    expect(svc.status?.loadBalancer.ingress).toEqual([{ ip: "127.0.0.3" }]);
  });

  it("shutdown closes the listeners and cuts open L4 connections after the grace period", async () => {
    const echo = await upstreamTcp(echoServer());
    const np = await nodePort();
    const rules = await rulesDir();
    defer(() => rules.cleanup());
    await rules.write("svc.yaml", l4ServiceYaml(svcName("bye"), { nodePort: np, endpoints: [echo.port] }));
    const proxy = await startProxy([rules.dir], { shutdownGraceMs: 300 });
    let closed = false;
    defer(() => (closed ? undefined : proxy.close()));
    const c = await client(np);
    await exchange(c, "hello");
    const t0 = Date.now();
    const closing = proxy.close().then(() => (closed = true));
    await refuses(np);
    await within(c.reader.closed, 5_000, "the grace period to cut the connection");
    await within(closing, 5_000, "close() to resolve");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  });
});
