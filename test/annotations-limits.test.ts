import { writeFile } from "node:fs/promises";
import { request, type IncomingMessage, type ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { parseRulesFile } from "../src/config/parse.js";
import { validateDocuments } from "../src/config/validate.js";
import { formatIssue } from "../src/model/issues.js";
import { parseSize } from "../src/config/nginx/limits.js";
import { bucketRate, drained, excessWith } from "../src/proxy/leakyBucket.js";
import { LimitZone, MAX_CLIENTS_PER_ZONE } from "../src/proxy/limitZone.js";
import { get, ingressYaml, nextReload, rulesDir, serviceYaml, startProxy, startUpstream, type Upstream } from "./helpers.js";
import { blackholeListener, inspect, readOutcome, start, waitFor, within, type Proxy, type Seen } from "./proxyHelpers.js";
import { holdingUpstream, openWs, positionOf, roundTrip, wsEchoUpstream } from "./reloadHelpers.js";

const P = "nginx.ingress.kubernetes.io/";

// ---------------------------------------------------------------------------
// Fixtures: everything a test starts is closed after it, last first.
// ---------------------------------------------------------------------------

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function upstream(handler: Parameters<typeof startUpstream>[0]): Promise<Upstream> {
  const up = await startUpstream(handler);
  cleanups.push(() => up.close());
  return up;
}

/** An Ingress `name` for `host` → Service `service`, with these nginx annotations (short names). */
function annotatedIngress(name: string, host: string, service: string, annotations: Record<string, string>, paths = ["/"]): string {
  return ingressYaml(name, host, paths.map((path) => ({ path, service })), annotations);
}

/** ingressd over a Service `web` on `ports` and an Ingress for `host` with these annotations. */
async function proxyFor(ports: number[], annotations: Record<string, string>, extra: Parameters<typeof startProxy>[1] = {}, paths?: string[]): Promise<Proxy & { ingPath: string; ingress: string }> {
  const rules = await rulesDir();
  cleanups.push(() => rules.cleanup());
  await rules.write("svc.yaml", serviceYaml("web", ports));
  const ingress = uniqueName();
  const ingPath = await rules.write("ing.yaml", annotatedIngress(ingress, HOST, "web", annotations, paths));
  const proxy = await startProxy([rules.dir], { shutdownGraceMs: 200, ...extra });
  cleanups.push(() => proxy.close());
  return Object.assign(proxy, { ingPath, ingress });
}

/**
 * Rate-limit buckets live as long as some route of their Ingress (per process, by
 * namespace/name and limits, as ingress-nginx's zones): each test names its Ingress anew.
 */
let ingresses = 0;
function uniqueName(): string {
  return `web-${process.pid}-${++ingresses}`;
}

const HOST = "limits.localhost";

/**
 * A request whose body may be refused while it is still being sent: resolves with the
 * response once it has been read, whatever happened to the upload (nginx and Node both
 * close a connection whose body they did not read; the client's writes then fail).
 */
function upload(url: string, body: { length: number; chunked?: boolean; path?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: HOST };
    if (body.chunked) headers["transfer-encoding"] = "chunked";
    else headers["content-length"] = String(body.length);
    const req = request(`${url}${body.path ?? "/"}`, { method: "POST", headers, agent: false });
    let uploadError: Error | undefined;
    let answered = false;
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        answered = true;
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() });
      });
      res.on("error", () => undefined);
    });
    req.on("error", (e) => (uploadError = e));
    req.on("close", () => {
      if (!answered) setImmediate(() => !answered && reject(uploadError ?? new Error("closed without a response")));
    });
    const piece = Buffer.alloc(16 * 1024, 0x61);
    let left = body.length;
    const pump = (): void => {
      while (left > 0 && !req.destroyed) {
        const n = Math.min(left, piece.length);
        left -= n;
        if (!req.write(n === piece.length ? piece : piece.subarray(0, n))) {
          req.once("drain", pump);
          return;
        }
      }
      if (!req.destroyed) req.end();
    };
    pump();
  });
}

