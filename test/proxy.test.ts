import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { EventEmitter, once } from "node:events";
import { Agent, request, type IncomingMessage, type ServerResponse } from "node:http";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get, rulesDir, startUpstream, type RulesDir, type Upstream } from "./helpers.js";
import { freePort, inspect, proxyWith, rawRequest, rawValues, readAll, sha256, site, waitFor, within, type Proxy, type Seen } from "./proxyHelpers.js";

const MiB = 1024 * 1024;

describe("proxy: request headers to the upstream", () => {
  let up: Upstream;
  let proxy: Proxy;
  let rules: RulesDir;
  beforeAll(async () => {
    up = await startUpstream(inspect("web"));
    ({ proxy, rules } = await proxyWith({ "web.yaml": site("web", "web.localhost", [up.port]) }));
  });
  afterAll(async () => {
    await proxy.close();
    await up.close();
    await rules.cleanup();
  });

  async function seen(headers: Record<string, string | string[]>, path = "/h"): Promise<{ seen: Seen; res: Awaited<ReturnType<typeof get>> }> {
    const res = await get(`${proxy.url}${path}`, { host: "web.localhost", ...(headers as Record<string, string>) });
    expect(res.status, res.body).toBe(200);
    return { seen: JSON.parse(res.body) as Seen, res };
  }

  it("preserves Host and sets X-Forwarded-Host, -Proto, -Port", async () => {
    const { seen: s } = await seen({ "x-forwarded-proto": "https", "x-forwarded-host": "evil.example", "x-forwarded-port": "1" });
    expect(s.headers.host).toBe("web.localhost");
    expect(rawValues(s.rawHeaders, "host")).toEqual(["web.localhost"]);
    expect(rawValues(s.rawHeaders, "x-forwarded-host")).toEqual(["web.localhost"]);
    expect(rawValues(s.rawHeaders, "x-forwarded-proto")).toEqual(["http"]);
    expect(rawValues(s.rawHeaders, "x-forwarded-port")).toEqual([String(proxy.httpPort)]);
    expect(s.url).toBe("/h");
  });

  it("X-Forwarded-For is the peer when the client sends none", async () => {
    const { seen: s } = await seen({});
    expect(rawValues(s.rawHeaders, "x-forwarded-for")).toEqual(["127.0.0.1"]);
  });

  it("X-Forwarded-For appends the peer to the incoming value", async () => {
    const { seen: s } = await seen({ "x-forwarded-for": "192.0.2.1, 198.51.100.2" });
    expect(rawValues(s.rawHeaders, "x-forwarded-for")).toEqual(["192.0.2.1, 198.51.100.2, 127.0.0.1"]);
  });

  it("X-Forwarded-For sent on several lines is joined in order, then the peer", async () => {
    const { seen: s } = await seen({ "x-forwarded-for": ["192.0.2.1", "198.51.100.2"] });
    expect(rawValues(s.rawHeaders, "x-forwarded-for")).toEqual(["192.0.2.1, 198.51.100.2, 127.0.0.1"]);
  });

  it("X-Real-IP is the peer, even when the client sends a fake one", async () => {
    const { seen: s } = await seen({ "x-real-ip": "192.0.2.99" });
    expect(rawValues(s.rawHeaders, "x-real-ip")).toEqual(["127.0.0.1"]);
    const { seen: s2 } = await seen({});
    expect(rawValues(s2.rawHeaders, "x-real-ip")).toEqual(["127.0.0.1"]);
  });

  it("generates an X-Request-ID when absent and returns the same value on the response", async () => {
    const { seen: s, res } = await seen({});
    const ids = rawValues(s.rawHeaders, "x-request-id");
    expect(ids).toHaveLength(1);
    expect(ids[0]).toMatch(/^[0-9a-f-]{16,}$/i);
    expect(res.headers["x-request-id"]).toBe(ids[0]);
    // A second request gets another id.
    const { seen: s2 } = await seen({});
    expect(rawValues(s2.rawHeaders, "x-request-id")[0]).not.toBe(ids[0]);
  });

  it("keeps the client's X-Request-ID", async () => {
    const { seen: s, res } = await seen({ "x-request-id": "client-id-123" });
    expect(rawValues(s.rawHeaders, "x-request-id")).toEqual(["client-id-123"]);
    expect(res.headers["x-request-id"]).toBe("client-id-123");
  });

  it("does not forward hop-by-hop headers", async () => {
    // Raw, since Node's client refuses some of these (a Trailer header without chunking).
    const res = await rawRequest(
      proxy.httpPort,
      "GET /hop HTTP/1.1\r\nHost: web.localhost\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5, max=100\r\nTE: trailers\r\n" +
        "Trailer: X-Checksum\r\nUpgrade: h2c\r\nProxy-Authorization: Basic c2VjcmV0OnNlY3JldA==\r\nProxy-Connection: keep-alive\r\nX-End-To-End: kept\r\n\r\n",
    );
    expect(res.status, res.body.toString()).toBe(200);
    const s = JSON.parse(res.body.toString()) as Seen;
    for (const h of ["keep-alive", "te", "trailer", "upgrade", "proxy-authorization", "proxy-connection", "transfer-encoding"]) {
      expect(rawValues(s.rawHeaders, h), h).toEqual([]);
    }
    // Connection to the upstream is the proxy's own business, never the client's value with extra tokens.
    for (const v of rawValues(s.rawHeaders, "connection")) expect(v.toLowerCase()).toMatch(/^(keep-alive|close)$/);
    expect(rawValues(s.rawHeaders, "x-end-to-end")).toEqual(["kept"]);
  });

  it("treats headers named in Connection as hop-by-hop (case-insensitive tokens)", async () => {
    const { seen: s } = await seen({ connection: "keep-alive, X-Custom-Hop", "x-custom-hop": "secret", "x-other": "kept" });
    expect(rawValues(s.rawHeaders, "x-custom-hop")).toEqual([]);
    expect(rawValues(s.rawHeaders, "x-other")).toEqual(["kept"]);
    const { seen: s2 } = await seen({ connection: "Keep-Alive,  x-CUSTOM-hop ,X-Second-Hop", "X-Custom-Hop": "secret", "x-second-hop": "secret" });
    expect(rawValues(s2.rawHeaders, "x-custom-hop")).toEqual([]);
    expect(rawValues(s2.rawHeaders, "x-second-hop")).toEqual([]);
  });

  it("forwards a chunked request body (no Content-Length) with a single Transfer-Encoding of its own", async () => {
    const parts = [randomBytes(1000), randomBytes(70_000), randomBytes(5)];
    const req = request(`${proxy.url}/chunked`, { method: "POST", headers: { host: "web.localhost" }, agent: false });
    const resP = once(req, "response") as Promise<[IncomingMessage]>;
    for (const p of parts) req.write(p);
    req.end();
    const [res] = await resP;
    const full = await readAll(res);
    expect(full.status).toBe(200);
    const s = JSON.parse(full.body.toString()) as Seen;
    expect(s.bytes).toBe(1000 + 70_000 + 5);
    expect(s.sha256).toBe(sha256(Buffer.concat(parts)));
    expect(rawValues(s.rawHeaders, "transfer-encoding")).toEqual(["chunked"]);
    expect(rawValues(s.rawHeaders, "content-length")).toEqual([]);
  });
});

