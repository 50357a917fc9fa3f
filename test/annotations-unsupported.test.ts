import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkCommand } from "../src/commands/check.js";
import { routesCommand } from "../src/commands/routes.js";
import { get, ingressYaml, rulesDir, serviceYaml, startProxy, startUpstream, type RulesDir, type Upstream } from "./helpers.js";

/** An Ingress for `host` → Service web, with `annotations`. */
function annotated(name: string, host: string, annotations: Record<string, string>): string {
  return ingressYaml(name, host, [{ path: "/", service: "web" }], annotations);
}

/**
 * Every nginx annotation ingressd does not serve is a warning naming it at its line —
 * never silently ignored — and a value ingressd cannot read is an error on that Ingress
 * alone (ingress-nginx annotations.md; issue 10, "Everything else").
 */
describe("unsupported and invalid ingress-nginx annotations", () => {
  let upstream: Upstream;
  let rules: RulesDir;

  beforeAll(async () => {
    upstream = await startUpstream("web");
    rules = await rulesDir();
    await rules.write("services.yaml", serviceYaml("web", [upstream.port]));
    await rules.write(
      "snippets.yaml",
      annotated("snippets", "snippets.localhost", {
        "nginx.ingress.kubernetes.io/server-snippet": "location /x { return 200; }",
        "nginx.ingress.kubernetes.io/no-such-annotation": "1",
        "nginx.ingress.kubernetes.io/mirror-target": "http://mirror.local",
        "nginx.ingress.kubernetes.io/rewrite-targt": "/",
      }),
    );
    await rules.write("bad.yaml", annotated("bad", "bad.localhost", { "nginx.ingress.kubernetes.io/ssl-redirect": "yes" }));
    await rules.write("forced.yaml", annotated("forced", "forced.localhost", { "nginx.ingress.kubernetes.io/force-ssl-redirect": "true" }));
  });

  afterAll(async () => {
    await upstream?.close();
    await rules?.cleanup();
  });

  it("ingressd check: a warning per unsupported annotation (snippets called out), an error for a bad value, each at its line", async () => {
    const res = await checkCommand([rules.dir], { ingressClass: "ingressd", format: "text", cwd: rules.dir });
    expect(res.output).toMatch(/^snippets\.yaml:6:5: warning: nginx\.ingress\.kubernetes\.io\/server-snippet is raw nginx configuration, which ingressd never executes: it is ignored \(metadata\.annotations\["nginx\.ingress\.kubernetes\.io\/server-snippet"\]\)$/m);
    expect(res.output).toMatch(/^snippets\.yaml:7:5: warning: nginx\.ingress\.kubernetes\.io\/no-such-annotation is not an ingress-nginx annotation: it is ignored/m);
    expect(res.output).toMatch(/^snippets\.yaml:8:5: warning: nginx\.ingress\.kubernetes\.io\/mirror-target is not supported by ingressd: it is ignored/m);
    expect(res.output).toMatch(/^snippets\.yaml:9:5: warning: nginx\.ingress\.kubernetes\.io\/rewrite-targt is not an ingress-nginx annotation \(did you mean nginx\.ingress\.kubernetes\.io\/rewrite-target\?\): it is ignored/m);
    expect(res.output).toMatch(/^bad\.yaml:6:5: error: nginx\.ingress\.kubernetes\.io\/ssl-redirect must be "true" or "false", not "yes"/m);
    expect(res.exitCode).toBe(1);
  });

  it("serves: the Ingress with warnings is routed, the one with a bad value is not; /api/config lists both", async () => {
    const proxy = await startProxy([rules.dir]);
    try {
      expect((await get(`${proxy.url}/`, { host: "snippets.localhost" })).status).toBe(200);
      expect((await get(`${proxy.url}/`, { host: "bad.localhost" })).status).toBe(404);
      const config = JSON.parse((await get(`${proxy.admin}/api/config`)).body) as { warnings: { message: string; line: number }[]; errors: { message: string; line: number }[] };
      expect(config.warnings.map((w) => w.message)).toEqual(
        expect.arrayContaining([expect.stringContaining("server-snippet is raw nginx configuration"), expect.stringContaining("no-such-annotation is not an ingress-nginx annotation")]),
      );
      expect(config.errors).toEqual([expect.objectContaining({ message: expect.stringContaining('ssl-redirect must be "true" or "false"'), line: 6 })]);
    } finally {
      await proxy.close();
    }
  });

  it("routes --explain lists the filters a request passes, in order; a route without any lists none", async () => {
    const explain = (url: string) => routesCommand([rules.dir], { ingressClass: "ingressd", format: "text", cwd: rules.dir, explain: url });
    const forced = await explain("http://forced.localhost/a");
    expect(forced.output).toContain("  filter: httpsRedirect: plain-HTTP requests get 308 to HTTPS\n");
    expect((await explain("http://snippets.localhost/a")).output).not.toContain("filter:");
    const json = JSON.parse((await routesCommand([rules.dir], { ingressClass: "ingressd", format: "json", cwd: rules.dir, explain: "http://forced.localhost/" })).output) as { match: { filters: string[] } };
    expect(json.match.filters).toEqual(["httpsRedirect: plain-HTTP requests get 308 to HTTPS"]);
  });
});

describe("regular expressions that can backtrack exponentially", () => {
  it("a regex path or canary header pattern with nested quantifiers is a warning at its line; a plain one is not", async () => {
    const rules = await rulesDir();
    try {
      await rules.write("services.yaml", serviceYaml("web", [9]) + "---\n" + serviceYaml("beta", [9]));
      const regex = (name: string, host: string, path: string) =>
        annotated(name, host, { "nginx.ingress.kubernetes.io/use-regex": "true" }).replace("- path: /\n", `- path: ${path}\n`).replace("pathType: Prefix", "pathType: ImplementationSpecific");
      await rules.write("slow.yaml", regex("slow", "slow.localhost", "/(a+)+$"));
      await rules.write("fine.yaml", regex("fine", "fine.localhost", "/api/(v[0-9]+)/(.*)"));
      await rules.write(
        "canary.yaml",
        annotated("main", "c.localhost", {}) +
          "---\n" +
          annotated("beta", "c.localhost", { "nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-by-header": "x-beta", "nginx.ingress.kubernetes.io/canary-by-header-pattern": "^(\\w+\\s?)*$" }).replace("name: web", "name: beta"),
      );
      const res = await checkCommand([rules.dir], { ingressClass: "ingressd", format: "text", cwd: rules.dir });
      expect(res.output).toMatch(/^slow\.yaml:\d+:\d+: warning: path "\/\(a\+\)\+\$" has nested quantifiers .* \(spec\.rules\[0\]\.http\.paths\[0\]\.path\)$/m);
      expect(res.output).toMatch(/^canary\.yaml:\d+:\d+: warning: nginx\.ingress\.kubernetes\.io\/canary-by-header-pattern has nested quantifiers/m);
      expect(res.output).not.toContain("fine.yaml");
      expect(res.exitCode).toBe(0);
    } finally {
      await rules.cleanup();
    }
  });
});
