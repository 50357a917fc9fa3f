import { writeFile } from "node:fs/promises";
import type { Browser } from "playwright-core";
import { launchChromium } from "./browser.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingressYaml, nextReload, rulesDir, serviceYaml, startProxy, startUpstream, type RulesDir, type Upstream } from "./helpers.js";

/** What the dashboard shows of mistakes: removed APIs, and a rejected version with its last good one serving. */
describe("dashboard: mistakes in a real browser", () => {
  let upstream: Upstream;
  let rules: RulesDir;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  let browser: Browser;

  beforeAll(async () => {
    upstream = await startUpstream("web");
    rules = await rulesDir();
    proxy = await startProxy([rules.dir]);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await upstream?.close();
    await rules?.cleanup();
  });

  it("lists a removed API's error and a rejected Service, whose file reads 'serving last good version'", async () => {
    const service = serviceYaml("web", [upstream.port]);
    const loaded = nextReload(proxy, (s) => s.routes.lookup("web.localhost", "/") !== undefined);
    const svcPath = await rules.write("svc.yaml", service);
    await rules.write("web.yaml", ingressYaml("web", "web.localhost", [{ path: "/", service: "web" }]));
    await loaded;

    const broken = nextReload(proxy, (s) => s.issues.some((i) => i.code === "removed-api") && s.issues.some((i) => i.field === "spec.sessionAffinity"));
    await rules.write("old.yaml", "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: old\nspec:\n  backend:\n    serviceName: web\n    servicePort: 80\n");
    await writeFile(svcPath, service.replace("spec:\n", "spec:\n  sessionAffinity: ClusterIP\n"));
    await broken;

    const page = await browser.newPage();
    await page.goto(`${proxy.admin}/`);
    const issues = page.locator("#issues");
    await expect.poll(() => issues.textContent(), { timeout: 10_000 }).toMatch(/old\.yaml:1:1: error: Ingress extensions\/v1beta1 was removed in Kubernetes 1\.22.*use apiVersion networking\.k8s\.io\/v1/);
    expect(await issues.textContent()).toMatch(/svc\.yaml:6:3: error: .*did you mean ClientIP\?\); the last good version of Service default\/web \(.*svc\.yaml:1\) is still served/);
    expect(await page.locator("#routes").textContent()).toContain("web.localhost");
    const svcRow = page.locator("#files tr", { hasText: "svc.yaml" });
    expect(await svcRow.textContent()).toContain("invalid (serving last good version)");
    await page.close();
  });
});
