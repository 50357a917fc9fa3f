import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get, ingressYaml, rulesDir, serviceYaml, startProxy, startUpstream, type RulesDir, type Upstream } from "./helpers.js";

describe("smoke", () => {
  let up: Upstream;
  let rules: RulesDir;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  beforeAll(async () => {
    up = await startUpstream("web");
    rules = await rulesDir();
    await rules.write("svc.yaml", serviceYaml("web", [up.port]));
    await rules.write("ing.yaml", ingressYaml("web", "web.localhost", [{ path: "/", service: "web" }]));
    proxy = await startProxy([rules.dir]);
  });
  afterAll(async () => {
    await proxy.close();
    await up.close();
    await rules.cleanup();
  });

  it("routes by host to the upstream", async () => {
    const res = await get(`${proxy.url}/hello?x=1`, { host: "web.localhost" });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ name: "web", url: "/hello?x=1" });
    expect(res.headers.server).toBe("ingressd");
  });

  it("answers 404 for an unknown host", async () => {
    const res = await get(`${proxy.url}/`, { host: "nope.localhost" });
    expect(res.status).toBe(404);
  });
});
