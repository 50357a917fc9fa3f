import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildCli, startCli, type CliProcess } from "./cliProcess.js";
import { eventually, startApiServer } from "./clusterHelpers.js";
import { endpointSlice, ingress, namespace, service, shopWeb } from "./clusterObjects.js";
import { freePort, get, startUpstream, type Upstream } from "./helpers.js";
import type { KubeApiServer } from "./kube/apiServer.js";

/**
 * `ingressd --source kubernetes` as a new user runs it: the built CLI as a process,
 * pointed at the test API server through a kubeconfig file, as at a real cluster.
 */

let cli: string;
let api: KubeApiServer;
let kubeconfig: string;
let closeApi: () => Promise<void>;
let shop: Upstream;
let blog: Upstream;

beforeAll(async () => {
  cli = buildCli("clusterCli");
  ({ api, kubeconfig, close: closeApi } = await startApiServer());
  shop = await startUpstream("shop");
  blog = await startUpstream("blog");
  api.create(namespace("ingressd"));
  for (const o of shopWeb(shop.port)) api.create(o);
}, 120_000);

afterAll(async () => {
  await closeApi();
  await shop.close();
  await blog.close();
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Running {
  proc: CliProcess;
  url: string;
  admin: string;
}

/** The CLI on ephemeral loopback ports (read from its "ingressd listening" line), with its own data dir. */
async function startIngressd(args: string[], env: Record<string, string> = {}): Promise<Running> {
  const dataDir = await mkdtemp(join(tmpdir(), "ingressd-cluster-cli-"));
  const proc = startCli(cli, ["--bind", "127.0.0.1", "--http-port", "0", "--https-port", "0", "--admin-port", "0", "--data-dir", dataDir, ...args], {
    POD_NAMESPACE: "ingressd",
    POD_NAME: "ingressd-cli-0",
    ...env,
  });
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  cleanups.push(() => proc.killGroup());
  const m = await proc.waitFor(/"http":"127\.0\.0\.1:(\d+)","admin":"127\.0\.0\.1:(\d+)"/);
  return { proc, url: `http://127.0.0.1:${m[1]}`, admin: `http://127.0.0.1:${m[2]}` };
}

const lease = (): { holderIdentity?: string; leaseTransitions?: number } | undefined =>
  api.get("leases", "ingressd", "ingressd-leader")?.spec as { holderIdentity?: string } | undefined;

const nameFrom = async (url: string, host: string): Promise<string> => {
  const res = await get(`${url}/`, { host });
  if (res.status !== 200) throw new Error(`GET ${host} answered ${res.status}: ${res.body}`);
  return (JSON.parse(res.body) as { name: string }).name;
};

describe("ingressd --source kubernetes, the built CLI", () => {
  it("--kubeconfig FILE: serves the cluster's Ingress from its EndpointSlice, says it reads the API and is connected; SIGTERM releases the Lease and exits 0", async () => {
    const d = await startIngressd(["--source", "kubernetes", "--kubeconfig", kubeconfig]);
    expect(await nameFrom(d.url, "shop.example")).toBe("shop");
    expect(d.proc.stdout()).toMatch(new RegExp(`"server":"${api.url.replace(/\./g, "\\.")}","namespace":"all",[^\\n]*"msg":"reading the configuration from the Kubernetes API"`));
    const config = JSON.parse((await get(`${d.admin}/api/config`)).body) as { source: Record<string, unknown> };
    expect(config.source).toMatchObject({ kind: "kubernetes", connected: true, server: api.url });
    expect((await get(`${d.admin}/readyz`)).status).toBe(200);

    // Leader (the only replica), then it steps down on SIGTERM as client-go's ReleaseOnCancel does.
    await eventually(() => lease()?.holderIdentity === "ingressd-cli-0", 10_000, "the Lease held by ingressd-cli-0");
    d.proc.child.kill("SIGTERM");
    expect(await d.proc.exited).toEqual({ code: 0, signal: null });
    expect(lease()?.holderIdentity).toBe("");
    expect(d.proc.stderr()).toBe("");
  });

  it("KUBECONFIG=FILE in the environment instead of the flag", async () => {
    const d = await startIngressd(["--source", "kubernetes"], { KUBECONFIG: kubeconfig });
    expect(await nameFrom(d.url, "shop.example")).toBe("shop");
    expect(JSON.parse((await get(`${d.admin}/api/config`)).body).source).toMatchObject({ kind: "kubernetes", connected: true, server: api.url });
    d.proc.child.kill("SIGTERM");
    expect((await d.proc.exited).code).toBe(0);
  });

  it("--workers 2: the primary reads the cluster, both workers serve its Ingress, and a change in the API server reaches both; SIGTERM stops all", async () => {
    const d = await startIngressd(["--source", "kubernetes", "--kubeconfig", kubeconfig, "--workers", "2"]);
    type WorkerView = { pid: number; version: number; ready: boolean; requests: number };
    const workers = async (): Promise<WorkerView[]> => (JSON.parse((await get(`${d.admin}/api/config`)).body) as { workers: WorkerView[] }).workers;
    const before = await eventually(async () => {
      const w = await workers();
      return w.length === 2 && w.every((x) => x.ready) ? w : undefined;
    }, 10_000, "two ready workers");
    // The workers do not read the API server themselves: only the primary lists and watches.
    expect(d.proc.stdout().match(/"msg":"reading the configuration from the Kubernetes API"/g)).toHaveLength(1);

    api.create(service("shop", "blog"));
    for (const s of endpointSlice("shop", "blog", [blog.port])) api.create(s);
    api.create(ingress("shop", "blog", "blog.example", "blog"));
    cleanups.push(() => {
      api.remove("ingresses", "shop", "blog");
      api.remove("services", "shop", "blog");
      api.remove("endpointslices", "shop", "blog-0");
    });
    const version = before[0]!.version + 1;
    await d.proc.waitFor(new RegExp(`"version":${version},"generation":\\d+,"workers":2,"skew_ms":\\d+,"msg":"configuration swapped in every worker"`));
    const counted = before.reduce((n, w) => n + w.requests, 0);
    // Each request is a new connection: the primary hands connections to the workers in turn.
    for (let i = 0; i < 20; i++) expect(await nameFrom(d.url, "blog.example")).toBe("blog");
    const after = await eventually(async () => {
      const w = await workers();
      return w.reduce((n, x) => n + x.requests, 0) >= counted + 20 ? w : undefined;
    }, 10_000, "the workers' counts adding up to 20 more");
    for (const w of after) {
      const was = before.find((b) => b.pid === w.pid)!;
      expect(w.requests - was.requests, `worker ${w.pid} answered some of the new route`).toBeGreaterThan(0);
    }

    process.kill(-d.proc.child.pid!, "SIGTERM");
    expect(await d.proc.exited).toEqual({ code: 0, signal: null });
    for (const w of after) expect(() => process.kill(w.pid, 0), `worker ${w.pid} gone`).toThrow();
  });

  /** The CLI started against `kubeconfig`: how it ended and what it said. */
  async function failedStart(file: string): Promise<{ code: number | null; stderr: string }> {
    const proc = startCli(cli, ["--source", "kubernetes", "--kubeconfig", file, "--bind", "127.0.0.1", "--http-port", "0", "--https-port", "0", "--admin-port", "0"]);
    cleanups.push(() => proc.killGroup());
    return { code: (await proc.exited).code, stderr: proc.stderr() };
  }

  it("a kubeconfig that does not exist: one line naming the file and the settings, no stack trace, exit 1", async () => {
    const missing = join(tmpdir(), "ingressd-no-such-dir", "kubeconfig");
    const res = await failedStart(missing);
    expect(res.stderr).toBe(`ingressd: cannot read the kubeconfig ${missing} (no such file): give another with --kubeconfig, INGRESSD_KUBECONFIG or KUBECONFIG\n`);
    expect(res.code).toBe(1);
  });

  it("a kubeconfig whose current context names no cluster: one line naming the file, exit 1", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ingressd-empty-kubeconfig-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, "kubeconfig");
    await writeFile(file, "apiVersion: v1\nkind: Config\n");
    const res = await failedStart(file);
    expect(res.stderr).toBe(`ingressd: cannot use the kubeconfig ${file}: the kubeconfig's current context (none) names no cluster\n`);
    expect(res.code).toBe(1);
  });

  it("an API server not reachable at start: says so in the log, healthy but not ready while it does not answer", async () => {
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), "ingressd-kc-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const unreachable = join(dir, "kubeconfig");
    await writeFile(unreachable, api.kubeconfig().replace(api.url, `https://127.0.0.1:${port}`));
    const admin = await freePort();
    const dataDir = await mkdtemp(join(tmpdir(), "ingressd-cluster-cli-"));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const proc = startCli(cli, ["--source", "kubernetes", "--kubeconfig", unreachable, "--bind", "127.0.0.1", "--http-port", "0", "--https-port", "0", "--admin-port", String(admin), "--data-dir", dataDir], { POD_NAMESPACE: "ingressd", POD_NAME: "ingressd-cli-0" });
    cleanups.push(() => proc.killGroup());
    await proc.waitFor(/"msg":"Kubernetes API server not reachable: the last configuration \(if any\) keeps serving; retrying with backoff"/);
    expect(proc.stdout()).toMatch(/"error":"[a-z]+: connect ECONNREFUSED 127\.0\.0\.1:\d+"/);
    const ready = await get(`http://127.0.0.1:${admin}/readyz`);
    expect([ready.status, ready.body]).toEqual([503, "configuration not loaded yet\n"]);
    expect((await get(`http://127.0.0.1:${admin}/healthz`)).status).toBe(200);
    proc.child.kill("SIGTERM");
    await proc.exited;
  });
});
