import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startIngressd } from "../src/server/ingressd.js";
import { rulesDir, serviceYaml, type RulesDir } from "./helpers.js";
import { tlsIngressYaml } from "./tlsHelpers.js";

/** ingressd with a TLS host (so the local CA is needed) and its log lines. */
async function startWithLog(rules: string, dataDir: string): Promise<{ close(): Promise<void>; lines: { msg: string; path?: string }[] }> {
  const lines: { msg: string; path?: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of String(chunk).split("\n")) if (l) lines.push(JSON.parse(l) as { msg: string });
      done();
    },
  });
  const d = await startIngressd({ rules: [rules], bind: "127.0.0.1", httpPort: 0, httpsPort: 0, adminBind: "127.0.0.1", adminPort: 0, ingressClass: "ingressd", watch: false, logger: pino({ level: "info" }, sink), dataDir });
  await d.httpsReady();
  return { close: () => d.close(), lines };
}

describe("the first start that creates the local CA", () => {
  let rules: RulesDir;
  let dataDir: string;
  beforeAll(async () => {
    rules = await rulesDir();
    await rules.write("app.yaml", `${serviceYaml("app", [9])}---\n${tlsIngressYaml("app", { hosts: ["app.localhost"], service: "app", tls: [{ hosts: ["app.localhost"] }] })}`);
    dataDir = join(await mkdtemp(join(tmpdir(), "ingressd-ca-first-")), "nested");
  });
  afterAll(async () => {
    await rules.cleanup();
    await rm(join(dataDir, ".."), { recursive: true, force: true });
  });

  it("logs one line with the CA's path and how to trust it; a later start with the same data directory does not", async () => {
    const first = await startWithLog(rules.dir, dataDir);
    await first.close();
    const created = first.lines.filter((l) => l.msg.startsWith("created the local development CA"));
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({ path: join(dataDir, "ca.crt") });
    expect(created[0]!.msg).toContain("ingressd ca trust");
    const second = await startWithLog(rules.dir, dataDir);
    await second.close();
    expect(second.lines.filter((l) => l.msg.startsWith("created the local development CA"))).toEqual([]);
  });
});
