import { existsSync } from "node:fs";
import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get, ingressYaml, nextReload, rulesDir, serviceYaml, startProxy, startUpstream, type RulesDir, type Upstream } from "./helpers.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

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

  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `chromium not found at ${CHROMIUM}: apt-get install -y chromium`).toBe(true);
    upstreams = await Promise.all(["web", "api", "shop"].map((n) => startUpstream(n)));
    rules = await rulesDir();
    await rules.write("services.yaml", ["web", "api", "shop"].map((n, i) => serviceYaml(n, [upstreams[i]!.port])).join("---\n"));
    await rules.write("web.yaml", ingressYaml("web", "web.localhost", [{ path: "/", service: "web" }]));
    await rules.write("api.yaml", ingressYaml("api", "api.localhost", [{ path: "/v1", service: "api" }, { path: "/healthz", pathType: "Exact", service: "api" }]));
    // A broken file: its error must be on the page with file:line.
    await rules.write("broken.yaml", ingressYaml("broken", "broken.localhost", [{ path: "/", pathType: "Foo", service: "web" }]));
    proxy = await startProxy([rules.dir]);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync"],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await Promise.all((upstreams ?? []).map((u) => u.close()));
    await rules?.cleanup();
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
});
