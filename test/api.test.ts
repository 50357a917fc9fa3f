import { execFile, spawnSync } from "node:child_process";
import { rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { check, start, type IngressdServer } from "../src/index.js";
import { get as getUrl, ingressYaml, rulesDir, serviceYaml, startUpstream, type RulesDir, type Upstream } from "./helpers.js";

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
