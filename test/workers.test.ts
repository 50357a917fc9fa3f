import { Agent, request, type IncomingMessage } from "node:http";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { launchChromium } from "./browser.js";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseOptions } from "../src/server/options.js";
import { LocalCa } from "../src/tls/localCa.js";
import { MirroredSource } from "../src/config/mirroredSource.js";
import type { ConfigChange, ConfigSource } from "../src/config/source.js";
import { buildCli, startCli, type CliProcess } from "./cliProcess.js";
import { get, ingressYaml, rulesDir, serviceYaml, startUpstream, type RulesDir, type Upstream } from "./helpers.js";
import { waitFor } from "./proxyHelpers.js";
import { httpsGet, tlsIngressYaml } from "./tlsHelpers.js";
import { l4ServiceYaml, namedEchoServer, nodePort, whoAnswersTcp } from "./l4Helpers.js";
import { affinityService, docs, endpointsYaml, getFrom, ingressFor } from "./serviceHelpers.js";

/**
 * `--workers 2`: the built CLI as a process (a primary and two cluster workers), real
 * sockets throughout. Which worker answered is read from the primary's `/api/config`
 * `workers` (each worker's own count of the requests it answered).
 */

let cli: string;
beforeAll(() => {
  cli = buildCli("workers");
}, 120_000);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface WorkerView {
  id: number;
  pid: number;
  version: number;
  swappedAt: string;
  ready: boolean;
  requests: number;
}

interface Cluster {
  proc: CliProcess;
  dataDir: string;
  url: string;
  admin: string;
  workers(): Promise<WorkerView[]>;
}

/** ingressd `--workers 2` over `rules`, on ephemeral loopback ports read from the primary's "ingressd listening" line. */
async function startWorkers(rules: RulesDir): Promise<Cluster> {
  const dataDir = await mkdtemp(join(tmpdir(), "ingressd-workers-ca-"));
  const proc = startCli(cli, ["--rules", rules.dir, "--bind", "127.0.0.1", "--http-port", "0", "--https-port", "0", "--admin-port", "0", "--data-dir", dataDir, "--workers", "2"]);
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  cleanups.push(() => proc.killGroup());
  const m = await proc.waitFor(/"http":"127\.0\.0\.1:(\d+)","admin":"127\.0\.0\.1:(\d+)","workers":2/);
  const admin = `http://127.0.0.1:${m[2]}`;
  return {
    proc,
    dataDir,
    url: `http://127.0.0.1:${m[1]}`,
    admin,
    workers: async () => (JSON.parse((await get(`${admin}/api/config`)).body) as { workers: WorkerView[] }).workers,
  };
}

async function upstream(name: string): Promise<Upstream> {
  const u = await startUpstream(name);
  cleanups.push(() => u.close());
  return u;
}

async function rules(files: Record<string, string>): Promise<RulesDir> {
  const r = await rulesDir();
  cleanups.push(() => r.cleanup());
  for (const [name, text] of Object.entries(files)) await r.write(name, text);
  return r;
}

/** Which echo upstream answered a GET on a fresh connection from `from` (throws unless 200). */
async function who(url: string, host: string, from = "127.0.0.1", headers: Record<string, string> = {}): Promise<{ name: string; setCookie: string[] }> {
  const res = await getFrom(url, from, { host, ...headers });
  if (res.status !== 200) throw new Error(`GET ${host} from ${from} answered ${res.status}: ${res.body}`);
  return { name: (JSON.parse(res.body) as { name: string }).name, setCookie: res.headers["set-cookie"] ?? [] };
}

/** The workers' request counts once they add up to `total` (each worker tells its count within 100 ms). */
async function countsWhenTotal(c: Cluster, total: number): Promise<number[]> {
  let counts: number[] = [];
  await waitFor(async () => {
    counts = (await c.workers()).map((w) => w.requests);
    return counts.reduce((a, b) => a + b, 0) >= total;
  }, `workers' counts adding up to ${total}`);
  return counts;
}

const site = (name: string, host: string, port: number): string => docs(serviceYaml(name, [port]), ingressYaml(name, host, [{ path: "/", service: name }]));

