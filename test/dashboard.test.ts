import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { launchChromium } from "./browser.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { proxyRules } from "../src/commands/proxy.js";
import { defaultBackendYaml, get, ingressYaml, nextReload, rulesDir, serviceYaml, startProxy, startUpstream, type RulesDir, type Upstream } from "./helpers.js";
import { handshake, lineOf, tlsIngressYaml } from "./tlsHelpers.js";

/**
 * The dashboard in a real browser (Debian's chromium, driven by playwright-core).
 * `.ci/run` installs chromium; without it the suite fails rather than skipping, so a
 * missing browser is never mistaken for a passing dashboard.
 */
describe("dashboard in a real browser", () => {
  let upstreams: Upstream[];
  let rules: RulesDir;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  let browser: Browser;
  let dataDir: string;
  let defaultPath: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "ingressd-data-"));
    upstreams = await Promise.all(["web", "api", "shop"].map((n) => startUpstream(n)));
    rules = await rulesDir();
    await rules.write("services.yaml", ["web", "api", "shop"].map((n, i) => serviceYaml(n, [upstreams[i]!.port])).join("---\n"));
    await rules.write("web.yaml", ingressYaml("web", "web.localhost", [{ path: "/", service: "web" }]));
    await rules.write("api.yaml", ingressYaml("api", "api.localhost", [{ path: "/v1", service: "api" }, { path: "/healthz", pathType: "Exact", service: "api" }]));
    // A broken file: its error must be on the page with file:line.
    await rules.write("broken.yaml", ingressYaml("broken", "broken.localhost", [{ path: "/", pathType: "Foo", service: "web" }]));
    // A TLS host without a Secret: the local CA issues its leaf at the first handshake.
    await rules.write("app.yaml", tlsIngressYaml("app", { hosts: ["app.localhost"], service: "web", tls: [{ hosts: ["app.localhost"] }] }));
    defaultPath = await rules.write("default.yaml", defaultBackendYaml("web"));
    proxy = await startProxy([rules.dir], { httpsPort: 0, dataDir });
    expect((await handshake(await proxy.httpsReady(), "app.localhost")).cn).toBe("app.localhost");
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await Promise.all((upstreams ?? []).map((u) => u.close()));
    await rules?.cleanup();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("shows hosts, health, errors, and follows a rules change without a page reload", async () => {
    for (let i = 0; i < 5; i++) await get(`${proxy.url}/`, { host: "web.localhost" });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${proxy.admin}/`);

    const routes = page.locator("#routes");
    await expect.poll(() => routes.textContent()).toContain("web.localhost");
    expect(await routes.textContent()).toContain("api.localhost");
    expect(await routes.textContent()).toContain("default/api:80");
    expect(await page.locator("#routes .dot.up").count()).toBeGreaterThan(0);
    const issues = await page.locator("#issues").textContent();
    expect(issues).toMatch(/broken\.yaml:\d+:\d+: error: must be one of Exact, ImplementationSpecific, Prefix/);
    expect(await page.locator("#generation").textContent()).toBe(String(proxy.runtime.current.generation));

    // Traffic between two polls shows up as a rate.
    for (let i = 0; i < 20; i++) await get(`${proxy.url}/v1/x`, { host: "api.localhost" });
    await expect.poll(async () => Number((await page.locator("#totalRate").textContent()) ?? 0), { timeout: 10_000 }).toBeGreaterThan(0);

    // A new host appears without reloading the page (the page polls the API).
    const navigations: string[] = [];
    page.on("framenavigated", (f) => navigations.push(f.url()));
    const reloaded = nextReload(proxy, (s) => s.routes.lookup("shop.localhost", "/") !== undefined);
    await rules.write("shop.yaml", ingressYaml("shop", "shop.localhost", [{ path: "/", service: "shop" }]));
    await reloaded;
    await expect.poll(() => routes.textContent(), { timeout: 10_000 }).toContain("shop.localhost");
    expect(navigations).toEqual([]);

    const shot = join(rules.dir, "dashboard.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect(existsSync(shot)).toBe(true);
    if (process.env.INGRESSD_UPDATE_SCREENSHOT) {
      await mkdir("docs", { recursive: true });
      await copyFile(shot, join("docs", "dashboard.png"));
    }
    await page.close();
  });

  it("first paint: rates per route (host + path) from the server's own window, with a single /api/stats reading", async () => {
    for (let i = 0; i < 6; i++) await get(`${proxy.url}/v1/first-paint`, { host: "api.localhost" });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // Only the first reading gets through: rates the page would compute from two of its own readings never appear.
    let readings = 0;
    await page.route("**/api/stats", (route) => (readings++ === 0 ? route.continue() : route.abort()));
    await page.goto(`${proxy.admin}/`);
    const v1 = page.locator("#routes tr", { hasText: "/v1" });
    const rate = (row: typeof v1, column: number) => row.locator("td.num").nth(column).textContent();
    await expect.poll(() => rate(v1, 0), { timeout: 10_000 }).toMatch(/^\d/);
    expect(Number(await rate(v1, 0))).toBeGreaterThan(0);
    expect(await rate(v1, 1)).toBe("0.0");
    // The host's other path has its own rate, not the host's.
    const healthz = page.locator("#routes tr", { hasText: "/healthz" });
    expect(await rate(healthz, 0)).toBe("0.0");
    expect(Number(await page.locator("#totalRate").textContent())).toBeGreaterThan(0);
    expect(await page.locator("#window").textContent()).toMatch(/^rates over the last \d+(\.\d)? s$/);
    await page.close();
  });

  it("recent requests: the last ones appear live without a page reload; the filter narrows them by host, path or status", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${proxy.admin}/`);
    const requests = page.locator("#requests");
    await get(`${proxy.url}/v1/live-one`, { host: "api.localhost" });
    // A TLS host over plain HTTP: redirected (308) to HTTPS.
    expect((await get(`${proxy.url}/to-https`, { host: "app.localhost" })).status).toBe(308);
    const row = requests.locator("tr", { hasText: "/v1/live-one" });
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1);
    expect(await row.textContent()).toContain("api.localhost");
    expect(await row.locator("td").nth(4).textContent()).toBe("200");
    expect(await row.locator("td").nth(6).textContent()).toBe(`127.0.0.1:${upstreams[1]!.port}`);
    expect(await row.locator("td").nth(5).textContent()).toMatch(/^\d+(\.\d+)?$/);
    await expect.poll(() => requests.locator("tr", { hasText: "/to-https" }).count(), { timeout: 10_000 }).toBe(1);

    await page.fill("#requestFilter", "live-one");
    await expect.poll(() => requests.locator("tr").count()).toBe(1);
    expect(await requests.textContent()).toContain("/v1/live-one");
    await page.fill("#requestFilter", "308");
    await expect.poll(async () => (await requests.locator("tr td:nth-child(5)").allTextContents()).every((t) => t === "308")).toBe(true);
    expect(await requests.textContent()).toContain("/to-https");
    // Live while filtered: a new matching request shows up.
    await get(`${proxy.url}/later`, { host: "app.localhost" });
    await expect.poll(() => requests.locator("tr", { hasText: "/later" }).count(), { timeout: 10_000 }).toBe(1);
    await page.close();
  });

  it("shows the local CA's leaves with their expiry, the default backend's source, and where a dropped route's host goes now", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${proxy.admin}/`);
    const leaf = page.locator("#localCa tr", { hasText: "app.localhost" });
    await expect.poll(() => leaf.count(), { timeout: 10_000 }).toBe(1);
    expect(await leaf.textContent()).toMatch(/^app\.localhost\d{4}-\d\d-\d\d \d\d:\d\d UTC \(6 days left\)$/);
    expect(await page.locator("#caPath").textContent()).toBe(`CA certificate: ${join(dataDir, "ca.crt")}`);

    const line = lineOf(defaultBackendYaml("web"), "defaultBackend:");
    const source = proxy.runtime.current.routes.defaultBackend!.origin.source;
    expect([line, line + 1]).toContain(source.line);
    const shortSource = defaultPath.split("/").slice(-2).join("/") + ":" + source.line;
    expect(await page.locator("#defaultBackend").textContent()).toContain(`default/fallback ${shortSource}`);
    expect(await page.locator("#unmatched").textContent()).toBe(`Requests no rule matches: the default backend default/web:80 (Ingress default/fallback, ${defaultPath}:${source.line})`);

    // broken.yaml's Ingress is rejected: its host's requests go to the default backend, as the proxy answers.
    expect(await page.locator("#issues").textContent()).toContain(`→ requests for broken.localhost/ now go to: the default backend default/web:80 (${defaultPath}:${source.line})`);
    expect((await get(`${proxy.url}/`, { host: "broken.localhost" })).body).toContain('"name":"web"');
    await page.close();
  });

  it("stays readable with 200 hosts: every host listed, the filter narrows them", async () => {
    const many = Array.from({ length: 200 }, (_, i) => ingressYaml(`h${i}`, `h${i}.many.localhost`, [{ path: "/", service: "web" }])).join("---\n");
    const reloaded = nextReload(proxy, (s) => s.routes.lookup("h199.many.localhost", "/") !== undefined);
    await rules.write("many.yaml", many);
    await reloaded;
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${proxy.admin}/`);
    await expect.poll(() => page.locator("#routes tr.host").count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(203);
    await page.fill("#filter", "h17");
    // h17, h170..h179
    await expect.poll(() => page.locator("#routes tr").count()).toBe(11);
    await page.close();
  });

  it("shows each route's filters, and an unsupported annotation as a warning with its line", async () => {
    const annotated = ingressYaml("secure", "secure.localhost", [{ path: "/", service: "web" }]).replace(
      "metadata:\n  name: secure\n",
      'metadata:\n  name: secure\n  annotations:\n    nginx.ingress.kubernetes.io/force-ssl-redirect: "true"\n    nginx.ingress.kubernetes.io/configuration-snippet: "more_set_headers X: y;"\n',
    );
    const reloaded = nextReload(proxy, (s) => s.routes.lookup("secure.localhost", "/") !== undefined);
    await rules.write("secure.yaml", annotated);
    await reloaded;
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${proxy.admin}/`);
    const row = page.locator("#routes tr", { hasText: "secure.localhost" });
    await expect.poll(() => row.textContent(), { timeout: 10_000 }).toContain("httpsRedirect: plain-HTTP requests get 308 to HTTPS");
    expect(await page.locator("#routes tr", { hasText: "web.localhost" }).locator("td.filters").textContent()).toBe("none");
    expect(await page.locator("#issues").textContent()).toMatch(/secure\.yaml:\d+:\d+: warning: nginx\.ingress\.kubernetes\.io\/configuration-snippet is raw nginx configuration, which ingressd never executes/);
    await page.close();
  });

  it("shows the Gateway API status: each Gateway, listener and route parent with its conditions, a refused one as a warning", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${proxy.admin}/`);
    await expect.poll(() => page.locator("#routes tr").count(), { timeout: 10_000 }).toBeGreaterThan(0);
    expect(await page.locator("#gatewaySection").isHidden()).toBe(true); // no Gateway API resource yet
    const reloaded = nextReload(proxy, (s) => s.gatewayApi.gateways.length > 0);
    await rules.write("gateway.yaml", `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge}
spec:
  gatewayClassName: ingressd
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: store}
spec:
  parentRefs: [{name: edge}]
  hostnames: [store.localhost]
  rules: [{backendRefs: [{name: shop, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: lost, namespace: team}
spec:
  parentRefs: [{name: edge, namespace: default}]
  rules: [{backendRefs: [{name: shop, port: 80}]}]
`);
    await reloaded;
    const rows = page.locator("#gatewayApi tr");
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(4);
    expect(await rows.nth(0).textContent()).toBe("Gateway default/edgeAccepted, Programmed");
    expect(await rows.nth(1).textContent()).toBe("\u00a0\u00a0listener http (HTTP 80, any host)Accepted, ResolvedRefs, Programmed1");
    expect(await rows.nth(2).textContent()).toBe("HTTPRoute default/store \u2192 default/edgeAccepted, ResolvedRefs");
    const lost = rows.nth(3);
    expect(await lost.textContent()).toMatch(/^HTTPRoute team\/lost → default\/edgeAccepted False \(NotAllowedByListeners: /);
    expect(await lost.locator("td").nth(1).getAttribute("class")).toBe("warning");
    // The store.localhost route is listed with the others, named by its HTTPRoute.
    await expect.poll(() => page.locator("#routes tr", { hasText: "store.localhost" }).textContent(), { timeout: 10_000 }).toContain("default/shop:80");
    await page.close();
  });

    it("shows the routes of `ingressd proxy --from … --to …` like any other, their source named after the flags", async () => {
    const inline = proxyRules([{ host: "app.localhost", path: "/", targets: [{ scheme: "http", host: "127.0.0.1", port: upstreams[0]!.port }] }]);
    const oneCommand = await startProxy([], { inline });
    try {
      for (let i = 0; i < 3; i++) await get(`${oneCommand.url}/`, { host: "app.localhost" });
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.goto(`${oneCommand.admin}/`);
      const row = page.locator("#routes tr", { hasText: "app.localhost" });
      await expect.poll(() => row.textContent(), { timeout: 10_000 }).toContain("default/app-localhost:80");
      expect(await row.textContent()).toMatch(/<ingressd proxy --from app\.localhost>:\d+:\d+/);
      await expect.poll(() => page.locator("#requests tr", { hasText: "app.localhost" }).count(), { timeout: 10_000 }).toBe(3);
      await page.close();
    } finally {
      await oneCommand.close();
    }
  });
});