/** An upstream recording each request: how many body bytes it got, and whether it came whole. */
async function recordingUpstream(): Promise<Upstream & { done: Promise<{ bytes: number; complete: boolean }>[] }> {
  const done: Promise<{ bytes: number; complete: boolean }>[] = [];
  const up = await upstream((req: IncomingMessage, res: ServerResponse) => {
    let bytes = 0;
    done.push(
      new Promise((resolve) => {
        req.on("data", (c: Buffer) => (bytes += c.length));
        req.on("end", () => res.end(JSON.stringify({ bytes })));
        req.on("close", () => resolve({ bytes, complete: req.complete }));
      }),
    );
  });
  return Object.assign(up, { done });
}

// ---------------------------------------------------------------------------

describe("Custom max body size (ingress-nginx annotations.md § Custom max body size)", () => {
  it("proxy-body-size: 1k is 1024 bytes: a Content-Length of 1025 gets 413 and the upstream never sees the request; 1024 is forwarded", async () => {
    const up = await upstream(inspect("web"));
    const proxy = await proxyFor([up.port], { "proxy-body-size": "1k" });

    const refused = await upload(proxy.url, { length: 1025 });
    expect(refused.status).toBe(413);
    expect(refused.body).toContain("proxy-body-size");
    expect(up.received).toHaveLength(0);

    const passed = await upload(proxy.url, { length: 1024 });
    expect(passed.status).toBe(200);
    expect((JSON.parse(passed.body) as Seen).bytes).toBe(1024);
  });

  it("proxy-body-size: 8m: 8 MiB + 1 byte gets 413 before anything is forwarded; 8 MiB passes", async () => {
    const up = await upstream(inspect("web"));
    const proxy = await proxyFor([up.port], { "proxy-body-size": "8m" });
    expect((await upload(proxy.url, { length: 8 * 1024 * 1024 + 1 })).status).toBe(413);
    expect(up.received).toHaveLength(0);
    const passed = await upload(proxy.url, { length: 8 * 1024 * 1024 });
    expect(passed.status).toBe(200);
    expect((JSON.parse(passed.body) as Seen).bytes).toBe(8 * 1024 * 1024);
  });

  it("a chunked body passing the limit: the upstream request is aborted, with no more than the limit sent, and the client gets 413", async () => {
    const up = await recordingUpstream();
    const proxy = await proxyFor([up.port], { "proxy-body-size": "64k" });
    const refused = await upload(proxy.url, { length: 1024 * 1024, chunked: true });
    expect(refused.status).toBe(413);
    expect(up.done).toHaveLength(1);
    const seen = await within(up.done[0]!, 5_000, "the upstream request's end");
    expect(seen.complete).toBe(false);
    expect(seen.bytes).toBeLessThanOrEqual(64 * 1024);
  });

  it("a chunked body within the limit is forwarded whole", async () => {
    const up = await recordingUpstream();
    const proxy = await proxyFor([up.port], { "proxy-body-size": "64k" });
    const passed = await upload(proxy.url, { length: 64 * 1024, chunked: true });
    expect(passed.status).toBe(200);
    expect(JSON.parse(passed.body)).toEqual({ bytes: 64 * 1024 });
  });

  it("a chunked body passing the limit after the response started: the client's connection is cut", async () => {
    let upstreamReq: IncomingMessage | undefined;
    const up = await upstream((req, res) => {
      upstreamReq = req;
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("started\n");
      req.resume();
    });
    const proxy = await proxyFor([up.port], { "proxy-body-size": "16k" });
    const { req, response } = start(`${proxy.url}/`, { method: "POST", headers: { host: HOST, "transfer-encoding": "chunked" } });
    req.on("error", () => undefined);
    req.write(Buffer.alloc(1024));
    const res = await within(response, 5_000, "the response head");
    expect(res.statusCode).toBe(200);
    const outcome = readOutcome(res);
    for (let i = 0; i < 32 && !req.destroyed; i++) req.write(Buffer.alloc(1024));
    const { complete, body } = await within(outcome, 5_000, "the cut");
    expect(complete).toBe(false);
    expect(body.toString()).toBe("started\n");
    await waitFor(() => upstreamReq?.destroyed === true, "the upstream request's abort");
  });

  it('proxy-body-size: "0" is unlimited', async () => {
    const up = await upstream(inspect("web"));
    const proxy = await proxyFor([up.port], { "proxy-body-size": "0" });
    const passed = await upload(proxy.url, { length: 3 * 1024 * 1024 });
    expect(passed.status).toBe(200);
    expect((JSON.parse(passed.body) as Seen).bytes).toBe(3 * 1024 * 1024);
    expect(proxy.runtime.current.routes.lookup(HOST, "/")?.filters).toEqual([]);
  });
});

