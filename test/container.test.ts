import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get, serviceYaml, startUpstream, type Upstream } from "./helpers.js";
import { freePort, waitFor } from "./proxyHelpers.js";
import { tlsIngressYaml } from "./tlsHelpers.js";

/**
 * The image as the Dockerfile describes it, without a Docker engine (none runs here): its
 * runtime stage is read, and its entry command is run in a temp dir standing for the
 * container's file system, with the image's environment (paths mapped into the temp dir),
 * a rules folder mounted at /etc/ingressd/rules, and its HEALTHCHECK run against it.
 */
const root = fileURLToPath(new URL("..", import.meta.url));
const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
/** The runtime stage: everything after the last FROM. */
const runtime = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));

/** An instruction's text, continuation lines joined and comment lines dropped. */
function instruction(name: string): string {
  const lines = runtime.split("\n");
  const start = lines.findIndex((l) => l.startsWith(`${name} `));
  if (start === -1) return "";
  let text = "";
  for (let i = start; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line.startsWith("#")) continue;
    text += " " + line.replace(/\\$/, "");
    if (!line.endsWith("\\")) break;
  }
  return text.trim().slice(name.length + 1);
}

function imageEnv(): Record<string, string> {
  return Object.fromEntries([...instruction("ENV").matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
}

describe("the container image (Dockerfile)", () => {
  let upstream: Upstream;
  let fsRoot: string;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    // The entry point runs the built CLI, as the image's build stage produces it.
    const build = spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: root, encoding: "utf8" });
    if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}\n${build.stderr}`);
    upstream = await startUpstream("app");
    fsRoot = await mkdtemp(join(tmpdir(), "ingressd-image-"));
  }, 120_000);

  afterAll(async () => {
    child?.kill("SIGKILL");
    await upstream?.close();
    if (fsRoot) await rm(fsRoot, { recursive: true, force: true });
  });

  it("ships no rules, keeps the CA in a volume, exposes the NodePort range, follows INGRESSD_ADMIN_PORT in its HEALTHCHECK", () => {
    expect(runtime).not.toMatch(/COPY\s+ingress-rules/);
    expect(imageEnv()).toMatchObject({ INGRESSD_RULES: "/etc/ingressd/rules", INGRESSD_DATA_DIR: "/var/lib/ingressd", INGRESSD_ADMIN_BIND: "0.0.0.0" });
    expect(instruction("VOLUME")).toBe('["/var/lib/ingressd"]');
    expect(instruction("EXPOSE").split(/\s+/)).toEqual(expect.arrayContaining(["8080", "8443", "9090", "30000-32767"]));
    expect(instruction("HEALTHCHECK")).toContain("process.env.INGRESSD_ADMIN_PORT");
    expect(instruction("USER")).toBe("node");
  });

  it("its entry command serves a mounted rules folder, creates the CA in the volume, and its HEALTHCHECK passes (and fails on a wrong port)", async () => {
    const mapped = (p: string): string => (p.startsWith("/") && !p.startsWith("/app") ? join(fsRoot, p) : p);
    const env = Object.fromEntries(Object.entries(imageEnv()).map(([k, v]) => [k, mapped(v)]));
    // The mount: a project's rules, one TLS host so that HTTPS (and the CA) comes up.
    await mkdir(env.INGRESSD_RULES!, { recursive: true });
    await mkdir(env.INGRESSD_DATA_DIR!, { recursive: true });
    await writeFile(join(env.INGRESSD_RULES!, "app.yaml"), `${serviceYaml("app", [upstream.port])}---\n${tlsIngressYaml("app", { hosts: ["app.localhost"], service: "app", tls: [{ hosts: ["app.localhost"] }], annotations: { "nginx.ingress.kubernetes.io/ssl-redirect": "false" } })}`);
    const [http, https, admin] = [await freePort(), await freePort(), await freePort()];
    const entry = JSON.parse(instruction("ENTRYPOINT")) as string[];
    expect(entry).toEqual(["node", "/app/dist/cli.js"]);
    const ports = { INGRESSD_HTTP_PORT: String(http), INGRESSD_HTTPS_PORT: String(https), INGRESSD_ADMIN_PORT: String(admin) };
    // Loopback only in tests: the image's 0.0.0.0 binds are overridden, as `docker run -e` would.
    child = spawn(process.execPath, [join(root, entry[1]!.replace(/^\/app\//, ""))], {
      cwd: fsRoot,
      env: { PATH: process.env.PATH, HOME: fsRoot, ...env, ...ports, INGRESSD_BIND: "127.0.0.1", INGRESSD_ADMIN_BIND: "127.0.0.1", INGRESSD_LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout!.on("data", (c: Buffer) => (output += String(c)));
    child.stderr!.on("data", (c: Buffer) => (output += String(c)));
    await waitFor(async () => (await get(`http://127.0.0.1:${admin}/readyz`).catch(() => ({ status: 0 }))).status === 200, `readyz (output: ${output})`, 20_000, 50);

    const res = await get(`http://127.0.0.1:${http}/`, { host: "app.localhost" });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ name: "app" });
    expect(existsSync(join(env.INGRESSD_DATA_DIR!, "ca.crt"))).toBe(true);

    const healthcheck = instruction("HEALTHCHECK").replace(/^.*?CMD\s+/, "");
    const check = (port: number) => spawnSync("sh", ["-c", healthcheck], { env: { ...process.env, INGRESSD_ADMIN_PORT: String(port) }, timeout: 10_000 }).status;
    expect(check(admin)).toBe(0);
    expect(check(await freePort())).toBe(1);

    child.kill("SIGTERM");
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code).toBe(0);
    child = undefined;
  });
});