describe("proxy: responses", () => {
  let up: Upstream;
  let proxy: Proxy;
  let rules: RulesDir;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    req.resume();
    switch (req.url) {
      case "/cookies":
        res.writeHead(201, "Made It", {
          "set-cookie": ["a=1; Path=/", "b=2; HttpOnly", "c=3, with comma"],
          server: "upstream-server/1.0",
          date: "Thu, 01 Jan 1970 00:00:00 GMT",
          "x-custom": "yes",
          "x-multi": ["one", "two"],
          "content-type": "text/plain",
        });
        res.end("created");
        return;
      case "/hop":
        res.writeHead(200, {
          connection: "keep-alive, X-Up-Hop",
          "x-up-hop": "secret",
          "keep-alive": "timeout=5, max=7",
          "proxy-authenticate": "Basic realm=upstream",
          upgrade: "h2c",
          "x-kept": "kept",
          "content-length": 2,
        });
        res.end("ok");
        return;
      case "/head":
        res.writeHead(200, { "content-length": 1234, "content-type": "text/plain", etag: '"h1"' });
        res.end(req.method === "HEAD" ? undefined : "x".repeat(1234));
        return;
      case "/204":
        res.writeHead(204, { "x-empty": "yes" });
        res.end();
        return;
      case "/304":
        res.writeHead(304, { etag: '"v1"' });
        res.end();
        return;
      default:
        res.writeHead(200, { "content-type": "text/plain" });
        res.end(`path ${req.url}`);
    }
  };
  beforeAll(async () => {
    up = await startUpstream(handler);
    ({ proxy, rules } = await proxyWith({ "web.yaml": site("web", "web.localhost", [up.port]) }));
  });
  afterAll(async () => {
    await proxy.close();
    await up.close();
    await rules.cleanup();
  });

  it("relays several Set-Cookie lines as several lines", async () => {
    const res = await get(`${proxy.url}/cookies`, { host: "web.localhost" });
    expect(rawValues(res.rawHeaders, "set-cookie")).toEqual(["a=1; Path=/", "b=2; HttpOnly", "c=3, with comma"]);
  });

  it("preserves status, status text, custom headers and body", async () => {
    const req = request(`${proxy.url}/cookies`, { headers: { host: "web.localhost" }, agent: false });
    req.end();
    const [res] = (await once(req, "response")) as [IncomingMessage];
    const full = await readAll(res);
    expect(full.status).toBe(201);
    expect(full.statusMessage).toBe("Made It");
    expect(full.headers["x-custom"]).toBe("yes");
    expect(full.headers["content-type"]).toBe("text/plain");
    expect(rawValues(full.rawHeaders, "x-multi").join(", ")).toBe("one, two");
    expect(full.body.toString()).toBe("created");
  });

  it("replaces Server with ingressd and sends a current Date", async () => {
    const before = Date.now();
    const res = await get(`${proxy.url}/cookies`, { host: "web.localhost" });
    expect(rawValues(res.rawHeaders, "server")).toEqual(["ingressd"]);
    const dates = rawValues(res.rawHeaders, "date");
    expect(dates).toHaveLength(1);
    const date = Date.parse(dates[0]!);
    expect(Number.isNaN(date)).toBe(false);
    expect(Math.abs(date - before)).toBeLessThan(60_000); // not the upstream's 1970 date
  });

  it("removes hop-by-hop response headers, including those named in Connection", async () => {
    const res = await get(`${proxy.url}/hop`, { host: "web.localhost" });
    expect(res.status).toBe(200);
    expect(res.body).toBe("ok");
    expect(res.headers["x-up-hop"]).toBeUndefined();
    expect(res.headers["proxy-authenticate"]).toBeUndefined();
    expect(res.headers.upgrade).toBeUndefined();
    // Node's front end may send its own Connection/Keep-Alive, never the upstream's.
    expect(String(res.headers["keep-alive"] ?? "")).not.toContain("max=7");
    expect(String(res.headers.connection ?? "").toLowerCase()).not.toContain("x-up-hop");
    expect(res.headers["x-kept"]).toBe("kept");
  });

  it("HEAD, 204 and 304 work and keep the connection usable", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const send = (method: string, path: string, headers: Record<string, string> = {}): Promise<{ full: Awaited<ReturnType<typeof readAll>>; reused: boolean }> =>
        new Promise((resolve, reject) => {
          const req = request(`${proxy.url}${path}`, { method, agent, headers: { host: "web.localhost", ...headers } }, (res) => {
            readAll(res).then((full) => resolve({ full, reused: req.reusedSocket }), reject);
          });
          req.on("error", reject);
          req.end();
        });
      const head = await send("HEAD", "/head");
      expect(head.full.status).toBe(200);
      expect(head.full.headers["content-length"]).toBe("1234");
      expect(head.full.headers.etag).toBe('"h1"');
      expect(head.full.body.length).toBe(0);

      const noContent = await send("GET", "/204");
      expect(noContent.full.status).toBe(204);
      expect(noContent.full.headers["x-empty"]).toBe("yes");
      expect(noContent.full.body.length).toBe(0);

      const notModified = await send("GET", "/304", { "if-none-match": '"v1"' });
      expect(notModified.full.status).toBe(304);
      expect(notModified.full.headers.etag).toBe('"v1"');
      expect(notModified.full.body.length).toBe(0);

      const after = await send("GET", "/after");
      expect(after.full.status).toBe(200);
      expect(after.full.body.toString()).toBe("path /after");
      const full = await send("GET", "/head");
      expect(full.full.body.toString()).toBe("x".repeat(1234));
      expect(full.reused).toBe(true);
    } finally {
      agent.destroy();
    }
  });
});

