import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { ListenError } from "../src/server/listenError.js";
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
    const checked = await loadRules([missing], { ingressClass: "ingressd" });
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

describe("a port already in use, started as a library", () => {
  it("startIngressd rejects with the one-line ListenError and leaves nothing listening (the admin port is free again)", async () => {
    const held = createServer();
    await new Promise<void>((res) => held.listen(0, "127.0.0.1", res));
    const port = (held.address() as AddressInfo).port;
    const adminPort = await freePort();
    try {
      const err = await startProxy(["test/fixtures/good"], { httpPort: port, adminPort }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ListenError);
      expect((err as Error).message).toBe(`cannot listen on 127.0.0.1:${port} (address already in use): choose another with --http-port or INGRESSD_HTTP_PORT`);
      // The admin listener opened first; it must be closed again.
      const again = createServer();
      await new Promise<void>((res, rej) => again.once("error", rej).listen(adminPort, "127.0.0.1", res));
      again.close();
    } finally {
      held.close();
    }
  });
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((res) => s.listen(0, "127.0.0.1", res));
  const { port } = s.address() as AddressInfo;
  await new Promise((res) => s.close(res));
  return port;
}