describe("--workers 2", () => {
  it("two workers serve one port (a configuration error logged once); an edit is swapped in by both (one version, logged with its skew) and served whichever answers; /api/stats and /metrics add up both", async () => {
    const a = await upstream("a");
    const b = await upstream("b");
    const r = await rules({ "one.yaml": site("one", "one.localhost", a.port), "bad.yaml": "kind: [\n" });
    const c = await startWorkers(r);
    // A configuration error is logged once, by the primary, not again by each worker.
    expect(c.proc.stdout().split("\n").filter((l) => l.includes('"level":50') && l.includes("bad.yaml"))).toHaveLength(1);

    const before = await c.workers();
    expect(before).toHaveLength(2);
    expect(new Set(before.map((w) => w.pid)).size).toBe(2);
    expect(before.every((w) => w.ready && w.version === before[0]!.version)).toBe(true);
    expect((await get(`${c.admin}/readyz`)).status).toBe(200);

    await r.write("two.yaml", site("two", "two.localhost", b.port));
    const version = before[0]!.version + 1;
    const swapped = await c.proc.waitFor(new RegExp(`"version":${version},"generation":\\d+,"workers":2,"skew_ms":(\\d+),"msg":"configuration swapped in every worker"`));
    const after = await c.workers();
    expect(after.map((w) => w.version)).toEqual([version, version]);
    process.stdout.write(`workers: swap skew between the 2 workers: ${swapped[1]} ms\n`);

    for (let i = 0; i < 12; i++) expect((await who(c.url, "two.localhost")).name).toBe("b");
    for (let i = 0; i < 12; i++) expect((await who(c.url, "one.localhost")).name).toBe("a");
    const counts = await countsWhenTotal(c, 24);
    expect(counts.every((n) => n > 0), `each worker answered some: ${counts.join(", ")}`).toBe(true);

    // The admin API counts every worker's requests: 12 per host, however they were split.
    let stats: { hosts: Record<string, { requests: number }>; total: { requests: number } } | undefined;
    await waitFor(async () => {
      stats = JSON.parse((await get(`${c.admin}/api/stats`)).body) as typeof stats;
      return stats!.total.requests >= 24;
    }, "/api/stats counting 24 requests");
    expect(stats!.hosts["one.localhost"]?.requests).toBe(12);
    expect(stats!.hosts["two.localhost"]?.requests).toBe(12);
    const metrics = (await get(`${c.admin}/metrics`)).body;
    expect(metrics).toMatch(/^ingressd_requests_total\{host="one\.localhost",service="default\/one:80",status_class="2xx"\} 12$/m);
    expect(metrics).toMatch(/^ingressd_requests_total\{host="two\.localhost",service="default\/two:80",status_class="2xx"\} 12$/m);
    // Each worker reloaded twice (the start, with bad.yaml's error, then the edit): counted once, not per worker.
    expect(metrics).toMatch(/^ingressd_config_reloads_total\{result="error"\} 1$/m);
    expect(metrics).toMatch(/^ingressd_config_reloads_total\{result="success"\} 1$/m);
    expect(metrics).toMatch(/^ingressd_config_errors 1$/m);
  });

  it("a reload under load drops nothing: two keep-alive clients loop while a rules file changes, no error, the new route served", async () => {
    const a = await upstream("a");
    const a2 = await upstream("a2");
    const r = await rules({ "one.yaml": site("one", "one.localhost", a.port) });
    const c = await startWorkers(r);

    const errors: string[] = [];
    const seen = new Set<string>();
    let requests = 0;
    let running = true;
    /** One client connection (one worker): after it saw the new configuration, never the old one again. */
    const loop = async (): Promise<void> => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      let swapped = false;
      try {
        while (running) {
          for (const host of ["one.localhost", "two.localhost"]) {
            const res = await keepAliveGet(agent, `${c.url}/`, host).catch((err: Error) => ({ status: 0, body: err.message }));
            requests++;
            const name = res.status === 200 ? (JSON.parse(res.body) as { name: string }).name : undefined;
            if (name === "a2") swapped = true;
            if (name) seen.add(`${host} ${name}`);
            // Before the swap two.localhost is not served yet (404) and one.localhost goes to a.
            const expected = swapped ? "a2" : host === "one.localhost" ? "a" : undefined;
            const ok = name === expected && (name !== undefined || res.status === 404);
            if (!ok) errors.push(`${host}: ${res.status} ${res.body}`);
          }
        }
      } finally {
        agent.destroy();
      }
    };
    const loops = [loop(), loop()];
    await waitFor(() => seen.has("one.localhost a") && requests > 50, "requests flowing");
    // One change moves one.localhost to another endpoint and adds two.localhost.
    await r.write("one.yaml", docs(site("one", "one.localhost", a2.port), site("two", "two.localhost", a2.port)));
    const swapped = await c.proc.waitFor(/"version":2,"generation":\d+,"workers":2,"skew_ms":(\d+),"msg":"configuration swapped in every worker"/);
    process.stdout.write(`workers: swap skew between the 2 workers under load: ${swapped[1]} ms\n`);
    await waitFor(() => seen.has("two.localhost a2") && seen.has("one.localhost a2"), "the new routes served", 10_000);
    const at = requests;
    await waitFor(() => requests > at + 50, "more requests after the swap");
    running = false;
    await Promise.all(loops);
    expect(errors).toEqual([]);
    const counts = await countsWhenTotal(c, requests);
    expect(counts.every((n) => n > 0), `each worker answered some: ${counts.join(", ")}`).toBe(true);
  });

  it("ClientIP and cookie affinity give the same endpoint whichever worker answers", async () => {
    const ups = await Promise.all(["a", "b", "c"].map(upstream));
    const ports = ups.map((u) => u.port);
    const r = await rules({
      "ip.yaml": docs(affinityService("ip", { affinity: "ClientIP", timeoutSeconds: 600 }), endpointsYaml("ip", ports), ingressFor("ip", "ip.localhost", [{ path: "/", service: "ip", port: 80 }])),
      "cookie.yaml": docs(affinityService("ck"), endpointsYaml("ck", ports), ingressYaml("ck", "ck.localhost", [{ path: "/", service: "ck" }], { affinity: "cookie" })),
    });
    const c = await startWorkers(r);

    // A client seen by one worker only first: per-process placement (round robin) would
    // now place the next clients differently in each worker.
    await who(c.url, "ip.localhost", "127.0.0.9");
    let total = 1;
    for (const client of ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"]) {
      const names = [];
      for (let i = 0; i < 6; i++) names.push((await who(c.url, "ip.localhost", client)).name);
      total += 6;
      expect(new Set(names).size, `${client}: ${names.join(",")}`).toBe(1);
    }

    const first = await who(c.url, "ck.localhost");
    const cookie = first.setCookie[0]!.split(";")[0]!;
    expect(cookie).toMatch(/^INGRESSCOOKIE=/);
    for (let i = 0; i < 12; i++) expect((await who(c.url, "ck.localhost", "127.0.0.1", { cookie })).name).toBe(first.name);
    total += 13;

    const counts = await countsWhenTotal(c, total);
    expect(counts.every((n) => n > 0), `each worker answered some: ${counts.join(", ")}`).toBe(true);
  });

  it("SIGTERM to the whole process group (Ctrl-C, systemd) drains through the primary: no worker is replaced, exit 0", async () => {
    const a = await upstream("a");
    const r = await rules({ "one.yaml": site("one", "one.localhost", a.port) });
    const c = await startWorkers(r);
    const pids = (await c.workers()).map((w) => w.pid);
    process.kill(-c.proc.child.pid!, "SIGTERM");
    expect((await c.proc.exited).code, c.proc.stderr() + c.proc.stdout().split("\n").filter((l) => !l.includes('"msg":"request"')).join("\n")).toBe(0);
    expect(c.proc.stdout()).not.toContain("starting another");
    expect(c.proc.stdout().match(/"why":"drain"/g)).toHaveLength(2);
    for (const pid of pids) expect(() => process.kill(pid, 0), `worker ${pid} gone`).toThrow();
  });

  it("HTTPS with the local CA: both workers open one HTTPS port and serve leaves of the one CA they share (created once, not by each), shown in /api/config", async () => {
    const a = await upstream("a");
    const r = await rules({ "tls.yaml": docs(serviceYaml("web", [a.port]), tlsIngressYaml("web", { hosts: ["tls.localhost"], service: "web", tls: [{ hosts: ["tls.localhost"] }] })) });
    const c = await startWorkers(r);
    const opened = await c.proc.waitFor(/"worker":\d+,"https":"127\.0\.0\.1:(\d+)"[^\n]*\n(?:.*\n)*.*"worker":\d+,"https":"127\.0\.0\.1:(\d+)"/);
    expect(opened[2]).toBe(opened[1]);
    const ca = await readFile(join(c.dataDir, "ca.crt"), "utf8");
    for (let i = 0; i < 12; i++) {
      const res = await httpsGet(Number(opened[1]), "tls.localhost", "/", { ca });
      expect(res.status).toBe(200);
      expect((JSON.parse(res.body) as { name: string }).name).toBe("a");
    }
    const counts = await countsWhenTotal(c, 12);
    expect(counts.every((n) => n > 0), `each worker answered some: ${counts.join(", ")}`).toBe(true);
    expect(c.proc.stdout().match(/created the local development CA/g)).toHaveLength(1);
    // /api/config shows the leaves the workers issued, one per host.
    let localCa: { certPath: string; leaves: { host: string }[] } | null = null;
    await waitFor(async () => {
      localCa = (JSON.parse((await get(`${c.admin}/api/config`)).body) as { localCa: typeof localCa }).localCa;
      return localCa !== null;
    }, "the local CA in /api/config");
    expect(localCa!.certPath).toBe(join(c.dataDir, "ca.crt"));
    // Each worker issued its own default certificate and tls.localhost leaf: one of each is listed.
    expect(localCa!.leaves.map((l) => l.host).sort()).toEqual(["localhost", "tls.localhost"]);
  });

  it("an ingressd run registration, a NodePort listener and the dashboard's recent requests reach every worker", async () => {
    const app = await upstream("app");
    const tcp = await namedEchoServer("tcp");
    cleanups.push(() => tcp.close());
    const port = await nodePort();
    const r = await rules({ "tcp.yaml": l4ServiceYaml("tcp", { nodePort: port, endpoints: [tcp.port] }) });
    const c = await startWorkers(r);

    // Registered for as long as this request stays open; answered once every worker serves it.
    const registration = await register(c.admin, "app", app.port);
    cleanups.push(() => registration.close());
    expect(JSON.parse(registration.first)).toMatchObject({ host: "app.localhost", http: `http://app.localhost:${new URL(c.url).port}` });
    for (let i = 0; i < 12; i++) expect((await who(c.url, "app.localhost")).name).toBe("app");
    const counts = await countsWhenTotal(c, 12);
    expect(counts.every((n) => n > 0), `each worker answered some: ${counts.join(", ")}`).toBe(true);

    for (let i = 0; i < 6; i++) expect(await whoAnswersTcp(port)).toBe("tcp");
    const listeners = (JSON.parse((await get(`${c.admin}/api/config`)).body) as { listeners: { port: number; state: string }[] }).listeners;
    expect(listeners).toEqual([expect.objectContaining({ port, state: "listening" })]);

    // The primary's /api/requests holds what every worker answered.
    await waitFor(async () => {
      const { requests } = JSON.parse((await get(`${c.admin}/api/requests`)).body) as { requests: { host: string }[] };
      return requests.filter((q) => q.host === "app.localhost").length === 12;
    }, "the 12 requests in /api/requests");

    // The name goes when the registration's connection closes: in every worker.
    registration.close();
    await waitFor(async () => (await c.workers()).every((w) => w.version === 3), "both workers without the registration");
    for (let i = 0; i < 6; i++) expect((await get(`${c.url}/`, { host: "app.localhost" })).status).toBe(404);
  });

  it("the dashboard shows the workers and what all of them answered (rates, recent requests)", async () => {
    const a = await upstream("a");
    const r = await rules({ "one.yaml": site("one", "one.localhost", a.port) });
    const c = await startWorkers(r);
    for (let i = 0; i < 12; i++) await who(c.url, "one.localhost");
    const counts = await countsWhenTotal(c, 12);
    expect(counts.every((n) => n > 0), `each worker answered some: ${counts.join(", ")}`).toBe(true);

    const browser = await launchChromium();
    cleanups.push(() => browser.close());
    const page = await browser.newPage();
    await page.goto(`${c.admin}/`);
    await expect.poll(() => page.locator("#workers").textContent()).toBe("2 workers");
    expect(await page.locator("#workers").getAttribute("title")).toMatch(/^pid \d+: \d+ requests\npid \d+: \d+ requests$/);
    await expect.poll(() => page.locator("#requests tr").count()).toBe(12);
    expect(Number(await page.locator("#totalRate").textContent())).toBeGreaterThan(0);
  });

  it("a worker killed is logged and replaced, the new one serves; SIGTERM then drains every worker (an in-flight request completes) and exits 0", async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((res) => (release = res));
    const slow = await startUpstream((req, res) => {
      void held.then(() => res.end("slow done"));
    });
    cleanups.push(() => slow.close());
    const a = await upstream("a");
    const r = await rules({ "one.yaml": site("one", "one.localhost", a.port), "slow.yaml": site("slow", "slow.localhost", slow.port) });
    const c = await startWorkers(r);

    const [victim, other] = await c.workers();
    process.kill(victim!.pid, "SIGKILL");
    await c.proc.waitFor(new RegExp(`"pid":${victim!.pid},"code":null,"signal":"SIGKILL","msg":"worker exited; starting another"`));
    let now: WorkerView[] = [];
    await waitFor(async () => {
      now = await c.workers();
      return now.length === 2 && now.every((w) => w.ready) && !now.some((w) => w.pid === victim!.pid);
    }, "a replacement worker, ready", 10_000);
    const replacement = now.find((w) => w.pid !== other!.pid)!;
    expect(replacement.version).toBe(other!.version);
    for (let i = 0; i < 10; i++) expect((await who(c.url, "one.localhost")).name).toBe("a");
    let replacementCount = 0;
    await waitFor(async () => {
      replacementCount = (await c.workers()).find((w) => w.pid === replacement.pid)?.requests ?? 0;
      return replacementCount > 0;
    }, "the replacement answering");

    const inFlight = get(`${c.url}/`, { host: "slow.localhost" });
    await waitFor(() => slow.received.length === 1, "the slow request upstream");
    process.kill(c.proc.child.pid!, "SIGTERM");
    await c.proc.waitFor(/"why":"drain".*\n(.*\n)*.*"why":"drain"/);
    release();
    const res = await inFlight;
    expect(res).toMatchObject({ status: 200, body: "slow done" });
    expect((await c.proc.exited).code, c.proc.stderr() + c.proc.stdout().split("\n").filter((l) => !l.includes('"msg":"request"')).join("\n")).toBe(0);
    for (const pid of [other!.pid, replacement.pid]) expect(() => process.kill(pid, 0), `worker ${pid} gone`).toThrow();
  });
});

