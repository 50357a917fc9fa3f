import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { buildCli } from "./cliProcess.js";

/**
 * client-node takes about 0.7 s to load: only `--source kubernetes` may pay for it. A
 * module resolution hook lists every module the built CLI loads.
 */
describe("the Kubernetes client is loaded only for a cluster", () => {
  let cli: string;
  let hooks: string;
  beforeAll(() => {
    cli = buildCli("lazy-import");
    const dir = mkdtempSync(join(tmpdir(), "ingressd-hooks-"));
    writeFileSync(
      join(dir, "hooks.mjs"),
      `export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (r.url.includes("@kubernetes/client-node")) process.stderr.write("LOADED " + r.url + "\\n");
  return r;
}\n`,
    );
    hooks = join(dir, "register.mjs");
    writeFileSync(hooks, `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(join(dir, "hooks.mjs")).href)});\n`);
  }, 120_000);

  const run = (script: string): string =>
    spawnSync(process.execPath, ["--import", hooks, "--input-type=module", "-e", script], { cwd: dirname(cli), encoding: "utf8", timeout: 60_000 }).stderr;

  it("not by the server's modules in file mode", () => {
    const server = pathToFileURL(join(dirname(cli), "server/ingressd.js")).href;
    const workers = pathToFileURL(join(dirname(cli), "server/workers.js")).href;
    expect(run(`await import(${JSON.stringify(server)}); await import(${JSON.stringify(workers)});`)).not.toContain("LOADED");
  });

  it("by the cluster source (the hook sees it: the check can fail)", () => {
    const source = pathToFileURL(join(dirname(cli), "config/kubernetes/kubernetesSource.js")).href;
    expect(run(`await import(${JSON.stringify(source)});`)).toContain("LOADED");
  });
});
