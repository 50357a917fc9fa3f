import { mkdtemp, readFile, rm } from "node:fs/promises";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { get, nextReload, rulesDir, serviceYaml, startProxy, startUpstream, type RulesDir, type Upstream } from "./helpers.js";
import { l4ServiceYaml, nodePort } from "./l4Helpers.js";
import { freePort, inspect, waitFor, type Proxy } from "./proxyHelpers.js";
import { httpsGet, tlsIngressYaml } from "./tlsHelpers.js";

/** Resolves once a TCP connection to 127.0.0.1:`port` is accepted. */
function tcpAccepts(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.destroy();
      resolve();
    });
    socket.once("error", reject);
  });
}

/** Polls /readyz as a readiness probe would (no event tells an outside observer), until 200. */
async function untilReady(adminPort: number): Promise<void> {
  const status = (): Promise<number> => get(`http://127.0.0.1:${adminPort}/readyz`).then((r) => r.status, () => 0);
  await waitFor(async () => (await status()) === 200, "/readyz to answer 200", 15_000, 1);
}

describe("/readyz means every configured listener accepts (issue 9.11)", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  async function fixture(): Promise<{ up: Upstream; rules: RulesDir; dataDir: string }> {
    const up = await startUpstream(inspect("web"));
    const rules = await rulesDir();
    const dataDir = await mkdtemp(join(tmpdir(), "ingressd-data-")); // new: the local CA is created at start
    cleanups.push(() => up.close(), () => rules.cleanup(), () => rm(dataDir, { recursive: true, force: true }));
    await rules.write("svc.yaml", serviceYaml("web", [up.port]));
    return { up, rules, dataDir };
  }

  it("at start with a new data directory: once /readyz says 200, HTTP, HTTPS and the L4 listener accept", async () => {
    const { up, rules, dataDir } = await fixture();
    const l4Port = await nodePort();
    await rules.write("tls.yaml", tlsIngressYaml("app", { hosts: ["app.localhost"], service: "web", tls: [{ hosts: ["app.localhost"] }] }));
    await rules.write("tcp.yaml", l4ServiceYaml("tcp", { nodePort: l4Port, endpoints: [up.port] }));
    const [adminPort, httpPort, httpsPort] = [await freePort(), await freePort(), await freePort()];
    const starting = startProxy([rules.dir], { adminPort, httpPort, httpsPort, dataDir });
    cleanups.push(() => starting.then((p) => p.close()));

    await untilReady(adminPort);
    const ca = await readFile(join(dataDir, "ca.crt"), "utf8").catch(() => "(no ca.crt yet)");
    const res = await httpsGet(httpsPort, "app.localhost", "/first", { ca });
    expect(res.status).toBe(200);
    expect((await get(`http://127.0.0.1:${httpPort}/x`, { host: "app.localhost" })).status).toBe(308);
    await tcpAccepts(l4Port);
    const config = JSON.parse((await get(`http://127.0.0.1:${adminPort}/api/config`)).body) as { ready: boolean };
    expect(config.ready).toBe(true);
  });

  it("after a reload that adds TLS and an L4 listener: once /readyz says 200 again, both accept", async () => {
    const { up, rules, dataDir } = await fixture();
    await rules.write("plain.yaml", tlsIngressYaml("plain", { hosts: ["plain.test"], service: "web" }));
    const httpsPort = await freePort();
    const proxy: Proxy = await startProxy([rules.dir], { httpsPort, dataDir });
    cleanups.push(() => proxy.close());
    expect((await get(`${proxy.admin}/readyz`)).status).toBe(200);
    expect(proxy.httpsPort).toBeUndefined();

    const l4Port = await nodePort();
    const reloaded = nextReload(proxy, (s) => s.tls.size > 0 && s.l4.listeners.length > 0);
    await rules.write("tcp.yaml", l4ServiceYaml("tcp", { nodePort: l4Port, endpoints: [up.port] }));
    await rules.write("tls.yaml", tlsIngressYaml("app", { hosts: ["app.localhost"], service: "web", tls: [{ hosts: ["app.localhost"] }] }));
    await reloaded;
    await untilReady(proxy.adminPort);
    const ca = await readFile(join(dataDir, "ca.crt"), "utf8").catch(() => "(no ca.crt yet)");
    const res = await httpsGet(httpsPort, "app.localhost", "/after-reload", { ca });
    expect(res.status).toBe(200);
    await tcpAccepts(l4Port);
  });

  it("a listener that cannot bind does not hold readiness: it is an error in /api/config", async () => {
    const { up, rules } = await fixture();
    const taken = await nodePort();
    const squatter: Server = createServer();
    await new Promise<void>((res) => squatter.listen(taken, "127.0.0.1", res));
    cleanups.push(() => new Promise((res) => squatter.close(res)));
    await rules.write("tcp.yaml", l4ServiceYaml("tcp", { nodePort: taken, endpoints: [up.port] }));
    const proxy: Proxy = await startProxy([rules.dir]);
    cleanups.push(() => proxy.close());
    expect((await get(`${proxy.admin}/readyz`)).status).toBe(200);
    const config = JSON.parse((await get(`${proxy.admin}/api/config`)).body) as { ready: boolean; errors: { code: string }[] };
    expect(config.ready).toBe(true);
    expect(config.errors.map((e) => e.code)).toContain("listen-failed");
  });
});