describe("Custom timeouts (ingress-nginx annotations.md § Custom timeouts)", () => {
  it('proxy-read-timeout: "1": an upstream that never answers gets 504 (the default would wait 60 s)', async () => {
    const up = await upstream((req) => req.resume());
    const proxy = await proxyFor([up.port], { "proxy-read-timeout": "1" });
    const res = await within(get(`${proxy.url}/`, { host: HOST }), 10_000, "the answer");
    expect(res.status).toBe(504);
    expect(res.body).toContain("read timeout");
  });

  it('proxy-read-timeout: "1": a response body that stalls is cut', async () => {
    const up = await upstream((req, res) => {
      req.resume();
      res.writeHead(200, { "content-length": "100" });
      res.write("part of it");
    });
    const proxy = await proxyFor([up.port], { "proxy-read-timeout": "1" });
    const { response } = start(`${proxy.url}/`, { headers: { host: HOST }, body: "" });
    const res = await within(response, 5_000, "the response head");
    expect(res.statusCode).toBe(200);
    const outcome = await within(readOutcome(res), 10_000, "the cut");
    expect(outcome.complete).toBe(false);
    expect(outcome.body.toString()).toBe("part of it");
  });

  it('proxy-send-timeout: "1": an upstream that stops taking the request body gets the request stopped, the client 504', async () => {
    let upstreamReq: IncomingMessage | undefined;
    const up = await upstream((req) => {
      upstreamReq = req;
      req.pause(); // takes none of the body, never answers
    });
    const proxy = await proxyFor([up.port], { "proxy-send-timeout": "1" });
    // 256 MiB: far more than the socket buffers between client, ingressd and upstream hold.
    const res = await within(upload(proxy.url, { length: 256 * 1024 * 1024, chunked: true }), 20_000, "the answer");
    expect(res.status).toBe(504);
    expect(res.body).toContain("send timeout");
    // A paused socket notices no close: read again, and the request ends cut short.
    const closed = new Promise<boolean>((resolve) => upstreamReq!.once("close", () => resolve(upstreamReq!.complete)));
    upstreamReq!.resume();
    expect(await within(closed, 5_000, "the upstream request's abort")).toBe(false);
  });

  it('proxy-connect-timeout: "1": an endpoint that never completes the TCP handshake gets 504 though the pool would wait 6 s', async () => {
    // A listener with a full accept queue drops further SYNs: the connect hangs.
    const hole = await blackholeListener();
    cleanups.push(() => hole.close());
    const proxy = await proxyFor([hole.port], { "proxy-connect-timeout": "1" }, { connectTimeoutMs: 6_000 });
    const res = await within(get(`${proxy.url}/`, { host: HOST }), 4_500, "the answer");
    expect(res.status).toBe(504);
    expect(res.body).toContain("connect timeout");
  });

  it('proxy-read-timeout: "1" on a WebSocket: an upstream that never answers the handshake gets 504', async () => {
    const up = await upstream((req) => req.resume());
    const proxy = await proxyFor([up.port], { "proxy-read-timeout": "1" });
    await expect(within(openWs(proxy.url, HOST), 10_000, "the answer")).rejects.toThrow("upgrade refused: 504");
  });

  it('proxy-read-timeout: "1" on a WebSocket: the tunnel is closed after a second without traffic, as nginx does', async () => {
    const ws = await wsEchoUpstream();
    cleanups.push(() => ws.close());
    const proxy = await proxyFor([ws.port], { "proxy-read-timeout": "1" });
    const socket = await openWs(proxy.url, HOST);
    const closed = new Promise((r) => socket.once("close", r));
    expect(await roundTrip(socket, "hello")).toBe("hello");
    await within(closed, 10_000, "the idle tunnel's close");
  });

  it("the timeouts are on the route, in milliseconds", async () => {
    const up = await upstream("web");
    const proxy = await proxyFor([up.port], { "proxy-connect-timeout": "2", "proxy-send-timeout": "30", "proxy-read-timeout": "120" });
    expect(proxy.runtime.current.routes.lookup(HOST, "/")?.filters).toEqual([{ type: "timeouts", connectMs: 2000, sendMs: 30_000, readMs: 120_000 }]);
  });
});

