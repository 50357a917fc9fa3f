import { execFile, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { check, start, type IngressdServer } from "../src/index.js";
import type { RecentRequest } from "../src/telemetry/recentRequests.js";
import { defaultBackendYaml, get as getUrl, ingressYaml, nextReload, rulesDir, serviceYaml, startProxy, startUpstream, type RulesDir, type Upstream } from "./helpers.js";
import { handshake, lineOf, tlsIngressYaml } from "./tlsHelpers.js";

const root = fileURLToPath(new URL("..", import.meta.url));

async function get(port: number, host: string): Promise<{ status: number; body: string }> {
  const { status, body } = await getUrl(`http://127.0.0.1:${port}/`, { host });
  return { status, body };
}

describe("programmatic API (src/index.ts)", () => {
  let up: Upstream;
  let rules: RulesDir;
  let server: IngressdServer | undefined;
  beforeEach(async () => {
    up = await startUpstream((_req, res) => res.end("from upstream"));
    rules = await rulesDir();
    await rules.write("svc.yaml", serviceYaml("web", [up.port]));
    await rules.write("good.yaml", ingressYaml("good", "good.localhost", [{ path: "/", service: "web" }]));
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await up.close();
    await rules.cleanup();
  });

  it("start() serves the rules on ephemeral loopback ports; reload() applies added and removed files now; close() stops", async () => {
    // No watcher: only reload() can bring the changes in.
    server = await start({ rules: rules.dir, watch: false });
    const { http, admin, https } = server.ports;
    expect(http).toBeGreaterThan(0);
    expect(admin).toBeGreaterThan(0);
    expect(https).toBeUndefined();
    expect(server.generation).toBe(1);
    expect(server.issues).toEqual([]);
    expect(await get(http, "good.localhost")).toEqual({ status: 200, body: "from upstream" });
    expect((await fetch(`http://127.0.0.1:${admin}/readyz`)).status).toBe(200);

    await rules.write("new.yaml", ingressYaml("new", "new.localhost", [{ path: "/", service: "web" }]));
    expect((await get(http, "new.localhost")).status).toBe(404);
    expect(await server.reload()).toBe(2);
    expect(await get(http, "new.localhost")).toEqual({ status: 200, body: "from upstream" });
    expect(Object.keys(server.config().hosts).sort()).toEqual(["good.localhost", "new.localhost"]);

    await rm(`${rules.dir}/good.yaml`);
    await rules.write("broken.yaml", "kind: Ingress\nspec: [\n");
    expect(await server.reload()).toBe(3);
    expect((await get(http, "good.localhost")).status).toBe(404);
    expect(server.issues.map((i) => [i.file.endsWith("broken.yaml"), i.severity, i.line > 0])).toEqual([[true, "error", true]]);

    await server.close();
    server = undefined;
    await expect(getUrl(`http://127.0.0.1:${http}/`)).rejects.toThrow(/ECONNREFUSED/);
  });

  it("check() validates as the server loads, each error with file and line", async () => {
    const bad = await check("test/fixtures/broken");
    expect(bad.ok).toBe(false);
    expect(bad.errors.length).toBeGreaterThan(0);
    for (const e of bad.errors) expect(e).toMatchObject({ file: expect.stringContaining("test/fixtures/broken/"), line: expect.any(Number) });
    const good = await check(["test/fixtures/good"]);
    expect(good).toMatchObject({ ok: true, errors: [] });
    expect(good.resources).toBeGreaterThan(0);
    expect((await check("test/fixtures/no-such-folder")).errors[0]?.code).toBe("missing-rules-path");
  });
});

describe('the package entry: import("ingressd")', () => {
  it("resolves to the built API (exports → dist/index.js), which serves and reloads", async () => {
    // Build the current sources, as the other tests of the shipped artefacts do.
    const build = spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: root, encoding: "utf8" });
    expect(build.status, `${build.stdout}${build.stderr}`).toBe(0);
    const up = await startUpstream((_req, res) => res.end("via the package"));
    const rules = await rulesDir();
    try {
      await rules.write("svc.yaml", serviceYaml("web", [up.port]) + "---\n" + ingressYaml("a", "a.localhost", [{ path: "/", service: "web" }]));
      // A plain Node process, as a user's program: the package refers to itself by name.
      const program = `
        import { start, check } from "ingressd";
        import { get as httpGet } from "node:http";
        import { writeFile } from "node:fs/promises";
        const get = (port, host) => new Promise((resolve, reject) =>
          httpGet({ port, host: "127.0.0.1", headers: { host } }, (res) => resolve(res.resume().statusCode)).on("error", reject));
        const server = await start({ rules: process.argv[1], watch: false });
        const before = await get(server.ports.http, "a.localhost");
        await writeFile(process.argv[1] + "/b.yaml", process.argv[2]);
        const generation = await server.reload();
        const after = await get(server.ports.http, "b.localhost");
        const checked = (await check(process.argv[1])).ok;
        await server.close();
        console.log(JSON.stringify({ before, generation, after, checked }));
      `;
      const b = ingressYaml("b", "b.localhost", [{ path: "/", service: "web" }]);
      const out = await new Promise<string>((resolve, reject) =>
        execFile(process.execPath, ["--input-type=module", "-e", program, rules.dir, b], { cwd: root, timeout: 20_000 }, (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
        ),
      );
      expect(JSON.parse(out)).toEqual({ before: 200, generation: 2, after: 200, checked: true });
    } finally {
      await up.close();
      await rules.cleanup();
    }
  }, 120_000);
});

