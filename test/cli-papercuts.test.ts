import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadRules } from "../src/commands/loadRules.js";
import { echo, ingressYaml, nextReload, rulesDir, serviceYaml, startProxy, startUpstream, type RulesDir, type Upstream } from "./helpers.js";
import { getJson, whoAnswers } from "./reloadHelpers.js";

/**
 * Issue 11 ("the first five minutes"): a rules path that does not exist is the same
 * error for the server as for `ingressd check`. The server keeps running and watching
 * the path, and loads it when it appears (then the error is gone).
 */
describe("a rules path that does not exist: the server and check agree", () => {
  let tmp: RulesDir | undefined;
  let up: Upstream | undefined;
  let proxy: Awaited<ReturnType<typeof startProxy>> | undefined;
  afterEach(async () => {
    await proxy?.close();
    await up?.close();
    await tmp?.cleanup();
  });

  it("both report the error 'rules path … does not exist'; the server lists it in /api/config and loads the folder once it appears", async () => {
    tmp = await rulesDir();
    const missing = join(tmp.dir, "rules");
    const checked = await loadRules([missing], "ingressd");
    expect(checked.issues.map((i) => [i.severity, i.code, i.message])).toEqual([["error", "missing-rules-path", `rules path ${missing} does not exist`]]);

    proxy = await startProxy([missing]);
    const served = proxy.runtime.current.issues.filter((i) => i.code === "missing-rules-path");
    expect(served).toEqual(checked.issues);
    const config = await getJson<{ errors: { message: string }[] }>(`${proxy.admin}/api/config`);
    expect(config.body.errors.map((e) => e.message)).toContain(`rules path ${missing} does not exist`);

    // Watched: creating the folder loads it, and the error goes.
    up = await startUpstream(echo("app"));
    const loaded = nextReload(proxy, (s) => s.routes.routeCount > 0);
    await tmp.write("rules/app.yaml", `${serviceYaml("app", [up.port])}---\n${ingressYaml("app", "app.test", [{ path: "/", service: "app" }])}`);
    const snapshot = await loaded;
    expect(snapshot.issues.filter((i) => i.code === "missing-rules-path")).toEqual([]);
    expect(await whoAnswers(proxy.url, "app.test")).toBe("app");
  });
});
