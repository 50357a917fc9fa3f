import type { Browser } from "playwright-core";
import { launchChromium } from "./browser.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApiServer, startClusterIngressd } from "./clusterHelpers.js";
import { shopWeb } from "./clusterObjects.js";
import { startUpstream, type Upstream } from "./helpers.js";
import type { KubeApiServer } from "./kube/apiServer.js";

/**
 * The dashboard of an ingressd on `--source kubernetes`, in a real browser: its header
 * says whether the API server is followed, and since when it is not, from the page's own
 * refreshes (no reload).
 */
describe("dashboard with the Kubernetes API as the source", () => {
  let api: KubeApiServer;
  let closeApi: () => Promise<void>;
  let shop: Upstream;
  let proxy: Awaited<ReturnType<typeof startClusterIngressd>>;
  let browser: Browser;

  beforeAll(async () => {
    let kubeconfig: string;
    ({ api, kubeconfig, close: closeApi } = await startApiServer());
    shop = await startUpstream("shop");
    for (const o of shopWeb(shop.port)) api.create(o);
    proxy = await startClusterIngressd(kubeconfig);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await closeApi?.();
    await shop?.close();
  });

  it("shows 'Kubernetes API connected', then 'disconnected since …' as an error while the API server is gone, then connected again", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const navigations: string[] = [];
    page.on("framenavigated", (f) => navigations.push(f.url()));
    await page.goto(`${proxy.admin}/`);
    const source = page.locator("#source");
    // Evaluated in the page (a string: the tests are compiled without the DOM's types).
    const text = (prefix: string): Promise<unknown> =>
      page.waitForFunction(`document.querySelector("#source")?.textContent?.startsWith(${JSON.stringify(prefix)}) === true`, undefined, { timeout: 15_000 });

    await text("Kubernetes API connected");
    expect(await source.getAttribute("class")).toBe("stat ok");
    expect(await source.getAttribute("title")).toContain(api.url);
    await expect.poll(() => page.locator("#routes").textContent()).toContain("shop.example");

    await api.stop();
    await text("Kubernetes API disconnected since ");
    expect(await source.textContent()).toMatch(/^Kubernetes API disconnected since \S.* · serving the last configuration$/);
    expect(await source.getAttribute("class")).toBe("stat error");
    // The routes stay on the page: the last configuration serves.
    expect(await page.locator("#routes").textContent()).toContain("shop.example");

    await api.start();
    await text("Kubernetes API connected");
    expect(await source.getAttribute("class")).toBe("stat ok");
    // All of it through the page's own polling: one navigation, the first.
    expect(navigations).toHaveLength(1);
    await page.close();
  });
});
