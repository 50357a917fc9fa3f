import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { Server } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { checkCommand } from "../src/commands/check.js";
import { hostsCommand } from "../src/commands/hosts.js";
import { routesCommand } from "../src/commands/routes.js";
import { startEchoServer } from "../src/demo/echoServer.js";
import { UPSTREAMS } from "../src/demo/upstreams.js";
import { get, startProxy } from "./helpers.js";

/**
 * The demo as `npm run demo` serves it: `ingress-rules/` with its echo upstreams on their
 * fixed ports. It must load without a single error or warning, and show what the README
 * tells a new user to curl — among them an ingress-nginx rewrite, a CORS API and a canary.
 */
describe("the demo in ingress-rules/", () => {
  let servers: Server[];
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  let dataDir: string;
  const service = async (host: string, path: string, headers: Record<string, string> = {}) => {
    const res = await get(`${proxy.url}${path}`, { host, ...headers });
    return { status: res.status, headers: res.headers, echo: res.status === 200 ? (JSON.parse(res.body) as { service: string; url: string }) : undefined };
  };

  beforeAll(async () => {
    servers = await Promise.all(UPSTREAMS.map(([name, port]) => startEchoServer(name, port)));
    dataDir = await mkdtemp(join(tmpdir(), "ingressd-demo-ca-"));
    proxy = await startProxy(["ingress-rules"], { httpsPort: 0, dataDir });
  });

  afterAll(async () => {
    await proxy?.close();
    await Promise.all((servers ?? []).map((s) => new Promise((res) => s.close(res))));
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("checks clean: no error, no warning", async () => {
    const res = await checkCommand(["ingress-rules"], { ingressClass: "ingressd", format: "text", cwd: process.cwd() });
    // No problem line: the Gateway API status, then the summary.
    expect(res.output).toMatch(/^Gateway default\/demo \(class ingressd\): Accepted, Programmed\n/);
    expect(res.output).toContain("HTTPRoute default/store → Gateway default/demo: Accepted, ResolvedRefs\n");
    expect(res.output).toMatch(/\n\d+ files, \d+ resources: 0 errors, 0 warnings — ok\n$/);
  });

  it("the Gateway and its HTTPRoute, beside the Ingresses: store.localhost by header, and split by weight", async () => {
    for (let i = 0; i < 5; i++) expect((await service("store.localhost", "/", { "x-version": "canary" })).echo?.service).toBe("shop-canary");
    let canary = 0;
    for (let i = 0; i < 200; i++) if ((await service("store.localhost", "/")).echo?.service === "shop-canary") canary++;
    // 10 % by weight: 20 expected of 200; far outside 3..60 only if the split were wrong.
    expect(canary).toBeGreaterThan(3);
    expect(canary).toBeLessThan(60);
  });

  it("the HTTPRoute's filters: a response header on /admin, a redirect for /old-shop", async () => {
    const admin = await service("store.localhost", "/admin/");
    expect(admin.echo?.service).toBe("shop-admin");
    expect(admin.headers["x-served-by"]).toBe("gateway-api");
    const old = await get(`${proxy.url}/old-shop`, { host: "store.localhost:8080" });
    expect(old.status).toBe(301);
    expect(old.headers.location).toBe("http://store.localhost:8080/");
    // `routes` says where its requests go: a redirect, not "no backend".
    const listing = await routesCommand(["ingress-rules"], { ingressClass: "ingressd", format: "text", cwd: process.cwd() });
    expect(listing.output).toMatch(/store\.localhost +\/old-shop when over plain HTTP +Exact +redirect \(301\)/);
  });

  it("routes the hosts the README lists", async () => {
    expect((await service("web.localhost", "/")).echo?.service).toBe("web");
    expect((await service("api.localhost", "/v1/users")).echo?.service).toBe("api");
    expect((await service("blog.apps.localhost", "/docs")).echo?.service).toBe("docs");
    expect((await service("other.localhost", "/")).echo?.service).toBe("fallback");
  });

  it("rewrite: legacy.localhost/old/… reaches api as /v1/…, query kept", async () => {
    const res = await service("legacy.localhost", "/old/users?page=2");
    expect(res.echo).toMatchObject({ service: "api", url: "/v1/users?page=2" });
  });

  it("CORS: a preflight from web.localhost is answered by ingressd; other origins get no CORS headers", async () => {
    const preflight = await get(`${proxy.url}/items`, { host: "data.localhost", origin: "http://web.localhost:8080", "access-control-request-method": "PUT" }, "OPTIONS");
    expect(preflight.status).toBe(204);
    expect(preflight.headers["access-control-allow-origin"]).toBe("http://web.localhost:8080");
    expect(preflight.headers["access-control-allow-methods"]).toContain("PUT");
    const allowed = await service("data.localhost", "/items", { origin: "https://web.localhost:8443" });
    expect(allowed.echo?.service).toBe("api");
    expect(allowed.headers["access-control-allow-origin"]).toBe("https://web.localhost:8443");
    const other = await service("data.localhost", "/items", { origin: "http://evil.localhost" });
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("canary: X-Canary always/never decides; without it about a fifth of requests go to the canary", async () => {
    expect((await service("shop.localhost", "/", { "x-canary": "always" })).echo?.service).toBe("shop-canary");
    expect((await service("shop.localhost", "/", { "x-canary": "never" })).echo?.service).toBe("shop");
    let canary = 0;
    for (let i = 0; i < 200; i++) if ((await service("shop.localhost", "/")).echo?.service === "shop-canary") canary++;
    // canary-weight 20: binomial(200, 0.2) is within 10–70 with overwhelming probability.
    expect(canary).toBeGreaterThan(10);
    expect(canary).toBeLessThan(70);
    // The admin path of the same host is not the canary's.
    expect((await service("shop.localhost", "/admin", { "x-canary": "always" })).echo?.service).toBe("shop-admin");
  });

  it("the README's other URLs: shop /admin, the NodePort, HTTPS with the local CA, /api/config", async () => {
    expect((await service("shop.localhost", "/admin")).echo?.service).toBe("shop-admin");
    // NodePort 30080 (web-nodeport): plain TCP to web's replicas.
    const nodePort = await new Promise<string>((resolve, reject) => {
      const socket = connect(30080, "127.0.0.1", () => socket.end("GET / HTTP/1.0\r\nHost: x\r\n\r\n"));
      let data = "";
      socket.on("data", (c: Buffer) => (data += String(c)));
      socket.on("end", () => resolve(data));
      socket.on("error", reject);
    });
    expect(nodePort).toContain('"service": "web"');
    const ca = await readFile(join(dataDir, "ca.crt"), "utf8");
    const httpsPort = await proxy.httpsReady();
    const https = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest({ host: "127.0.0.1", port: httpsPort, path: "/", servername: "web.localhost", headers: { host: "web.localhost:8443" }, ca }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += String(c)));
        res.on("end", () => resolve(body));
      });
      req.on("error", reject);
      req.end();
    });
    expect(https).toContain('"service": "web"');
    const config = JSON.parse((await get(`${proxy.admin}/api/config`)).body) as { hosts: Record<string, unknown[]> };
    expect(Object.keys(config.hosts)).toEqual(expect.arrayContaining(["web.localhost", "api.localhost", "*.apps.localhost", "shop.localhost", "legacy.localhost", "data.localhost"]));
  });

  it("ingressd hosts: /etc/hosts lines that make the system resolver find every demo host (getent, in a private mount namespace)", async () => {
    const { output } = await hostsCommand(["ingress-rules"], { ingressClass: "ingressd", format: "text" });
    expect(output).toContain("127.0.0.1 web.localhost\n");
    expect(output).toContain("127.0.0.1 legacy.localhost\n");
    expect(output).toMatch(/^# \*\.apps\.localhost: \/etc\/hosts has no wildcards/m);
    // The machine's /etc/hosts is never changed: a copy with the lines is mounted over it, for this shell only.
    const hosts = join(dataDir, "hosts");
    await writeFile(hosts, (await readFile("/etc/hosts", "utf8")) + output);
    const script = `mount --bind ${hosts} /etc/hosts && getent hosts web.localhost legacy.localhost`;
    const resolved = await new Promise<string>((resolve, reject) =>
      execFile("unshare", ["-m", "--propagation", "private", "sh", "-c", script], { encoding: "utf8" }, (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout))),
    );
    expect(resolved).toMatch(/^127\.0\.0\.1\s+web\.localhost$/m);
    expect(resolved).toMatch(/^127\.0\.0\.1\s+legacy\.localhost$/m);
  });
});