describe("an empty rules folder (issue 11)", () => {
  let rules: RulesDir;
  let server: IngressdServer | undefined;
  beforeEach(async () => {
    rules = await rulesDir();
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await rules.cleanup();
  });

  it("check() and the server (/api/config) both warn: no Kubernetes resources found, nothing is served; a resource ends the warning", async () => {
    await rules.write("notes.yaml", "# nothing yet\n---\n");
    const message = `no Kubernetes resources found in ${rules.dir}: nothing is served`;
    const expected = { severity: "warning", code: "no-resources", message, file: rules.dir, line: 1, col: 1 };
    expect((await check(rules.dir)).warnings).toEqual([expect.objectContaining(expected)]);

    server = await start({ rules: rules.dir, watch: false });
    expect(server.issues).toEqual([expected]);
    const config = (await (await fetch(`http://127.0.0.1:${server.ports.admin}/api/config`)).json()) as { warnings: unknown[] };
    expect(config.warnings).toEqual([expect.objectContaining(expected)]);

    await rules.write("svc.yaml", serviceYaml("web", [1]));
    await server.reload();
    expect(server.issues).toEqual([]);
  });
});

/** Opens `/api/requests/stream` (Server-Sent Events); `next()` resolves with the next event's id and parsed data. */
function openStream(url: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string | undefined; next(): Promise<{ id: number; data: RecentRequest[] }>; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, agent: false }, (res) => {
      let buffer = "";
      const events: { id: number; data: RecentRequest[] }[] = [];
      const waiters: ((e: { id: number; data: RecentRequest[] }) => void)[] = [];
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (data === undefined) continue;
          const event = { id: Number(/^id: (\d+)$/m.exec(block)?.[1]), data: JSON.parse(data) as RecentRequest[] };
          const w = waiters.shift();
          if (w) w(event);
          else events.push(event);
        }
      });
      resolve({
        status: res.statusCode ?? 0,
        type: res.headers["content-type"],
        next: () => (events.length > 0 ? Promise.resolve(events.shift()!) : new Promise((r) => waiters.push(r))),
        close: () => req.destroy(),
      });
    });
    req.on("error", reject);
    req.end();
  });
}

async function json<T>(url: string): Promise<T> {
  const res = await getUrl(url);
  expect(res.status).toBe(200);
  return JSON.parse(res.body) as T;
}

