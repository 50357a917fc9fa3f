import { readFile, writeFile } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mkdtemp } from "node:fs/promises";
import { loadAll } from "js-yaml";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseFrom, parseTo } from "../src/config/inlineRules.js";
import { parseProxyOptions, parseRunOptions, UsageError } from "../src/server/options.js";
import { buildCli, startCli, type CliProcess } from "./cliProcess.js";
import { echo, get, ingressYaml, nextReload, rulesDir, serviceYaml, startProxy, startUpstream, type RulesDir, type Upstream } from "./helpers.js";
import { getJson } from "./reloadHelpers.js";

/**
 * Issue 11, "No YAML to start": `ingressd proxy --from HOST --to ADDRESS` (as `caddy
 * reverse-proxy`) and `ingressd run NAME -- COMMAND` (as portless), both as processes of
 * the built CLI, against real upstreams and commands on loopback.
 */

/** An HTTPS GET sent to 127.0.0.1 with `host` as SNI and Host, trusting only `ca`. */
function httpsGet(port: number, host: string, ca: string, path = "/"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: "127.0.0.1", port, path, servername: host, headers: { host }, ca, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** A command for `ingressd run` that answers with its PORT and HOST, and exits 7 on SIGTERM (saying so). */
const APP = `
const http = require("node:http");
const s = http.createServer((q, r) => r.end("app " + process.argv[1] + " on " + process.env.HOST + ":" + process.env.PORT)).listen(Number(process.env.PORT), process.env.HOST, () => console.log("app listening"));
process.on("SIGTERM", () => { console.log("app got SIGTERM"); process.exit(7); });
process.on("SIGINT", () => { console.log("app got SIGINT"); process.exit(8); });
`;

/** Every port ephemeral: the test may run beside anything. */
const EPHEMERAL = ["--http-port", "0", "--https-port", "0", "--admin-port", "0", "--bind", "127.0.0.1"];

let cli: string;
beforeAll(() => {
  cli = buildCli("one-command");
}, 120_000);

const running: CliProcess[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) {
    p.killGroup();
    await p.exited;
  }
});
function cliProcess(args: string[], env: Record<string, string> = {}): CliProcess {
  const p = startCli(cli, args, env);
  running.push(p);
  return p;
}