describe("proxy: bodies", () => {
  let up: Upstream;
  let proxy: Proxy;
  let rules: RulesDir;
  const firstData = new EventEmitter();
  const big = randomBytes(20 * MiB);
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.url === "/count") {
      let bytes = 0;
      let first = true;
      req.on("data", (c: Buffer) => {
        bytes += c.length;
        if (first) {
          first = false;
          firstData.emit("first", bytes);
        }
      });
      req.on("end", () => res.end(JSON.stringify({ bytes })));
      return;
    }
    if (req.url === "/big") {
      req.resume();
      res.writeHead(200, { "content-type": "application/octet-stream" }); // chunked: streamed, no length
      let off = 0;
      const pump = (): void => {
        while (off < big.length) {
          const chunk = big.subarray(off, off + 256 * 1024);
          off += chunk.length;
          if (!res.write(chunk)) {
            res.once("drain", pump);
            return;
          }
        }
        res.end();
      };
      pump();
      return;
    }
    res.writeHead(404).end();
  };
  beforeAll(async () => {
    up = await startUpstream(handler);
    ({ proxy, rules } = await proxyWith({ "web.yaml": site("web", "web.localhost", [up.port]) }));
  });
  afterAll(async () => {
    await proxy.close();
    await up.close();
    await rules.cleanup();
  });

  it("streams a 10 MiB upload: the upstream gets data before the client has finished", async () => {
    const total = 10 * MiB;
    const body = randomBytes(total);
    const req = request(`${proxy.url}/count`, { method: "POST", headers: { host: "web.localhost", "content-length": String(total) }, agent: false });
    const resP = once(req, "response") as Promise<[IncomingMessage]>;
    const gotFirst = once(firstData, "first");
    req.write(body.subarray(0, MiB));
    // The rest is not sent until the upstream has seen the start of the body.
    await within(gotFirst, 5_000, "body data at the upstream while the client still holds 9 MiB back (is the upload buffered?)");
    req.end(body.subarray(MiB));
    const [res] = await resP;
    const full = await readAll(res);
    expect(full.status).toBe(200);
    expect(JSON.parse(full.body.toString())).toEqual({ bytes: total });
  });

  it("streams a 20 MiB response intact", async () => {
    const req = request(`${proxy.url}/big`, { headers: { host: "web.localhost" }, agent: false });
    req.end();
    const [res] = (await once(req, "response")) as [IncomingMessage];
    const full = await readAll(res);
    expect(full.status).toBe(200);
    expect(full.body.length).toBe(big.length);
    expect(sha256(full.body)).toBe(sha256(big));
  });
});

