import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenBucket } from "../src/tls/tokenBucket.js";
import { rulesDir, serviceYaml, startProxy, startUpstream, type RulesDir, type Upstream } from "./helpers.js";
import { inspect, type Proxy } from "./proxyHelpers.js";
import { handshake, selectorServer, tlsIngressYaml, type Handshake, type SelectorServer } from "./tlsHelpers.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const randomName = (suffix: string): string => `${randomBytes(6).toString("hex")}.${suffix}`;

/** One handshake per name, `concurrency` at a time, in order of `names`. */
async function handshakeAll(port: number, names: string[], concurrency = 8): Promise<Handshake[]> {
  const out: Handshake[] = new Array(names.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < names.length) {
        const i = next++;
        out[i] = await handshake(port, names[i]);
      }
    }),
  );
  return out;
}

const MiB = 1024 * 1024;

/**
 * The same, from a child process: its TLS client state (a secure context per
 * connection) then weighs on the child's memory, not on the RSS measured here.
 */
async function handshakeAllElsewhere(port: number, names: string[], concurrency = 8): Promise<{ cn: string; fingerprint256: string }[]> {
  const script = `
    import { connect } from "node:tls";
    const [port, concurrency] = process.argv.slice(1).map(Number);
    let input = "";
    for await (const c of process.stdin) input += c;
    const names = JSON.parse(input), out = new Array(names.length);
    let next = 0;
    const one = (servername) => new Promise((resolve, reject) => {
      const s = connect({ host: "127.0.0.1", port, servername, rejectUnauthorized: false }, () => {
        const c = s.getPeerCertificate();
        s.destroy();
        resolve({ cn: c.subject.CN, fingerprint256: c.fingerprint256 });
      });
      s.once("error", reject);
    });
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < names.length) { const i = next++; out[i] = await one(names[i]); }
    }));
    process.stdout.write(JSON.stringify(out));
  `;
  const child = execFile(process.execPath, ["--input-type=module", "-e", script, String(port), String(concurrency)], { maxBuffer: 64 * MiB });
  child.stdin?.end(JSON.stringify(names));
  let stdout = "";
  child.stdout?.on("data", (c: string) => (stdout += c));
  let stderr = "";
  child.stderr?.on("data", (c: string) => (stderr += c));
  const [code] = (await once(child, "close")) as [number];
  if (code !== 0) throw new Error(`handshake client exited ${code}: ${stderr}`);
  return JSON.parse(stdout) as { cn: string; fingerprint256: string }[];
}

function rssAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().rss;
}

describe("local-CA issuance for SNI names chosen by the client is bounded (issue 9.7)", () => {
  let up: Upstream;
  let rules: RulesDir;
  let dataDir: string;
  let proxy: Proxy;
  let port: number;
  let defaultFingerprint: string;

  beforeAll(async () => {
    up = await startUpstream(inspect("web"));
    rules = await rulesDir();
    dataDir = await mkdtemp(join(tmpdir(), "ingressd-data-"));
    await rules.write("svc.yaml", serviceYaml("web", [up.port]));
    await rules.write("wild.yaml", tlsIngressYaml("wild", { hosts: ["*.wild.test", "plain.test"], service: "web", tls: [{ hosts: ["*.wild.test"] }] }));
    proxy = await startProxy([rules.dir], { httpsPort: 0, dataDir });
    port = await proxy.httpsReady();
    defaultFingerprint = (await handshake(port, undefined)).fingerprint256;
  });

  afterAll(async () => {
    await proxy?.close();
    await up?.close();
    await rules?.cleanup();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("names outside every TLS host never cause issuance: the burst is intact after 500 of them", async () => {
    const outside = [
      ...Array.from({ length: 250 }, () => randomName("other.test")),
      ...Array.from({ length: 200 }, () => randomName("deep.wild.test")), // a wildcard covers one label only
      ...Array.from({ length: 50 }, () => randomName("plain.test")),
    ];
    for (const h of await handshakeAll(port, outside)) expect(h.fingerprint256).toBe(defaultFingerprint);
    const burst = Array.from({ length: 15 }, () => randomName("wild.test"));
    const got = await handshakeAll(port, burst, 1);
    expect(got.map((h) => h.cn)).toEqual(burst);
  });

  it("2,000 random names under a wildcard: issuance follows the rate (10/s, burst 20), the rest get the default certificate, RSS stays within 40 MiB", async () => {
    // Warm up (code paths, the CA loaded), then wait for the bucket to refill.
    await handshakeAll(port, Array.from({ length: 5 }, () => randomName("wild.test")), 1);
    const rssBefore = rssAfterGc();
    const started = performance.now();
    const names = Array.from({ length: 2_000 }, () => randomName("wild.test"));
    const seen = await handshakeAllElsewhere(port, names);
    const seconds = (performance.now() - started) / 1000;
    const grownMiB = (rssAfterGc() - rssBefore) / MiB;
    let issued = 0;
    seen.forEach((h, i) => {
      if (h.cn === names[i]) issued++;
      else expect(h.fingerprint256, `${names[i]} got neither its own leaf nor the default certificate`).toBe(defaultFingerprint);
    });
    expect.soft(grownMiB, `RSS grew ${grownMiB.toFixed(1)} MiB`).toBeLessThan(40);
    expect(issued, "some names were issued a leaf").toBeGreaterThan(0);
    expect(issued, `issued ${issued} leaves in ${seconds.toFixed(1)} s`).toBeLessThanOrEqual(20 + Math.ceil(10 * seconds));
  }, 120_000);
});

describe("CertificateSelector's kept leaves (issue 9.7)", () => {
  let wild: SelectorServer;
  beforeAll(async () => {
    wild = await selectorServer({ leafCacheSize: 5, issuance: new TokenBucket(1_000_000, 1_000_000) });
  });
  afterAll(() => wild?.close());

  it("keeps at most the cap, dropping the least recently used: a kept name gets the same leaf, a dropped one a new leaf", async () => {
    const names = Array.from({ length: 8 }, (_, i) => `n${i}.wild.test`);
    const { port, selector } = wild;
    const first = await handshakeAll(port, names, 1);
    expect(first.map((h) => h.cn)).toEqual(names);
    expect(selector.cachedLeaves).toBe(5);
    const again = async (i: number): Promise<string> => (await handshake(port, names[i])).fingerprint256;
    expect(await again(7), "the most recent name keeps its leaf").toBe(first[7]!.fingerprint256);
    expect(await again(0), "the oldest name was dropped and is issued anew").not.toBe(first[0]!.fingerprint256);
    expect(selector.cachedLeaves).toBe(5);
  });
});