describe("--from and --to, as flags", () => {
  it("parseTo takes a port, an address, [v6]:port, and http(s):// URLs; localhost is 127.0.0.1", () => {
    expect(parseTo(":3000")).toEqual({ scheme: "http", host: "127.0.0.1", port: 3000 });
    expect(parseTo("3000")).toEqual({ scheme: "http", host: "127.0.0.1", port: 3000 });
    expect(parseTo("localhost:4000")).toEqual({ scheme: "http", host: "127.0.0.1", port: 4000 });
    expect(parseTo("[::1]:4000")).toEqual({ scheme: "http", host: "::1", port: 4000 });
    expect(parseTo("https://api.internal")).toEqual({ scheme: "https", host: "api.internal", port: 443 });
    expect(parseTo("http://10.0.0.5:8080/")).toEqual({ scheme: "http", host: "10.0.0.5", port: 8080 });
    expect(parseTo("api.internal")).toBe('--to needs a port: "api.internal" (e.g. api.internal:3000)');
    expect(parseTo(":99999")).toMatch(/^--to must be a port or an address/);
    expect(parseTo("[nope]:1")).toMatch(/^--to must be a port or an address/);
  });

  it("parseFrom takes a host, a wildcard, a path, and strips a scheme; a port is refused with the flag to use", () => {
    expect(parseFrom("App.localhost")).toEqual({ host: "app.localhost", path: "/" });
    expect(parseFrom("https://app.localhost/api")).toEqual({ host: "app.localhost", path: "/api" });
    expect(parseFrom("*.app.localhost")).toEqual({ host: "*.app.localhost", path: "/" });
    expect(parseFrom("app.localhost:8080")).toMatch(/not a port.*--http-port/);
    expect(parseFrom("app_x.localhost")).toMatch(/^--from must be a host name/);
  });

  it("each --to belongs to the --from before it; mistakes are usage errors naming the flag", () => {
    const o = parseProxyOptions(["--from", "a.localhost", "--to", ":1", "--to", ":2", "--from", "b.localhost", "--to", "127.0.0.1:3"], {});
    expect(o !== "help" && o !== "version" && o.routes.map((r) => [r.host, r.targets.map((t) => t.port)])).toEqual([
      ["a.localhost", [1, 2]],
      ["b.localhost", [3]],
    ]);
    expect(o !== "help" && o !== "version" && o.rules).toEqual([]); // no ./ingress-rules unless asked for
    const usage = (argv: string[]): string => {
      try {
        parseProxyOptions(argv, {});
      } catch (err) {
        if (err instanceof UsageError) return err.message;
      }
      return "accepted";
    };
    expect(usage(["--to", ":1", "--from", "a.localhost"])).toBe("--to :1 comes before any --from: write --from HOST --to :1");
    expect(usage(["--from", "a.localhost"])).toBe("--from a.localhost has no --to: add --to ADDRESS after it (e.g. --to :3000)");
    expect(usage([])).toMatch(/^give at least one --from HOST --to ADDRESS/);
    expect(usage(["--from", "a.localhost", "--to", ":1", "--to", "https://x.test:2"])).toMatch(/mix http:\/\/ and https:\/\//);
    expect(usage(["--form", "a.localhost"])).toBe("unknown option --form (did you mean --from?)");
  });

  it("run: NAME then -- and the command; without --, the command starts after NAME; NAME must be a DNS label", () => {
    const a = parseRunOptions(["--http-port", "81", "web", "--", "npm", "run", "dev", "--port", "3"], {});
    expect(a !== "help" && a !== "version" && [a.name, a.command, a.httpPort, a.logLevel]).toEqual(["web", ["npm", "run", "dev", "--port", "3"], 81, "warn"]);
    const b = parseRunOptions(["web", "vite", "--host"], {});
    expect(b !== "help" && b !== "version" && [b.name, b.command]).toEqual(["web", ["vite", "--host"]]);
    expect(() => parseRunOptions(["Web_1", "--", "x"], {})).toThrow(/NAME must be a DNS label/);
    expect(() => parseRunOptions(["web"], {})).toThrow("give the command to run after --: ingressd run web -- npm run dev");
    expect(() => parseRunOptions(["--htp-port", "1", "web", "--", "x"], {})).toThrow("unknown option --htp-port (did you mean --http-port?)");
  });
});

describe("ingressd proxy --from HOST --to ADDRESS (no YAML to start)", () => {
  let app: Upstream;
  let api: Upstream;
  let web: Upstream;
  let rules: RulesDir;
  let dataDir: string;
  beforeAll(async () => {
    [app, api, web] = await Promise.all([startUpstream(echo("app")), startUpstream(echo("api")), startUpstream(echo("web"))]);
    rules = await rulesDir();
    await rules.write("web.yaml", `${serviceYaml("web", [web.port])}---\n${ingressYaml("web", "web.localhost", [{ path: "/", service: "web" }])}`);
    dataDir = await mkdtemp(join(tmpdir(), "ingressd-proxy-"));
  });
  afterAll(async () => {
    await Promise.all([app, api, web].map((u) => u?.close()));
    await rules?.cleanup();
  });

  it("serves each host over HTTP and HTTPS (local CA) beside --rules, and /api/config and the routes name the flags as their source", async () => {
    const p = cliProcess(["proxy", "--from", "app.localhost", "--to", `:${app.port}`, "--from", "api.localhost/v1", "--to", `127.0.0.1:${api.port}`, "--rules", rules.dir, "--data-dir", dataDir, ...EPHEMERAL]);
    // The banner: where to point a browser, and where it goes.
    const [, httpPort, httpsPort] = await p.waitFor(/http:\/\/app\.localhost:(\d+)\/ {2}https:\/\/app\.localhost:(\d+)\/ {2}→ 127\.0\.0\.1:\d+\n/);
    expect(p.stdout()).toContain(`http://api.localhost:${httpPort}/v1  https://api.localhost:${httpsPort}/v1  → 127.0.0.1:${api.port}\n`);
    const [, adminPort] = await p.waitFor(/"admin":"127\.0\.0\.1:(\d+)"/);
    const base = `http://127.0.0.1:${httpPort}`;

    expect((await get(`${base}/x`, { host: "app.localhost" })).body).toContain("app");
    expect((await get(`${base}/v1/users`, { host: "api.localhost" })).body).toContain("api");
    expect((await get(`${base}/other`, { host: "api.localhost" })).status).toBe(404); // only the path prefix given
    expect((await get(`${base}/`, { host: "web.localhost" })).body).toContain("web"); // --rules beside them
    const ca = await readFile(join(dataDir, "ca.crt"), "utf8");
    const tls = await httpsGet(Number(httpsPort), "app.localhost", ca, "/secure");
    expect([tls.status, tls.body.includes("app")]).toEqual([200, true]);

    const config = await getJson<{ files: { path: string }[]; hosts: Record<string, { source: string; endpoints: string[] }[]> }>(`http://127.0.0.1:${adminPort}/api/config`);
    expect(config.body.files.map((f) => f.path)).toEqual(expect.arrayContaining(["<ingressd proxy --from app.localhost>", "<ingressd proxy --from api.localhost/v1>"]));
    expect(config.body.hosts["app.localhost"]?.[0]?.source).toMatch(/^<ingressd proxy --from app\.localhost>:\d+:\d+$/);
    expect(config.body.hosts["app.localhost"]?.[0]?.endpoints).toEqual([`127.0.0.1:${app.port}`]);
    expect(config.body.hosts["web.localhost"]).toBeDefined();

    // `ingressd routes` with the same flags lists them, as the dashboard does.
    const routes = startCli(cli, ["routes", "--from", "app.localhost", "--to", `:${app.port}`]);
    expect((await routes.exited).code).toBe(0);
    expect(routes.stdout()).toMatch(new RegExp(`app\\.localhost +/ +Prefix +default/app-localhost:80 +127\\.0\\.0\\.1:${app.port} +<ingressd proxy --from app\\.localhost>:\\d+`));

    p.child.kill("SIGTERM");
    expect((await p.exited).code).toBe(0);
  });

  it("several --to after one --from are balanced between", async () => {
    const second = await startUpstream(echo("app2"));
    try {
      const p = cliProcess(["proxy", "--from", "app.localhost", "--to", `:${app.port}`, "--to", `:${second.port}`, "--data-dir", dataDir, ...EPHEMERAL]);
      const [, httpPort] = await p.waitFor(/http:\/\/app\.localhost:(\d+)\//);
      const answers = new Set<string>();
      for (let i = 0; i < 6; i++) answers.add(JSON.parse((await get(`http://127.0.0.1:${httpPort}/`, { host: "app.localhost" })).body).name as string);
      expect([...answers].sort()).toEqual(["app", "app2"]);
    } finally {
      await second.close();
    }
  });

  it("--print writes YAML that `check` passes and that, as a rules folder, serves the same", async () => {
    const p = cliProcess(["proxy", "--from", "app.localhost", "--to", `:${app.port}`, "--print"]);
    expect((await p.exited).code).toBe(0);
    expect(p.stdout()).toMatch(/^# ingressd proxy --from app\.localhost --to 127\.0\.0\.1:\d+\napiVersion: v1\nkind: Service\n/);
    const folder = await rulesDir();
    try {
      await writeFile(join(folder.dir, "app.yaml"), p.stdout());
      const check = startCli(cli, ["check", "--rules", folder.dir]);
      expect((await check.exited).code).toBe(0);
      expect(check.stdout()).toContain("1 file, 3 resources: 0 errors, 0 warnings — ok");
      const proxy = await startProxy([folder.dir], { dataDir });
      try {
        expect((await get(`${proxy.url}/`, { host: "app.localhost" })).body).toContain("app");
        expect(proxy.runtime.current.tls.covers("app.localhost")).toBe(true);
      } finally {
        await proxy.close();
      }
    } finally {
      await folder.cleanup();
    }
  });

  it("the README opens with the one-command form beside its YAML, and that YAML is what --print writes", async () => {
    const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
    const head = readme.slice(0, readme.indexOf("## Set up"));
    expect(head).toContain("ingressd proxy --from app.localhost --to :3000");
    expect(head).toContain("ingressd run web -- npm run dev");
    const yamlBlock = /```yaml\n([\s\S]*?)```/.exec(head)?.[1];
    expect(yamlBlock).toBeDefined();
    const p = cliProcess(["proxy", "--from", "app.localhost", "--to", ":3000", "--print"]);
    expect((await p.exited).code).toBe(0);
    expect(loadAll(yamlBlock!)).toEqual(loadAll(p.stdout()));
  });

  it("a usage mistake exits 2 with the proxy usage", async () => {
    const p = cliProcess(["proxy", "--from", "app.localhost"]);
    expect((await p.exited).code).toBe(2);
    expect(p.stderr()).toMatch(/^ingressd proxy: --from app\.localhost has no --to/);
    expect(p.stderr()).toContain("Usage: ingressd proxy --from HOST[/PATH] --to ADDRESS");
  });
});

describe("ingressd run NAME -- COMMAND (portless's workflow)", () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "ingressd-run-"));
  });

  it("alone: runs the command with PORT and HOST, serves NAME.localhost over HTTP and HTTPS, forwards SIGTERM, exits with the command's status", async () => {
    const p = cliProcess(["run", "--data-dir", dataDir, ...EPHEMERAL, "web", "--", process.execPath, "-e", APP, "one"]);
    const [, httpPort, httpsPort, port] = await p.waitFor(/ingressd: http:\/\/web\.localhost:(\d+) and https:\/\/web\.localhost:(\d+) → .* on PORT=(\d+)\n/);
    await p.waitFor(/app listening/);
    expect((await get(`http://127.0.0.1:${httpPort}/`, { host: "web.localhost" })).body).toBe(`app one on 127.0.0.1:${port}`);
    const ca = await readFile(join(dataDir, "ca.crt"), "utf8");
    expect((await httpsGet(Number(httpsPort), "web.localhost", ca)).body).toBe(`app one on 127.0.0.1:${port}`);

    p.child.kill("SIGTERM");
    expect(await p.exited).toEqual({ code: 7, signal: null });
    expect(p.stdout()).toContain("app got SIGTERM");
    // It served only while the command ran.
    await expect(get(`http://127.0.0.1:${httpPort}/`, { host: "web.localhost" })).rejects.toThrow(/ECONNREFUSED/);
  });

  it("exits with the command's own status, 128 + N when a signal ended it, 127 when it does not exist", async () => {
    const three = cliProcess(["run", "--data-dir", dataDir, ...EPHEMERAL, "three", "--", process.execPath, "-e", "process.exit(3)"]);
    expect((await three.exited).code).toBe(3);
    const killed = cliProcess(["run", "--data-dir", dataDir, ...EPHEMERAL, "killed", "--", process.execPath, "-e", "process.kill(process.pid, 'SIGKILL')"]);
    expect((await killed.exited).code).toBe(137);
    const missing = cliProcess(["run", "--data-dir", dataDir, ...EPHEMERAL, "missing", "--", "ingressd-no-such-command"]);
    expect((await missing.exited).code).toBe(127);
    expect(missing.stderr()).toContain("ingressd: cannot run ingressd-no-such-command: command not found");
  });

  describe("beside a running ingressd", () => {
    let proxy: Awaited<ReturnType<typeof startProxy>>;
    let rules: RulesDir;
    let up: Upstream;
    beforeAll(async () => {
      up = await startUpstream(echo("web"));
      rules = await rulesDir();
      await rules.write("web.yaml", `${serviceYaml("web", [up.port])}---\n${ingressYaml("web", "web.localhost", [{ path: "/", service: "web" }])}`);
      proxy = await startProxy([rules.dir], { dataDir, httpsPort: 0 });
    });
    afterAll(async () => {
      await proxy?.close();
      await up?.close();
      await rules?.cleanup();
    });

    it("registers NAME over the admin API: served by that ingressd (HTTP and HTTPS) while the command runs, gone when it ends", async () => {
      const added = nextReload(proxy, (s) => s.files.some((f) => f.path === "<ingressd run api>"));
      const p = cliProcess(["run", "--admin-port", String(proxy.adminPort), "api", "--", process.execPath, "-e", APP, "two"]);
      const [, port] = await p.waitFor(new RegExp(`ingressd: http://api\\.localhost:${proxy.httpPort} and https://api\\.localhost:${await proxy.httpsReady()} → .* on PORT=(\\d+) \\(registered with the ingressd on port ${proxy.adminPort}\\)\\n`));
      await added;
      await p.waitFor(/app listening/);
      expect((await get(`${proxy.url}/`, { host: "api.localhost" })).body).toBe(`app two on 127.0.0.1:${port}`);
      expect((await get(`${proxy.url}/`, { host: "web.localhost" })).body).toContain("web");
      const ca = await readFile(join(dataDir, "ca.crt"), "utf8");
      expect((await httpsGet(await proxy.httpsReady(), "api.localhost", ca)).body).toBe(`app two on 127.0.0.1:${port}`);
      const config = await getJson<{ files: { path: string }[] }>(`${proxy.admin}/api/config`);
      expect(config.body.files.map((f) => f.path)).toContain("<ingressd run api>");

      const removed = nextReload(proxy, (s) => !s.files.some((f) => f.path === "<ingressd run api>"));
      p.child.kill("SIGINT");
      expect((await p.exited).code).toBe(8);
      expect(p.stdout()).toContain("app got SIGINT");
      await removed;
      expect((await get(`${proxy.url}/`, { host: "api.localhost" })).status).toBe(404);
    });

    it("a name registered already is refused (exit 1, the command is not run); a killed run gives its name up", async () => {
      const first = cliProcess(["run", "--admin-port", String(proxy.adminPort), "dup", "--", process.execPath, "-e", APP, "first"]);
      await first.waitFor(/registered with the ingressd/);
      const second = cliProcess(["run", "--admin-port", String(proxy.adminPort), "dup", "--", process.execPath, "-e", "console.log('second ran')"]);
      expect((await second.exited).code).toBe(1);
      expect(second.stderr()).toBe("ingressd run: dup.localhost is already registered by another ingressd run\n");
      expect(second.stdout()).toBe("");
      // No heartbeat to miss: the registration is its open connection.
      const removed = nextReload(proxy, (s) => !s.files.some((f) => f.path === "<ingressd run dup>"));
      first.child.kill("SIGKILL");
      await removed;
      first.killGroup(); // the command, orphaned by the SIGKILL
    });

    it("a name the rules already serve is refused, naming the rule that has it", async () => {
      const p = cliProcess(["run", "--admin-port", String(proxy.adminPort), "web", "--", process.execPath, "-e", "console.log('ran')"]);
      expect((await p.exited).code).toBe(1);
      expect(p.stderr()).toMatch(/^ingressd run: web\.localhost cannot be served: web\.localhost \/ \(Prefix\) is already routed by Ingress default\/web at .*web\.yaml:\d+, which takes precedence; this path is not served\n$/);
      expect(proxy.runtime.current.files.map((f) => f.path)).not.toContain("<ingressd run web>");
      expect((await get(`${proxy.url}/`, { host: "web.localhost" })).body).toContain("web");
    });

    it("the registration API: JSON only, no browsers (Origin), a DNS label and a port", async () => {
      const post = (body: string, headers: Record<string, string> = { "content-type": "application/json" }) => get(`${proxy.admin}/api/registrations`, headers, "POST", body);
      expect((await post('{"name":"x","port":1}', { "content-type": "application/json", origin: "http://evil.test" })).status).toBe(403);
      expect((await post('{"name":"x","port":1}', { "content-type": "text/plain" })).status).toBe(415);
      expect(JSON.parse((await post('{"name":"X y","port":1}')).body)).toEqual({ error: 'name must be a DNS label such as "web", not "X y"' });
      expect((await post('{"name":"x","port":0}')).status).toBe(400);
      expect((await post("nope")).status).toBe(400);
    });
  });

  it("when the ingressd it registered with stops, the name is served again (here)", async () => {
    // At --log-level info the server's "ingressd listening" line names its (ephemeral) admin port.
    const firstRun = cliProcess(["run", "--data-dir", dataDir, "--log-level", "info", ...EPHEMERAL, "first", "--", process.execPath, "-e", APP, "first"]);
    await firstRun.waitFor(/ingressd: http:\/\/first\.localhost:\d+/);
    expect(firstRun.stderr()).not.toContain("registered with"); // it serves, itself
    const [, adminPort] = await firstRun.waitFor(/"admin":"127\.0\.0\.1:(\d+)"/);
    const second = cliProcess(["run", "--data-dir", dataDir, "--http-port", "0", "--https-port", "0", "--bind", "127.0.0.1", "--admin-port", String(adminPort), "second", "--", process.execPath, "-e", APP, "second"]);
    await second.waitFor(/second\.localhost.*registered with the ingressd/);
    firstRun.child.kill("SIGTERM");
    await firstRun.exited;
    await second.waitFor(/the ingressd serving second\.localhost stopped; registering again/);
    const [, httpPort] = await second.waitFor(/ingressd: http:\/\/second\.localhost:(\d+) and https:\/\/\S+ → .* on PORT=\d+\n(?![\s\S]*registered)/);
    await second.waitFor(/app listening/);
    expect((await get(`http://127.0.0.1:${httpPort}/`, { host: "second.localhost" })).body).toMatch(/^app second on 127\.0\.0\.1:\d+$/);
  });
});