describe("proxy: round-robin", () => {
  const ups: Upstream[] = [];
  let proxy: Proxy;
  let rules: RulesDir;
  beforeAll(async () => {
    for (const name of ["a", "b", "c"]) ups.push(await startUpstream(name));
    ({ proxy, rules } = await proxyWith({ "rr.yaml": site("rr", "rr.localhost", ups.map((u) => u.port)) }));
  });
  afterAll(async () => {
    await proxy.close();
    for (const u of ups) await u.close();
    await rules.cleanup();
  });

  it("spreads 30 requests over 3 endpoints, 10 each", async () => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < 30; i++) {
      const res = await get(`${proxy.url}/${i}`, { host: "rr.localhost" });
      expect(res.status).toBe(200);
      const name = (JSON.parse(res.body) as { name: string }).name;
      counts[name] = (counts[name] ?? 0) + 1;
    }
    expect(counts).toEqual({ a: 10, b: 10, c: 10 });
    expect(ups.map((u) => u.received.length)).toEqual([10, 10, 10]);
  });
});

describe("cli", () => {
  const repo = join(import.meta.dirname, "..");
  let up: Upstream;
  let rules: RulesDir;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    await promisify(execFile)("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: repo });
    up = await startUpstream("cli-web");
    rules = await rulesDir();
    await rules.write("web.yaml", site("web", "cli.localhost", [up.port]));
  }, 120_000);
  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      await exited;
    }
    await up?.close();
    await rules?.cleanup();
  });

  /** `node dist/cli.js` on free loopback ports, ready (readyz 200), having served one request with id `requestId`. */
  async function runCli(requestId: string) {
    const httpPort = await freePort();
    const adminPort = await freePort();
    const proc = spawn(
      process.execPath,
      ["dist/cli.js", "--rules", rules.dir, "--bind", "127.0.0.1", "--http-port", String(httpPort), "--admin-port", String(adminPort), "--log-level", "info"],
      { cwd: repo, stdio: ["ignore", "pipe", "pipe"] },
    );
    children.push(proc);
    const out = { stdout: "", stderr: "" };
    proc.stdout!.on("data", (d: Buffer) => (out.stdout += d.toString()));
    proc.stderr!.on("data", (d: Buffer) => (out.stderr += d.toString()));
    const exited = once(proc, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`ingressd exited early (${proc.exitCode}): ${out.stderr}`);
        try {
          return (await get(`http://127.0.0.1:${adminPort}/readyz`)).status === 200;
        } catch {
          return false;
        }
      },
      "/readyz to answer 200",
      15_000,
      50,
    );
    const res = await get(`http://127.0.0.1:${httpPort}/cli-path?q=1`, { host: "cli.localhost", "x-request-id": requestId });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ name: "cli-web", url: "/cli-path?q=1" });
    const accessLine = (): Record<string, unknown> | undefined => {
      for (const line of out.stdout.split("\n")) {
        if (!line.trim().startsWith("{")) continue;
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry.request_id === requestId) return entry;
      }
      return undefined;
    };
    return { proc, out, exited, accessLine };
  }

  function expectAccessEntry(entry: Record<string, unknown> | undefined, requestId: string): void {
    expect(entry).toMatchObject({ method: "GET", host: "cli.localhost", path: "/cli-path", status: 200, upstream: `127.0.0.1:${up.port}`, request_id: requestId });
    expect(typeof entry!.duration_ms).toBe("number");
    expect(typeof entry!.bytes).toBe("number");
    expect(entry!.bytes).toBeGreaterThan(0);
  }

  it("serves, logs the request as a JSON access line, and exits 0 on SIGTERM", async () => {
    const { proc, out, exited, accessLine } = await runCli("cli-req-1");
    proc.kill("SIGTERM");
    const [code, signal] = await exited;
    expect({ code, signal, stderr: out.stderr }).toEqual({ code: 0, signal: null, stderr: "" });
    expectAccessEntry(accessLine(), "cli-req-1");
    expect(out.stdout).toContain('"msg":"ingressd listening"');
  }, 30_000);

  it("writes the access log line to stdout while running, not only at exit", async () => {
    const { proc, out, exited, accessLine } = await runCli("cli-req-2");
    try {
      await waitFor(() => accessLine() !== undefined, "the access log line on stdout", 3_000, 20).catch((err: Error) => {
        throw new Error(`${err.message}; stdout so far: ${JSON.stringify(out.stdout)}`);
      });
      expectAccessEntry(accessLine(), "cli-req-2");
    } finally {
      proc.kill("SIGTERM");
      const [code] = await exited;
      expect(code).toBe(0);
    }
  }, 30_000);
});
