import { execFile, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rulesDir, serviceYaml, startProxy, startUpstream, type RulesDir, type Upstream } from "./helpers.js";
import { tlsIngressYaml } from "./tlsHelpers.js";

const root = fileURLToPath(new URL("..", import.meta.url));

/**
 * `ingressd ca trust` / `ca untrust` on this Debian machine, as root — inside a private
 * mount namespace where copies of the trust store (and an empty hooks folder) are
 * mounted over the real ones, so the machine's own store is never changed. curl, which
 * reads the system bundle, is the judge: it refuses ingressd's certificate before
 * `trust`, accepts it after, and refuses it again after `untrust`.
 */
describe("ingressd ca trust / untrust (system store, Debian)", () => {
  let upstream: Upstream;
  let rules: RulesDir;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  let work: string;

  beforeAll(async () => {
    const build = spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: root, encoding: "utf8" });
    if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}\n${build.stderr}`);
    work = await mkdtemp(join(tmpdir(), "ingressd-trust-"));
    upstream = await startUpstream("web");
    rules = await rulesDir();
    await rules.write("web.yaml", `${serviceYaml("web", [upstream.port])}---\n${tlsIngressYaml("web", { hosts: ["web.localhost"], service: "web", tls: [{ hosts: ["web.localhost"] }] })}`);
    proxy = await startProxy([rules.dir], { httpsPort: 0, dataDir: join(work, "data") });
  }, 120_000);

  afterAll(async () => {
    await proxy?.close();
    await upstream?.close();
    await rules?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("trust makes curl accept ingressd's certificate without --cacert; untrust takes it back; each says what it changed", async () => {
    const port = await proxy.httpsReady();
    const curl = `curl -s --max-time 5 -o /dev/null -w '%{http_code}' --resolve web.localhost:${port}:127.0.0.1 https://web.localhost:${port}/ || true`;
    const cli = `HOME=${work}/home node ${join(root, "dist", "cli.js")} ca`;
    const script = [
      "set -e",
      `cp -a /usr/local/share/ca-certificates ${work}/local && cp -a /etc/ssl/certs ${work}/certs && cp /etc/ca-certificates.conf ${work}/conf && mkdir -p ${work}/hooks ${work}/home`,
      `mount --bind ${work}/local /usr/local/share/ca-certificates`,
      `mount --bind ${work}/certs /etc/ssl/certs`,
      `mount --bind ${work}/conf /etc/ca-certificates.conf`,
      `mount --bind ${work}/hooks /etc/ca-certificates/update.d`,
      `echo "before: $(${curl})"`,
      `${cli} trust --data-dir ${work}/data`,
      `echo "trusted: $(${curl})"`,
      `${cli} untrust --data-dir ${work}/data`,
      `echo "untrusted: $(${curl})"`,
    ].join("\n");
    // Asynchronously: the ingressd curl talks to runs in this process.
    const res = await new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
      execFile("unshare", ["-m", "--propagation", "private", "sh", "-c", script], { encoding: "utf8", timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });
    expect(res.status, `${res.stdout}\n${res.stderr}`).toBe(0);
    expect(res.stdout).toMatch(/^before: 000$/m);
    expect(res.stdout).toMatch(/^trusted: 200$/m);
    expect(res.stdout).toMatch(/^untrusted: 000$/m);
    expect(res.stdout).toContain("copied to /usr/local/share/ca-certificates/ingressd-local-ca.crt, then ran update-ca-certificates");
    expect(res.stdout).toContain("removed /usr/local/share/ca-certificates/ingressd-local-ca.crt, then ran update-ca-certificates --fresh");
    // The machine's own store never saw it.
    expect(spawnSync("ls", ["/usr/local/share/ca-certificates"], { encoding: "utf8" }).stdout).not.toContain("ingressd");
  }, 90_000);
});