interface StatsBody {
  time: number;
  windowSeconds: number;
  routes: Record<string, { requests: number; errors: number; requestsPerSecond: number; errorsPerSecond: number }>;
  unmatched: { requests: number; requestsPerSecond: number };
  total: { requests: number; errors: number; requestsPerSecond: number; errorsPerSecond: number };
}

interface ConfigBody {
  hosts: Record<string, { key: string; path: string }[]>;
  errors: { code: string; file: string; message: string; nowGoesTo?: { host: string; path: string; to: string; route?: string; backend?: string; source?: string; status?: number; text: string }[] }[];
  defaultBackend: { key: string; backend: string; ingress: string; source: string } | null;
  unmatched: string;
  localCa: { certPath: string; leaves: { host: string; notAfter: string; daysLeft: number; default?: true }[] } | null;
}

describe("admin API of the dashboard: rates per route, recent requests, local CA leaves, where dropped routes go (issue 11)", () => {
  let web: Upstream;
  let api: Upstream;
  let rules: RulesDir;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  beforeEach(async () => {
    web = await startUpstream("web");
    api = await startUpstream("api");
    rules = await rulesDir();
    await rules.write("services.yaml", serviceYaml("web", [web.port]) + "---\n" + serviceYaml("api", [api.port]));
    await rules.write("api.yaml", ingressYaml("api", "api.localhost", [{ path: "/v1", service: "api" }, { path: "/healthz", pathType: "Exact", service: "api" }]));
  });
  afterEach(async () => {
    await proxy?.close();
    await Promise.all([web.close(), api.close()]);
    await rules.cleanup();
  });

  it("/api/stats: requests, 5xx and rates per route (host + path), the rates the server's own at the first reading; keys as /api/config names its routes", async () => {
    proxy = await startProxy([rules.dir]);
    for (let i = 0; i < 3; i++) expect((await getUrl(`${proxy.url}/v1/x${i}`, { host: "api.localhost" })).status).toBe(200);
    expect((await getUrl(`${proxy.url}/healthz`, { host: "api.localhost" })).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await getUrl(`${proxy.url}/`, { host: "nothing.localhost" })).status).toBe(404);

    const stats = await json<StatsBody>(`${proxy.admin}/api/stats`);
    expect(stats.windowSeconds).toBeGreaterThanOrEqual(1);
    expect(stats.routes["api.localhost /v1 (Prefix)"]).toMatchObject({ requests: 3, errors: 0, errorsPerSecond: 0 });
    expect(stats.routes["api.localhost /v1 (Prefix)"]!.requestsPerSecond).toBeGreaterThan(0);
    expect(stats.routes["api.localhost /healthz (Exact)"]).toMatchObject({ requests: 1, errors: 0 });
    expect(stats.unmatched).toMatchObject({ requests: 2 });
    expect(stats.total).toMatchObject({ requests: 6, errors: 0 });
    expect(stats.total.requestsPerSecond).toBeGreaterThan(0);
    const config = await json<ConfigBody>(`${proxy.admin}/api/config`);
    expect(config.hosts["api.localhost"]!.map((r) => r.key).sort()).toEqual(Object.keys(stats.routes).sort());
  });

  it("/api/requests: the last 200 requests (time, method, host, path, status, duration, upstream), oldest first; ?since= gives what came after", async () => {
    proxy = await startProxy([rules.dir]);
    const started = Date.now();
    for (let i = 0; i < 205; i++) await getUrl(`${proxy.url}/v1/r${i}`, { host: "api.localhost" });
    await getUrl(`${proxy.url}/`, { host: "nothing.localhost" });
    const body = await json<{ total: number; requests: RecentRequest[] }>(`${proxy.admin}/api/requests`);
    expect(body.total).toBe(206);
    expect(body.requests).toHaveLength(200);
    expect(body.requests[0]).toMatchObject({ seq: 6, method: "GET", host: "api.localhost", path: "/v1/r6", status: 200, backend: "default/api:80", upstream: `127.0.0.1:${api.port}` });
    expect(body.requests[0]!.time).toBeGreaterThanOrEqual(started);
    expect(body.requests[0]!.duration_ms).toEqual(expect.any(Number));
    expect(body.requests[199]).toMatchObject({ seq: 205, host: "nothing.localhost", path: "/", status: 404 });
    const since = await json<{ requests: RecentRequest[] }>(`${proxy.admin}/api/requests?since=204`);
    expect(since.requests.map((r) => r.path)).toEqual(["/v1/r204", "/"]);
  });

  it("/api/requests/stream: live Server-Sent Events, a request shows up once answered; Last-Event-ID resumes after what was seen", async () => {
    proxy = await startProxy([rules.dir]);
    await getUrl(`${proxy.url}/v1/before`, { host: "api.localhost" });
    const stream = await openStream(`${proxy.admin}/api/requests/stream`);
    expect(stream.status).toBe(200);
    expect(stream.type).toMatch(/^text\/event-stream/);
    const first = await stream.next();
    expect(first.data.map((r) => r.path)).toEqual(["/v1/before"]);
    expect(first.id).toBe(1);
    await getUrl(`${proxy.url}/v1/live`, { host: "api.localhost" });
    const live = await stream.next();
    expect(live.data).toEqual([expect.objectContaining({ seq: 1, path: "/v1/live", status: 200, upstream: `127.0.0.1:${api.port}` })]);
    stream.close();

    const resumed = await openStream(`${proxy.admin}/api/requests/stream`, { "last-event-id": String(live.id) });
    await getUrl(`${proxy.url}/v1/after`, { host: "api.localhost" });
    expect((await resumed.next()).data.map((r) => r.path)).toEqual(["/v1/after"]);
    resumed.close();
  });

  it("/api/config localCa: the local CA's file and each leaf it issued, with expiry and days left", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "ingressd-data-"));
    try {
      await rules.write("tls.yaml", tlsIngressYaml("tls", { hosts: ["x.localhost"], service: "web", tls: [{ hosts: ["x.localhost"] }] }));
      proxy = await startProxy([rules.dir], { httpsPort: 0, dataDir });
      const port = await proxy.httpsReady();
      const before = await json<ConfigBody>(`${proxy.admin}/api/config`);
      expect(before.localCa?.certPath).toBe(join(dataDir, "ca.crt"));
      expect(before.localCa?.leaves.map((l) => l.host)).toEqual(["localhost"]); // the default certificate only
      expect(before.localCa?.leaves[0]).toMatchObject({ default: true });

      const shake = await handshake(port, "x.localhost");
      expect(shake.cn).toBe("x.localhost");
      const after = await json<ConfigBody>(`${proxy.admin}/api/config`);
      const leaf = after.localCa!.leaves.find((l) => l.host === "x.localhost")!;
      expect(leaf).toBeDefined();
      expect(leaf.default).toBeUndefined();
      // The certificate served is the one listed (validTo has whole seconds).
      expect(Math.abs(Date.parse(leaf.notAfter) - Date.parse(shake.cert.valid_to))).toBeLessThan(1_000);
      expect(leaf.daysLeft).toBe(6); // a week, less the moments since
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("/api/config defaultBackend has its source file:line; unmatched says where requests no rule matches go: the default backend, or 404", async () => {
    proxy = await startProxy([rules.dir]);
    const without = await json<ConfigBody>(`${proxy.admin}/api/config`);
    expect(without.defaultBackend).toBeNull();
    expect(without.unmatched).toBe("404 from ingressd: no Ingress has a spec.defaultBackend");

    const reloaded = nextReload(proxy, (s) => s.routes.defaultBackend !== undefined);
    const path = await rules.write("default.yaml", defaultBackendYaml("web"));
    await reloaded;
    const line = lineOf(defaultBackendYaml("web"), "defaultBackend:");
    const config = await json<ConfigBody>(`${proxy.admin}/api/config`);
    expect(config.defaultBackend).toMatchObject({ key: "(default backend)", backend: "default/web:80", ingress: "default/fallback" });
    expect(config.defaultBackend!.source).toMatch(new RegExp(`^${path}:(${line}|${line + 1}):\\d+$`));
    expect(config.unmatched).toBe(`the default backend default/web:80 (Ingress default/fallback, ${config.defaultBackend!.source.replace(/:\d+$/, "")})`);
    expect((await getUrl(`${proxy.url}/`, { host: "nothing.localhost" })).body).toContain('"name":"web"');
  });

  it("/api/config errors: a route dropped by an error says where its host's requests go now — no route (404), another route, the default backend — as the proxy answers", async () => {
    proxy = await startProxy([rules.dir]);
    const dropped = nextReload(proxy, (s) => s.issues.some((i) => i.file.endsWith("broken.yaml")));
    await rules.write("broken.yaml", ingressYaml("broken", "broken.localhost", [{ path: "/shop", pathType: "Foo", service: "web" }]));
    await dropped;
    const destination = async () => (await json<ConfigBody>(`${proxy.admin}/api/config`)).errors.find((e) => e.file.endsWith("broken.yaml"))!.nowGoesTo;
    expect(await destination()).toEqual([{ host: "broken.localhost", path: "/shop", to: "none", status: 404, text: "requests for broken.localhost/shop now go to: no route, ingressd answers 404" }]);
    expect((await getUrl(`${proxy.url}/shop`, { host: "broken.localhost" })).status).toBe(404);

    const wildcard = nextReload(proxy, (s) => s.routes.lookup("broken.localhost", "/shop") !== undefined);
    const wildPath = await rules.write("wild.yaml", ingressYaml("wild", "*.localhost", [{ path: "/", service: "web" }]));
    await wildcard;
    const wildLine = proxy.runtime.current.routes.lookup("broken.localhost", "/shop")!.origin.source.line;
    expect(await destination()).toEqual([{
      host: "broken.localhost", path: "/shop", to: "route", route: "*.localhost / (Prefix)", backend: "default/web:80", source: `${wildPath}:${wildLine}`,
      text: `requests for broken.localhost/shop now go to: the route *.localhost / (Prefix) of Ingress default/wild → default/web:80 (${wildPath}:${wildLine})`,
    }]);
    expect((await getUrl(`${proxy.url}/shop`, { host: "broken.localhost" })).body).toContain('"name":"web"');

    const fallback = nextReload(proxy, (s) => s.routes.defaultBackend !== undefined && s.routes.lookup("x.localhost", "/") === s.routes.defaultBackend);
    await rm(wildPath);
    const defaultPath = await rules.write("default.yaml", defaultBackendYaml("web"));
    await fallback;
    const [goes] = (await destination())!;
    expect(goes).toMatchObject({ host: "broken.localhost", path: "/shop", to: "default-backend", backend: "default/web:80", source: expect.stringMatching(new RegExp(`^${defaultPath}:\\d+$`)) });
    expect(goes!.text).toBe(`requests for broken.localhost/shop now go to: the default backend default/web:80 (${goes!.source})`);
  });

  it("/api/config errors: a path dropped at translation (a port its Service lacks) says where its requests go now", async () => {
    await rules.write("wrongport.yaml", ingressYaml("wrongport", "api.localhost", [{ path: "/v2", service: "api", port: 81 }]));
    proxy = await startProxy([rules.dir]);
    const error = (await json<ConfigBody>(`${proxy.admin}/api/config`)).errors.find((e) => e.code === "unknown-port")!;
    expect(error.nowGoesTo).toEqual([{ host: "api.localhost", path: "/v2", to: "none", status: 404, text: "requests for api.localhost/v2 now go to: no route, ingressd answers 404" }]);
  });
});