describe("Rate Limiting (ingress-nginx annotations.md § Rate Limiting)", () => {
  /** Sends `n` requests at once from `localAddress`; the statuses in order of sending. */
  async function burst(proxy: Proxy, n: number, path = "/", localAddress = "127.0.0.1"): Promise<number[]> {
    const one = (): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = request(`${proxy.url}${path}`, { headers: { host: HOST }, agent: false, localAddress }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        });
        req.on("error", reject);
        req.end();
      });
    return Promise.all(Array.from({ length: n }, one));
  }
  const count = (statuses: number[], status: number): number => statuses.filter((s) => s === status).length;

  it('limit-rps: "1": a burst of 1 + 5 (the default limit-burst-multiplier) passes at once, the rest get 503', async () => {
    const up = await upstream("web");
    const proxy = await proxyFor([up.port], { "limit-rps": "1" });
    const t0 = performance.now();
    const statuses = await burst(proxy, 10);
    const elapsedSeconds = (performance.now() - t0) / 1000;
    // One more request fits for each second the burst took to arrive (the bucket drains 1/s).
    expect(count(statuses, 200)).toBeGreaterThanOrEqual(6);
    expect(count(statuses, 200)).toBeLessThanOrEqual(6 + Math.floor(elapsedSeconds));
    expect(count(statuses, 503)).toBe(10 - count(statuses, 200));
    // Refused requests are not counted: once a second has passed, one more gets through.
    await waitFor(async () => (await get(`${proxy.url}/`, { host: HOST })).status === 200, "the bucket to drain", 5_000, 100);
  });

  it('limit-rpm: "2", limit-burst-multiplier: "1": 3 requests pass, the 4th gets 503 with ingressd\'s body', async () => {
    const up = await upstream("web");
    const proxy = await proxyFor([up.port], { "limit-rpm": "2", "limit-burst-multiplier": "1" });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await get(`${proxy.url}/`, { host: HOST })).status);
    expect(statuses).toEqual([200, 200, 200, 503]);
    const refused = await get(`${proxy.url}/`, { host: HOST });
    expect(refused.status).toBe(503);
    expect(refused.body).toContain("limit-rpm");
    expect(up.received).toHaveLength(3);
  });

  it("the paths of one Ingress share its buckets; another Ingress has its own", async () => {
    const up = await upstream("web");
    const rules = await rulesDir();
    cleanups.push(() => rules.cleanup());
    await rules.write("svc.yaml", serviceYaml("web", [up.port]));
    await rules.write("ing.yaml", annotatedIngress(uniqueName(), HOST, "web", { "limit-rpm": "1", "limit-burst-multiplier": "1" }, ["/a", "/b"]));
    await rules.write("other.yaml", annotatedIngress(uniqueName(), "other.localhost", "web", { "limit-rpm": "1", "limit-burst-multiplier": "1" }));
    const proxy = await startProxy([rules.dir]);
    cleanups.push(() => proxy.close());
    expect((await get(`${proxy.url}/a`, { host: HOST })).status).toBe(200);
    expect((await get(`${proxy.url}/b`, { host: HOST })).status).toBe(200);
    expect((await get(`${proxy.url}/a`, { host: HOST })).status).toBe(503);
    expect((await get(`${proxy.url}/`, { host: "other.localhost" })).status).toBe(200);
  });

  it('limit-connections: "1": a second request while the first is in flight gets 503; once it is done the slot is free', async () => {
    const up = await holdingUpstream("web");
    cleanups.push(() => up.close());
    const proxy = await proxyFor([up.port], { "limit-connections": "1" });
    const first = get(`${proxy.url}/`, { host: HOST });
    await up.arrived;
    const second = await get(`${proxy.url}/`, { host: HOST });
    expect(second.status).toBe(503);
    expect(second.body).toContain("limit-connections");
    up.release();
    expect((await first).status).toBe(200);
    await waitFor(async () => (await get(`${proxy.url}/`, { host: HOST })).status === 200, "the slot to be free");
  });

  it('limit-connections: "1": a client that leaves frees its slot', async () => {
    const up = await holdingUpstream("web");
    cleanups.push(() => up.close());
    const proxy = await proxyFor([up.port], { "limit-connections": "1" });
    const { req, response } = start(`${proxy.url}/`, { headers: { host: HOST }, body: "" });
    response.catch(() => undefined);
    await up.arrived;
    expect((await get(`${proxy.url}/`, { host: HOST })).status).toBe(503);
    req.destroy();
    up.release(); // later requests are answered at once
    await waitFor(async () => (await get(`${proxy.url}/`, { host: HOST })).status === 200, "the slot to be free");
  });

  it('limit-connections: "1": an open WebSocket holds the slot until it closes', async () => {
    const ws = await wsEchoUpstream();
    cleanups.push(() => ws.close());
    const proxy = await proxyFor([ws.port], { "limit-connections": "1" });
    const socket = await openWs(proxy.url, HOST);
    await expect(openWs(proxy.url, HOST)).rejects.toThrow("upgrade refused: 503");
    const closed = new Promise((r) => socket.once("close", r));
    socket.close();
    await closed;
    await waitFor(async () => {
      try {
        (await openWs(proxy.url, HOST)).terminate();
        return true;
      } catch {
        return false;
      }
    }, "the slot to be free");
  });

  it('limit-whitelist: "127.0.0.2": that client is never limited, 127.0.0.1 is', async () => {
    const up = await upstream("web");
    const proxy = await proxyFor([up.port], { "limit-rpm": "1", "limit-burst-multiplier": "1", "limit-whitelist": "127.0.0.2, 10.0.0.0/8" });
    expect(await burst(proxy, 5, "/", "127.0.0.2")).toEqual([200, 200, 200, 200, 200]);
    expect(count(await burst(proxy, 5, "/", "127.0.0.1"), 503)).toBe(3);
  });
});

