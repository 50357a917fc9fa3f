import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { routesCommand } from "../src/commands/routes.js";
import { get, serviceYaml, startUpstream, type RulesDir, type Upstream } from "./helpers.js";
import { proxyWith, type Proxy } from "./proxyHelpers.js";

// Canary Ingresses through a running ingressd: two real upstreams, each answering its
// own name; a main Ingress and a canary Ingress per host, one host per canary setup.

function ingress(name: string, host: string, annotations: Record<string, string>, paths: { path: string; service: string }[]): string {
  const ann = Object.entries(annotations).map(([k, v]) => `    nginx.ingress.kubernetes.io/${k}: "${v}"\n`).join("");
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
${ann ? `  annotations:\n${ann}` : ""}spec:
  rules:
    - host: ${host}
      http:
        paths:
${paths.map((p) => `          - path: ${p.path}\n            pathType: Prefix\n            backend:\n              service:\n                name: ${p.service}\n                port:\n                  number: 80\n`).join("")}`;
}

/** A main Ingress (→ main) and a canary Ingress (→ canary) for `host` /. */
function pair(host: string, canary: Record<string, string>): string {
  const name = host.replace(/\..*/, "");
  return `${ingress(`${name}-main`, host, {}, [{ path: "/", service: "main" }])}---\n${ingress(`${name}-canary`, host, { canary: "true", ...canary }, [{ path: "/", service: "canary" }])}`;
}

describe("Canary (ingress-nginx annotations.md § Canary)", () => {
  let main: Upstream;
  let canary: Upstream;
  let proxy: Proxy;
  let rules: RulesDir;

  beforeAll(async () => {
    main = await startUpstream("main");
    canary = await startUpstream("canary");
    // WebSocket upgrades too: each upstream greets with its name.
    for (const [up, name] of [[main, "main"], [canary, "canary"]] as const) new WebSocketServer({ server: up.server }).on("connection", (ws) => ws.send(name));
    ({ proxy, rules } = await proxyWith({
      "services.yaml": `${serviceYaml("main", [main.port])}---\n${serviceYaml("canary", [canary.port])}`,
      "header.yaml": pair("header.test", { "canary-by-header": "X-Canary" }),
      "value.yaml": pair("value.test", { "canary-by-header": "X-Canary", "canary-by-header-value": "beta" }),
      "pattern.yaml": pair("pattern.test", { "canary-by-header": "X-Canary", "canary-by-header-pattern": "^(beta|gamma)$" }),
      "cookie.yaml": pair("cookie.test", { "canary-by-cookie": "use_canary" }),
      "w0.yaml": pair("w0.test", { "canary-weight": "0" }),
      "w100.yaml": pair("w100.test", { "canary-weight": "100" }),
      "w30.yaml": pair("w30.test", { "canary-weight": "30" }),
      "w1000.yaml": pair("w1000.test", { "canary-weight": "100", "canary-weight-total": "1000" }),
      "all.yaml": pair("all.test", { "canary-by-header": "X-Canary", "canary-by-cookie": "use_canary", "canary-weight": "100" }),
      "orphan.yaml": ingress("orphan-canary", "orphan.test", { canary: "true", "canary-weight": "100" }, [{ path: "/", service: "canary" }]),
      "sticky.yaml": `${ingress("sticky-main", "sticky.test", { affinity: "cookie" }, [{ path: "/", service: "main" }])}---\n${ingress("sticky-canary", "sticky.test", { canary: "true", "canary-weight": "50" }, [{ path: "/", service: "canary" }])}`,
      "two.yaml": `${ingress("two-main", "two.test", {}, [{ path: "/a", service: "main" }, { path: "/b", service: "main" }])}---\n${ingress("two-canary", "two.test", { canary: "true", "canary-weight": "100" }, [{ path: "/b", service: "canary" }])}`,
    }));
  });
  afterAll(async () => {
    await proxy.close();
    await main.close();
    await canary.close();
    await rules.cleanup();
  });

  /** Which upstream answered (or the status, when none did). */
  async function who(host: string, headers: Record<string, string> = {}, path = "/"): Promise<string> {
    const res = await get(`${proxy.url}${path}`, { host, ...headers });
    return res.status === 200 ? (JSON.parse(res.body) as { name: string }).name : String(res.status);
  }

  /** Share of `n` requests (sent 50 at a time) the canary answered; every one must be answered by an upstream. */
  async function canaryShare(host: string, n: number): Promise<number> {
    const answers: string[] = [];
    while (answers.length < n) answers.push(...(await Promise.all(Array.from({ length: 50 }, () => who(host)))));
    expect(answers.filter((a) => a !== "main" && a !== "canary")).toEqual([]);
    return answers.filter((a) => a === "canary").length / answers.length;
  }

  it("canary-by-header: always → canary, never → main, any other value (case-sensitive) or none → main (weight 0)", async () => {
    expect(await who("header.test", { "x-canary": "always" })).toBe("canary");
    expect(await who("header.test", { "X-CANARY": "always" })).toBe("canary"); // the name is case-insensitive
    expect(await who("header.test", { "x-canary": "never" })).toBe("main");
    expect(await who("header.test", { "x-canary": "Always" })).toBe("main");
    expect(await who("header.test", { "x-canary": "yes" })).toBe("main");
    expect(await who("header.test")).toBe("main");
  });

  it("canary-by-header-value: only that exact value → canary; always is then just another value", async () => {
    expect(await who("value.test", { "x-canary": "beta" })).toBe("canary");
    expect(await who("value.test", { "x-canary": "Beta" })).toBe("main");
    expect(await who("value.test", { "x-canary": "always" })).toBe("main");
    expect(await who("value.test")).toBe("main");
  });

  it("canary-by-header-pattern: a value it matches (case-sensitive) → canary", async () => {
    expect(await who("pattern.test", { "x-canary": "gamma" })).toBe("canary");
    expect(await who("pattern.test", { "x-canary": "beta" })).toBe("canary");
    expect(await who("pattern.test", { "x-canary": "Beta" })).toBe("main");
    expect(await who("pattern.test", { "x-canary": "betax" })).toBe("main");
  });

  it("canary-by-cookie: always → canary, never and other values → main", async () => {
    expect(await who("cookie.test", { cookie: "a=1; use_canary=always" })).toBe("canary");
    expect(await who("cookie.test", { cookie: "use_canary=never" })).toBe("main");
    expect(await who("cookie.test", { cookie: "use_canary=maybe" })).toBe("main");
    expect(await who("cookie.test")).toBe("main");
  });

  it("canary-weight 0 sends nothing to the canary, 100 everything", async () => {
    for (let i = 0; i < 20; i++) expect(await who("w0.test")).toBe("main");
    for (let i = 0; i < 20; i++) expect(await who("w100.test")).toBe("canary");
  });

  it("canary-weight 30 sends about 30% to the canary (400 requests, 20–40%)", async () => {
    const share = await canaryShare("w30.test", 400);
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.4);
  });

  it("canary-weight-total 1000 with canary-weight 100 sends about 10% (400 requests, 2–20%)", async () => {
    const share = await canaryShare("w1000.test", 400);
    expect(share).toBeGreaterThan(0.02);
    expect(share).toBeLessThan(0.2);
  });

  it("precedence: header, then cookie, then weight", async () => {
    expect(await who("all.test", { "x-canary": "never", cookie: "use_canary=always" })).toBe("main");
    expect(await who("all.test", { "x-canary": "always", cookie: "use_canary=never" })).toBe("canary");
    expect(await who("all.test", { "x-canary": "other", cookie: "use_canary=never" })).toBe("main");
    expect(await who("all.test", { cookie: "use_canary=never" })).toBe("main");
    expect(await who("all.test", { "x-canary": "other" })).toBe("canary"); // weight 100
  });

  it("with cookie affinity, a session stays on the side of the split it started on (ingress-nginx's affinitized request)", async () => {
    for (let session = 0; session < 6; session++) {
      const first = await get(`${proxy.url}/`, { host: "sticky.test" });
      const side = (JSON.parse(first.body) as { name: string }).name;
      const cookie = String(first.headers["set-cookie"]).split(";")[0]!;
      expect(cookie).toMatch(/^INGRESSCOOKIE=/);
      const sides = await Promise.all(Array.from({ length: 20 }, () => who("sticky.test", { cookie })));
      expect(new Set(sides)).toEqual(new Set([side]));
    }
  });

  it("a WebSocket upgrade takes the same canary decision", async () => {
    const greeting = async (headers: Record<string, string>): Promise<string> => {
      const ws = new WebSocket(`ws://127.0.0.1:${proxy.httpPort}/`, { headers: { host: "header.test", ...headers } });
      try {
        const [data] = (await once(ws, "message")) as [Buffer];
        return String(data);
      } finally {
        ws.terminate();
      }
    };
    expect(await greeting({ "x-canary": "always" })).toBe("canary");
    expect(await greeting({ "x-canary": "never" })).toBe("main");
  });

  it("a canary without a main Ingress is an error in /api/config and serves nothing", async () => {
    expect(await who("orphan.test")).toBe("404");
    const config = JSON.parse((await get(`${proxy.admin}/api/config`)).body) as { errors: { code: string; file: string; line: number; field: string; message: string }[]; hosts: Record<string, unknown> };
    const orphan = config.errors.filter((e) => e.code === "canary-without-main");
    expect(orphan).toMatchObject([{ file: expect.stringMatching(/orphan\.yaml$/), line: 13, field: "spec.rules[0].http.paths[0]" }]);
    expect(orphan[0]!.message).toContain("Ingress default/orphan-canary is a canary");
    expect(config.hosts["orphan.test"]).toBeUndefined();
  });

  it("a canary for one path of a main with two paths takes that path only", async () => {
    expect(await who("two.test", {}, "/a/x")).toBe("main");
    expect(await who("two.test", {}, "/b/x")).toBe("canary");
  });

  it("/api/config shows the canary routes' conditions and the weighted backends", async () => {
    const config = JSON.parse((await get(`${proxy.admin}/api/config`)).body) as { hosts: Record<string, { path: string; conditions?: string; backend: string; backends?: unknown[]; ingress: string }[]> };
    expect(config.hosts["w30.test"]).toMatchObject([{ path: "/", backend: "default/main:80", backends: [{ backend: "default/main:80", weight: 70 }, { backend: "default/canary:80", weight: 30, canary: true }], ingress: "default/w30-main" }]);
    expect(config.hosts["all.test"]!.map((r) => [r.conditions ?? "", r.backends ?? r.backend, r.ingress])).toEqual([
      ["header x-canary = always", [{ backend: "default/canary:80", weight: 1, canary: true }], "default/all-canary"],
      ["header x-canary = never", "default/main:80", "default/all-canary"],
      ["cookie use_canary = always", [{ backend: "default/canary:80", weight: 1, canary: true }], "default/all-canary"],
      ["cookie use_canary = never", "default/main:80", "default/all-canary"],
      ["", [{ backend: "default/main:80", weight: 0 }, { backend: "default/canary:80", weight: 100, canary: true }], "default/all-main"],
    ]);
  });

  it("routes --explain shows the canary decision in the order it is taken", async () => {
    const res = await routesCommand([rules.dir], { ingressClass: "ingressd", format: "text", cwd: rules.dir, explain: "http://all.test/x" });
    expect(res.exitCode).toBe(0);
    expect(res.output).toBe(
      [
        "all.test /x",
        "  match: all.test / (Prefix) → default/main:80 (weight 0), default/canary:80 (canary, weight 100)  [Ingress default/all-main, all.yaml:10]",
        "         the longest matching path of the exact host all.test (an exact host is consulted first)",
        "  canary: the first rule that holds decides  [Ingress default/all-canary, all.yaml:32]",
        "    when header x-canary = always → default/canary:80 (canary)",
        "    when header x-canary = never → default/main:80",
        "    when cookie use_canary = always → default/canary:80 (canary)",
        "    when cookie use_canary = never → default/main:80",
        "    otherwise → by weight — default/main:80 0%, default/canary:80 (canary) 100%",
        "",
      ].join("\n"),
    );
    const header = await routesCommand([rules.dir], { ingressClass: "ingressd", format: "text", cwd: rules.dir, explain: "http://header.test/" });
    expect(header.output).toContain("    when header x-canary = never → default/main:80\n    otherwise → default/main:80\n");
  });

  it("routes lists a canary's rules under their main route's path, with their condition, in the order tried", async () => {
    const res = await routesCommand([rules.dir], { ingressClass: "ingressd", format: "text", cwd: rules.dir });
    const rows = res.output.split("\n").filter((l) => l.startsWith("all.test ")).map((l) => l.replace(/ {2,}/g, " | ").replace(/ \| [\d.:,]+ \| /, " | eps | "));
    expect(rows).toEqual([
      "all.test | / when header x-canary = always | Prefix | default/canary:80 (canary) | eps | all.yaml:32",
      "all.test | / when header x-canary = never | Prefix | default/main:80 | eps | all.yaml:32",
      "all.test | / when cookie use_canary = always | Prefix | default/canary:80 (canary) | eps | all.yaml:32",
      "all.test | / when cookie use_canary = never | Prefix | default/main:80 | eps | all.yaml:32",
      "all.test | / | Prefix | default/main:80 (weight 0), default/canary:80 (canary, weight 100) | eps | all.yaml:10",
    ]);
  });
});