describe("MirroredSource: what the primary tells its workers", () => {
  it("numbers each batch; a read of everything is told as the changes it makes (removals included); inputs() is what they add up to", async () => {
    // A source like the files: what readAll finds now, and changes its watcher reports.
    let present: ConfigChange[] = [{ path: "a", text: "1" }, { path: "b", text: "2" }];
    let report: (changes: ConfigChange[]) => void = () => undefined;
    const files: ConfigSource = { readAll: async () => present, watch: async (on) => void (report = on), close: async () => undefined };
    const told: [ConfigChange[], number][] = [];
    const mirrored = new MirroredSource(files, (changes, version) => told.push([changes, version]));
    const applied: ConfigChange[][] = [];
    await mirrored.watch((changes) => applied.push(changes));
    expect(await mirrored.readAll()).toEqual(present);
    report([{ path: "c", text: "3" }]);
    report([{ path: "a", text: null }]);
    // A read of everything finds b changed and c gone, unreported by the watcher (as with --no-watch).
    present = [{ path: "b", text: "2b" }];
    await mirrored.readAll();
    expect(told).toEqual([
      [[{ path: "a", text: "1" }, { path: "b", text: "2" }], 1],
      [[{ path: "c", text: "3" }], 2],
      [[{ path: "a", text: null }], 3],
      [[{ path: "b", text: "2b" }, { path: "c", text: null }], 4],
    ]);
    expect(applied).toEqual([[{ path: "c", text: "3" }], [{ path: "a", text: null }]]);
    expect(mirrored.version).toBe(4);
    expect(mirrored.inputs()).toEqual([{ path: "b", text: "2b" }]);
  });
});