describe("invalid values (ingress-nginx annotations.md § Custom max body size, Custom timeouts, Rate Limiting)", () => {
  const ingressWith = (name: string, value: string): string => annotatedIngress("web", HOST, "web", { [name]: value });

  it.each([
    ["proxy-body-size", "lots", /size such as/],
    ["proxy-body-size", "8 m", /size such as/],
    ["proxy-body-size", "99999999999g", /size such as/],
    ["proxy-read-timeout", "5s", /whole number of seconds/],
    ["proxy-connect-timeout", "soon", /whole number of seconds/],
    ["proxy-send-timeout", "0", /whole number of seconds from 1/],
    ["limit-rps", "fast", /whole number/],
    ["limit-rpm", "-1", /whole number/],
    ["limit-connections", "1.5", /whole number/],
    ["limit-burst-multiplier", "0", /at least 1/],
    ["limit-whitelist", "10.0.0.0/33", /CIDRs.*"10.0.0.0\/33"/],
    ["limit-allowlist", "10.0.0.1, nowhere", /"nowhere" is not/],
  ])("%s: %j is an error at the annotation's line, naming it and its value; the Ingress is not loaded", (name, value, message) => {
    const text = ingressWith(name, value);
    const parsed = parseRulesFile("/rules/ing.yaml", text);
    if (!parsed.ok) throw new Error(parsed.issues.map(formatIssue).join("; "));
    const result = validateDocuments(parsed.documents);
    const at = positionOf(text, `${P}${name}`);
    expect(result.resources).toEqual([]);
    expect(result.issues).toEqual([
      expect.objectContaining({
        severity: "error",
        code: "invalid-annotation",
        line: at.line,
        col: at.col,
        field: `metadata.annotations[${JSON.stringify(P + name)}]`,
        resource: "Ingress default/web",
        message: expect.stringMatching(message),
      }),
    ]);
    expect(result.issues[0]!.message).toContain(`${P}${name}`);
    expect(result.issues[0]!.message).toContain(JSON.stringify(value));
  });

  it('proxy-body-size: "8b" (which ingress-nginx\'s template drops) is a warning, and the body size stays unlimited', () => {
    const text = ingressWith("proxy-body-size", "8b");
    const parsed = parseRulesFile("/rules/ing.yaml", text);
    if (!parsed.ok) throw new Error("syntax");
    const result = validateDocuments(parsed.documents);
    expect(result.resources).toHaveLength(1);
    expect(result.issues).toEqual([expect.objectContaining({ severity: "warning", line: positionOf(text, `${P}proxy-body-size`).line })]);
  });

  it("limit-rate and limit-rate-after are reported as not supported", () => {
    const text = annotatedIngress("web", HOST, "web", { "limit-rate": "100", "limit-rate-after": "10" });
    const parsed = parseRulesFile("/rules/ing.yaml", text);
    if (!parsed.ok) throw new Error("syntax");
    const messages = validateDocuments(parsed.documents).issues.map((i) => `${i.severity}: ${i.message}`);
    expect(messages).toEqual([expect.stringMatching(/^warning: .*limit-rate/), expect.stringMatching(/^warning: .*limit-rate-after/)]);
  });

  it("a bad value written over a good one: the Ingress keeps its last good version, limits included", async () => {
    const up = await upstream("web");
    const proxy = await proxyFor([up.port], { "limit-rpm": "1", "limit-burst-multiplier": "1" });
    const rejected = nextReload(proxy, (s) => s.issues.some((i) => i.field === `metadata.annotations[${JSON.stringify(`${P}limit-rpm`)}]`));
    const bad = annotatedIngress(proxy.ingress, HOST, "web", { "limit-rpm": "lots" });
    await writeFile(proxy.ingPath, bad);
    const snapshot = await rejected;
    expect(snapshot.issues.find((i) => i.severity === "error")).toMatchObject({ file: proxy.ingPath, line: positionOf(bad, `${P}limit-rpm`).line });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await get(`${proxy.url}/`, { host: HOST })).status);
    expect(statuses).toEqual([200, 200, 503]);
  });
});