describe("the local CA opened by several workers at once", () => {
  it("two opens racing on an empty data directory end with one CA: the one on disk, signing for both", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "ingressd-workers-ca-"));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const [one, two] = await Promise.all([LocalCa.open(dataDir), LocalCa.open(dataDir)]);
    expect([one.created, two.created].filter(Boolean)).toHaveLength(1);
    const onDisk = await readFile(join(dataDir, "ca.crt"), "utf8");
    expect(one.certPem).toBe(onDisk);
    expect(two.certPem).toBe(onDisk);
  });
});

describe("--workers flag", () => {
  it.each<[string[], Record<string, string>, number | undefined]>([
    [[], {}, undefined],
    [["--workers", "2"], {}, 2],
    [["--workers=1"], {}, 1],
    [["--workers", "auto"], {}, availableParallelism()],
    [[], { INGRESSD_WORKERS: "3" }, 3],
    [["--workers", "4"], { INGRESSD_WORKERS: "3" }, 4],
  ])("%j %j → %s", (argv, env, workers) => {
    const options = parseOptions(argv, env);
    expect(options === "help" || options === "version" ? undefined : options.workers).toBe(workers);
  });

  it.each<[string[], Record<string, string>, RegExp]>([
    [["--workers", "0"], {}, /--workers must be a number of processes from 1 to 1024, or auto \(one per core\), not "0"/],
    [["--workers", "two"], {}, /--workers .* not "two"/],
    [["--workers", "1.5"], {}, /--workers .* not "1\.5"/],
    [[], { INGRESSD_WORKERS: "-1" }, /INGRESSD_WORKERS .* not "-1"/],
  ])("%j %j is a usage error", (argv, env, message) => {
    expect(() => parseOptions(argv, env)).toThrow(message);
  });

  it("an HTTP port in use: the worker says so in one line, the primary stops, exit 1, no stack trace", async () => {
    const taken = await startUpstream("taken");
    cleanups.push(() => taken.close());
    const r = await rules({});
    const proc = startCli(cli, ["--rules", r.dir, "--bind", "127.0.0.1", "--http-port", String(taken.port), "--admin-port", "0", "--workers", "2"]);
    cleanups.push(() => proc.killGroup());
    expect((await proc.exited).code).toBe(1);
    expect(proc.stderr()).toContain(`ingressd: cannot listen on 127.0.0.1:${taken.port} (address already in use): choose another with --http-port or INGRESSD_HTTP_PORT\n`);
    expect(proc.stderr()).toMatch(/ingressd: worker \d+ ended before it listened \(exit code 1\): ingressd stops\n/);
    expect(proc.stderr()).not.toMatch(/^\s+at /m);
  });

  it("ingressd proxy serves from one process: --workers is a usage error there (exit 2)", async () => {
    const proc = startCli(cli, ["proxy", "--from", "app.localhost", "--to", ":3000", "--workers", "2"]);
    cleanups.push(() => proc.killGroup());
    expect((await proc.exited).code).toBe(2);
    expect(proc.stderr()).toMatch(/--workers is for ingressd serving a rules folder/);
  });
});

/** POST /api/registrations, held open: `first` is the answer's first line, `close` ends the registration. */
function register(admin: string, name: string, port: number): Promise<{ first: string; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = request(`${admin}/api/registrations`, { method: "POST", agent: false, headers: { "content-type": "application/json" } }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (chunk: string) => {
        text += chunk;
        if (text.includes("\n")) resolve({ first: text.slice(0, text.indexOf("\n")), close: () => req.destroy() });
      });
      res.on("end", () => reject(new Error(`registration answered ${res.statusCode}: ${text}`)));
    });
    req.on("error", reject);
    req.end(JSON.stringify({ name, port }));
  });
}

/** A GET on a keep-alive agent (one socket per agent: one client connection). */
function keepAliveGet(agent: Agent, url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { host } }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}