describe("sizes as nginx reads them (ngx_parse_offset, for proxy-body-size)", () => {
  it.each([
    ["0", 0],
    ["1048576", 1048576],
    ["1k", 1024],
    ["1K", 1024],
    ["8m", 8 * 1024 * 1024],
    ["8M", 8 * 1024 * 1024],
    ["1g", 1024 ** 3],
    ["2G", 2 * 1024 ** 3],
  ])("%s = %i bytes", (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(["", "lots", "8b", "1.5m", "-1", "8 m", "1t", "m", "99999999999g"])("%j is not a size", (text) => {
    expect(parseSize(text)).toBeUndefined();
  });
});

describe("the leaky bucket (nginx limit_req, burst nodelay)", () => {
  it("rates in milli-requests per second, truncated as nginx does", () => {
    expect(bucketRate(10, 1)).toBe(10_000);
    expect(bucketRate(30, 60)).toBe(500);
    expect(bucketRate(1, 60)).toBe(16);
  });

  it("each request adds 1000, the rate drains it per millisecond, never below 0", () => {
    expect(excessWith({ excess: 0, last: 0 }, 1000, 0)).toBe(1000);
    expect(excessWith({ excess: 3000, last: 0 }, 1000, 500)).toBe(3500);
    expect(excessWith({ excess: 3000, last: 0 }, 1000, 10_000)).toBe(0);
    expect(drained({ excess: 3000, last: 0 }, 1000, 2999)).toBe(false);
    expect(drained({ excess: 3000, last: 0 }, 1000, 3000)).toBe(true);
  });

  it("rps 1 × 5: 1 + 5 requests at once, the 7th refused; one more each second after", () => {
    const zone = new LimitZone({ rps: 1, burstMultiplier: 5 });
    const at = (now: number): unknown => zone.admit("10.0.0.1", now);
    for (let i = 0; i < 6; i++) expect(at(1000)).toBeUndefined();
    expect(at(1000)).toBe("limit-rps");
    expect(at(1999)).toBe("limit-rps");
    expect(at(2000)).toBeUndefined();
    expect(at(2000)).toBe("limit-rps");
  });

  it("refused requests are not counted, and clients have their own buckets", () => {
    const zone = new LimitZone({ rps: 2, burstMultiplier: 1 });
    for (let i = 0; i < 3; i++) expect(zone.admit("a", 0)).toBeUndefined();
    for (let i = 0; i < 100; i++) expect(zone.admit("a", 0)).toBe("limit-rps");
    expect(zone.admit("b", 0)).toBeUndefined();
    expect(zone.admit("a", 500)).toBeUndefined(); // 500 ms drain one request at 2 r/s
  });

  it("rps and rpm both apply: refused by either, counted in both only when both allow", () => {
    const zone = new LimitZone({ rps: 10, rpm: 2, burstMultiplier: 1 });
    expect(zone.admit("a", 0)).toBeUndefined();
    expect(zone.admit("a", 0)).toBeUndefined();
    expect(zone.admit("a", 0)).toBeUndefined();
    expect(zone.admit("a", 0)).toBe("limit-rpm");
    // 2 r/m is 33 milli-requests per second (nginx truncates): 30 s drain 990, not a whole request.
    expect(zone.admit("a", 30_000)).toBe("limit-rpm");
    expect(zone.admit("a", 31_000)).toBeUndefined();
  });

  it("connections: a slot per request until released", () => {
    const zone = new LimitZone({ connections: 2, burstMultiplier: 5 });
    const first = zone.admit("a", 0);
    const second = zone.admit("a", 0);
    expect(typeof first).toBe("object");
    expect(zone.admit("a", 0)).toBe("limit-connections");
    zone.release(first as Exclude<typeof first, string | undefined>);
    expect(typeof zone.admit("a", 0)).toBe("object");
    expect(second).toBe(first); // the client's one state
  });

  it("idle clients (a minute unseen, buckets drained, nothing in flight) are forgotten as others come", () => {
    const zone = new LimitZone({ rps: 1, connections: 1, burstMultiplier: 5 });
    const idle = zone.admit("idle", 0);
    zone.release(idle as Exclude<typeof idle, string | undefined>);
    const busy = zone.admit("busy", 0);
    expect(typeof busy).toBe("object");
    zone.admit("other", 60_000);
    expect(zone.size).toBe(2); // "idle" forgotten; "busy" still has a request in flight
    zone.release(busy as Exclude<typeof busy, string | undefined>);
    zone.admit("other", 120_000);
    expect(zone.size).toBe(1);
  });

  it(`a zone never holds more than ${MAX_CLIENTS_PER_ZONE} clients`, () => {
    const zone = new LimitZone({ rpm: 1, burstMultiplier: 5 });
    for (let i = 0; i < MAX_CLIENTS_PER_ZONE + 1000; i++) zone.admit(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 0);
    expect(zone.size).toBeLessThanOrEqual(MAX_CLIENTS_PER_ZONE);
  });
});
