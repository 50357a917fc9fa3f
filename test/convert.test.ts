import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { convertCommand, type ConvertResult } from "../src/commands/convert.js";
import { parseRulesFile } from "../src/config/parse.js";
import { validateDocuments } from "../src/config/validate.js";
import { buildCli, startCli } from "./cliProcess.js";
import { ingressYaml, rulesDir, type RulesDir } from "./helpers.js";

/**
 * `ingressd convert --to gateway`: Ingress fixtures in, Gateway API objects out, and the
 * output is read back through ingressd's own validation (the schema of
 * @kubernetes-models/gateway-api, known fields, semantic checks) — the round trip.
 */
const root = fileURLToPath(new URL("..", import.meta.url));
const FIXTURES = "test/fixtures/convert";

interface Converted extends ConvertResult {
  /** The documents printed, parsed. */
  docs: Record<string, any>[];
}

async function convert(...files: string[]): Promise<Converted> {
  const result = await convertCommand({ files: files.map((f) => `${FIXTURES}/${f}`), ingressClass: "ingressd", cwd: root });
  const docs = result.stdout.split(/^---$/m).map((d) => parse(d) as Record<string, any>).filter((d) => d !== null);
  return { ...result, docs };
}

function route(c: Converted, name: string): Record<string, any> {
  const found = c.docs.find((d) => d.kind === "HTTPRoute" && d.metadata.name === name);
  if (!found) throw new Error(`no HTTPRoute ${name} in:\n${c.stdout}`);
  return found;
}

describe("convert --to gateway: round trip through ingressd's validation", () => {
  it.each(["plain.yaml", "tls.yaml", "annotations.yaml", "canaries.yaml", "edges.yaml"])("%s converts to Gateway API objects ingressd's validation accepts", async (fixture) => {
    const c = await convert(fixture);
    expect(c.exitCode).toBe(0);
    const parsed = parseRulesFile("converted.yaml", c.stdout);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    const validated = validateDocuments(parsed.documents);
    // No warning either: an unknown field (a typo in what conversion writes) is a warning.
    expect(validated.issues).toEqual([]);
    expect(validated.rejected).toEqual([]);
    // Only Gateway API kinds are printed: the Services of the fixture are not.
    expect(new Set(validated.resources.map((r) => r.kind))).toEqual(new Set(["GatewayClass", "Gateway", "HTTPRoute"]));
    expect(validated.resources.filter((r) => r.kind === "HTTPRoute").length).toBeGreaterThan(0);
  });
});

describe("convert --to gateway: the common conversion", () => {
  it("maps pathTypes, resolves named ports, serves the default backend on a route for any host, one HTTPRoute per host", async () => {
    const c = await convert("plain.yaml");
    expect(c.docs.find((d) => d.kind === "GatewayClass")).toMatchObject({ metadata: { name: "ingressd" }, spec: { controllerName: "ingressd.io/gateway-controller" } });
    const gateway = c.docs.find((d) => d.kind === "Gateway")!;
    expect(gateway.metadata).toEqual({ name: "ingressd", namespace: "default" });
    expect(gateway.spec.listeners).toEqual([
      { name: "shop-example-com-http", protocol: "HTTP", port: 80, hostname: "shop.example.com" },
      { name: "wildcard-shop-example-com-http", protocol: "HTTP", port: 80, hostname: "*.shop.example.com" },
      { name: "http", protocol: "HTTP", port: 80 },
    ]);
    const shop = route(c, "shop-shop-example-com");
    expect(shop.spec.hostnames).toEqual(["shop.example.com"]);
    expect(shop.spec.parentRefs).toEqual([{ name: "ingressd" }]);
    expect(shop.spec.rules).toEqual([
      { matches: [{ path: { type: "PathPrefix", value: "/" } }], backendRefs: [{ name: "web", port: 8080 }] },
      { matches: [{ path: { type: "Exact", value: "/healthz" } }], backendRefs: [{ name: "web", port: 8080 }] },
      { matches: [{ path: { type: "PathPrefix", value: "/legacy" } }], backendRefs: [{ name: "web", port: 8080 }] },
    ]);
    expect(route(c, "shop-wildcard-shop-example-com").spec.hostnames).toEqual(["*.shop.example.com"]);
    expect(route(c, "shop-any-host").spec).toEqual({ parentRefs: [{ name: "ingressd" }], rules: [{ backendRefs: [{ name: "web", port: 8080 }] }] });
    expect(c.stderr).toContain(`${FIXTURES}/plain.yaml:33:13: Ingress default/shop: spec.rules[0].http.paths[2].path: ImplementationSpecific is served by ingressd as Prefix: converted to PathPrefix`);
  });

  it("gives a TLS host an HTTPS listener with its Secret, and redirects its plain HTTP unless ssl-redirect is false", async () => {
    const c = await convert("tls.yaml");
    const gateway = c.docs.find((d) => d.kind === "Gateway")!;
    expect(gateway.metadata.namespace).toBe("prod");
    expect(gateway.spec.listeners).toContainEqual({
      name: "secure-example-com-https", protocol: "HTTPS", port: 443, hostname: "secure.example.com",
      tls: { mode: "Terminate", certificateRefs: [{ kind: "Secret", name: "secure-tls" }] },
    });
    expect(route(c, "secure").spec.parentRefs).toEqual([{ name: "ingressd", sectionName: "secure-example-com-https" }]);
    expect(route(c, "secure-https-redirect").spec).toEqual({
      hostnames: ["secure.example.com"],
      parentRefs: [{ name: "ingressd", sectionName: "secure-example-com-http" }],
      rules: [{ matches: [{ path: { type: "PathPrefix", value: "/" } }], filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }] }],
    });
    // ssl-redirect "false": the same route on both listeners, no redirect.
    expect(route(c, "open").spec.parentRefs).toEqual([{ name: "ingressd" }]);
    expect(c.docs.some((d) => d.metadata.name === "open-https-redirect")).toBe(false);
    expect(c.stderr).toBe("");
    expect(c.stdout).toMatch(/^# ingressd convert --to gateway: 2 Ingresses of class ingressd\.\n# Nothing left out\.\n/);
  });
});

describe("convert --to gateway: what it cannot say", () => {
  it("lists a TLS host without a Secret, force-ssl-redirect without TLS, an unresolvable named port and another class's Ingress, in file order", async () => {
    const c = await convert("edges.yaml");
    expect(c.stderr.split("\n").slice(1, -1)).toEqual([
      `  ${FIXTURES}/edges.yaml:7:7: Ingress default/local: spec.tls[0]: no secretName: ingressd serves these hosts with its local CA, which a listener cannot name; their HTTPS listeners name Secret local-tls, to create`,
      `  ${FIXTURES}/edges.yaml:25:5: Ingress default/forced: force-ssl-redirect: a-b.example.com, a.b.example.com have no TLS in the files, so no HTTPS listener to redirect to: left out there`,
      `  ${FIXTURES}/edges.yaml:40:13: Ingress default/forced: spec.rules[0].http.paths[1].backend: port "web" is named and Service default/app is not in the files: its number is unknown; left out`,
      `  ${FIXTURES}/edges.yaml:61:3: Ingress default/elsewhere: spec.ingressClassName: class "nginx" is not served here (converting class ingressd, internal; see --ingress-class): not converted`,
    ]);
    const gateway = c.docs.find((d) => d.kind === "Gateway")!;
    expect(gateway.spec.listeners).toContainEqual({ name: "local-example-com-https", protocol: "HTTPS", port: 443, hostname: "local.example.com", tls: { mode: "Terminate", certificateRefs: [{ kind: "Secret", name: "local-tls" }] } });
    // a-b.example.com and a.b.example.com slug alike: listener and route names stay unique.
    expect(gateway.spec.listeners.map((l: { name: string }) => l.name)).toEqual(["local-example-com-http", "local-example-com-https", "a-b-example-com-http", "a-b-example-com-2-http"]);
    expect(route(c, "forced-a-b-example-com").spec.rules).toEqual([{ matches: [{ path: { type: "PathPrefix", value: "/" } }], backendRefs: [{ name: "app", port: 80 }] }]);
    expect(route(c, "forced-a-b-example-com-2").spec.hostnames).toEqual(["a.b.example.com"]);
    expect(c.docs.some((d) => d.metadata.name === "elsewhere")).toBe(false);
  });

  it("gives each served ingress class its own Gateway, named after it", async () => {
    const c = await convert("edges.yaml");
    expect(c.docs.filter((d) => d.kind === "Gateway").map((d) => d.metadata.name)).toEqual(["ingressd", "internal"]);
    expect(c.docs.filter((d) => d.kind === "GatewayClass")).toHaveLength(1);
    expect(route(c, "staff").spec.parentRefs).toEqual([{ name: "internal" }]);
    expect(c.docs.find((d) => d.kind === "Gateway" && d.metadata.name === "internal")!.spec.listeners).toEqual([
      { name: "staff-example-com-http", protocol: "HTTP", port: 80, hostname: "staff.example.com" },
    ]);
  });
});

describe("convert --to gateway: the schema's caps", () => {
  let dir: RulesDir;
  beforeAll(async () => {
    dir = await rulesDir();
  });
  afterAll(() => dir.cleanup());

  function roundTrip(stdout: string): void {
    const parsed = parseRulesFile("converted.yaml", stdout);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    expect(validateDocuments(parsed.documents).issues).toEqual([]);
  }

  it("splits more than 16 paths of a host into HTTPRoutes of 16 rules, and more than 64 listeners into Gateways of the class", async () => {
    const paths = Array.from({ length: 20 }, (_, i) => ({ path: `/p${i}`, service: "web" }));
    const many = ingressYaml("many", "many.example.com", paths);
    const hosts = Array.from({ length: 40 }, (_, i) => `h${i}.example.com`);
    // 40 TLS hosts: 80 listeners.
    const tlsHosts = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: hosts
spec:
  tls:
    - hosts: [${hosts.join(", ")}]
      secretName: wild
  rules:
${hosts.map((h) => `    - host: ${h}\n      http:\n        paths:\n          - path: /\n            pathType: Prefix\n            backend:\n              service:\n                name: web\n                port:\n                  number: 80\n`).join("")}`;
    const file = await dir.write("big.yaml", `${many}---\n${tlsHosts}`);
    const r = await convertCommand({ files: [file], ingressClass: "ingressd", cwd: root });
    expect(r.exitCode).toBe(0);
    roundTrip(r.stdout);
    const docs = r.stdout.split(/^---$/m).map((d) => parse(d) as Record<string, any>);
    const manyRoutes = docs.filter((d) => d.kind === "HTTPRoute" && String(d.metadata.name).startsWith("many"));
    expect(manyRoutes.map((d) => [d.metadata.name, d.spec.rules.length])).toEqual([["many", 16], ["many-2", 4]]);
    const gateways = docs.filter((d) => d.kind === "Gateway");
    expect(gateways.map((g) => [g.metadata.name, g.spec.listeners.length])).toEqual([["ingressd", 63], ["ingressd-2", 18]]);
    // A host's routes attach to the Gateway that holds its listeners.
    const last = docs.find((d) => d.kind === "HTTPRoute" && d.metadata.name === "hosts-h39-example-com")!;
    expect(last.spec.parentRefs).toEqual([{ name: "ingressd-2", sectionName: "h39-example-com-https" }]);
    expect(gateways[1]!.spec.listeners.map((l: { name: string }) => l.name)).toContain("h39-example-com-https");
  });

  it("sets the Host header for an upstream-vhost with a port (URLRewrite takes a host name only), and lists a redirect to an address", async () => {
    const file = await dir.write("vhost.yaml", [
      ingressYaml("vhost", "vhost.example.com", [{ path: "/", service: "web" }], { "upstream-vhost": "internal.example.com:8080" }),
      ingressYaml("to-ip", "ip.example.com", [{ path: "/", service: "web" }], { "permanent-redirect": "http://10.0.0.1/x" }),
    ].join("---\n"));
    const r = await convertCommand({ files: [file], ingressClass: "ingressd", cwd: root });
    roundTrip(r.stdout);
    const docs = r.stdout.split(/^---$/m).map((d) => parse(d) as Record<string, any>);
    expect(docs.find((d) => d.metadata?.name === "vhost")!.spec.rules[0].filters).toEqual([
      { type: "RequestHeaderModifier", requestHeaderModifier: { set: [{ name: "Host", value: "internal.example.com:8080" }] } },
    ]);
    expect(r.stderr).toContain(`Ingress default/to-ip: permanent-redirect: "http://10.0.0.1/x" names an address, not a host name; RequestRedirect takes host names only: left out`);
  });
});

describe("convert --to gateway: ingress-nginx annotations", () => {
  let c: Converted;
  beforeAll(async () => {
    c = await convert("annotations.yaml");
  });

  it("rewrites the (/|$)(.*) idiom as ReplacePrefixMatch on a PathPrefix, upstream-vhost as the hostname, x-forwarded-prefix as a header", () => {
    expect(route(c, "api").spec.rules).toEqual([
      {
        matches: [{ path: { type: "PathPrefix", value: "/api" } }],
        filters: [
          { type: "URLRewrite", urlRewrite: { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/" }, hostname: "internal.example.com" } },
          { type: "RequestHeaderModifier", requestHeaderModifier: { set: [{ name: "X-Forwarded-Prefix", value: "/api" }] } },
        ],
        backendRefs: [{ name: "api", port: 80 }],
      },
    ]);
  });

  it("rewrites a target without captures as ReplaceFullPath (nginx replaces the whole URI), app-root as an Exact / redirect", () => {
    expect(route(c, "flat").spec.rules).toEqual([
      { matches: [{ path: { type: "Exact", value: "/" } }], filters: [{ type: "RequestRedirect", requestRedirect: { path: { type: "ReplaceFullPath", replaceFullPath: "/app" }, statusCode: 302 } }] },
      {
        matches: [{ path: { type: "PathPrefix", value: "/spa" } }],
        filters: [{ type: "URLRewrite", urlRewrite: { path: { type: "ReplaceFullPath", replaceFullPath: "/index.html" } } }],
        backendRefs: [{ name: "spa", port: 80 }],
      },
    ]);
  });

  it("matches use-regex paths as RegularExpression anchored at the start only, and lists captures it cannot rewrite", () => {
    expect(route(c, "regex").spec.rules[0].matches).toEqual([{ path: { type: "RegularExpression", value: "/user/[0-9]+.*" } }]);
    const captures = route(c, "captures").spec.rules[0];
    expect(captures.matches).toEqual([{ path: { type: "RegularExpression", value: "/v1/(.+)/items.*" } }]);
    expect(captures.filters).toBeUndefined();
    expect(c.stderr).toContain(`${FIXTURES}/annotations.yaml:50:5: Ingress default/captures: rewrite-target: "/v2/$1" uses capture groups`);
    expect(c.stderr).toContain(`${FIXTURES}/annotations.yaml:69:5: Ingress default/regex: use-regex: ingress-nginx matches the paths of this Ingress's hosts as expressions ignoring case`);
  });

  it("matches every path of a regex host as ingress-nginx does, another Ingress's Exact path too (as a prefix), and says so", () => {
    expect(route(c, "neighbour").spec.rules[0].matches).toEqual([{ path: { type: "PathPrefix", value: "/status" } }]);
    expect(c.stderr).toContain(`${FIXTURES}/annotations.yaml:128:7: Ingress default/neighbour: spec.rules[0]: another Ingress of this host uses use-regex or rewrite-target`);
  });

  it("splits permanent-redirect and temporal-redirect URLs into RequestRedirect, 308 as 301 (listed)", () => {
    expect(route(c, "moved").spec.rules).toEqual([
      {
        matches: [{ path: { type: "PathPrefix", value: "/" } }],
        filters: [{ type: "RequestRedirect", requestRedirect: { path: { type: "ReplaceFullPath", replaceFullPath: "/landing" }, scheme: "https", hostname: "new.example.com", port: 8443, statusCode: 301 } }],
      },
    ]);
    expect(route(c, "away").spec.rules[0].filters).toEqual([{ type: "RequestRedirect", requestRedirect: { path: { type: "ReplaceFullPath", replaceFullPath: "/maintenance" }, statusCode: 302 } }]);
    expect(c.stderr).toContain("Ingress default/moved: permanent-redirect: status 308 is not one RequestRedirect takes (301 or 302): 301 used");
  });

  it("lists every annotation without a Gateway API form at its line, on stderr and in the output's leading comment", () => {
    const listed = [
      `${FIXTURES}/annotations.yaml:9:5: Ingress default/api: limit-rps: Gateway API has no rate or connection limit; left out`,
      `${FIXTURES}/annotations.yaml:10:5: Ingress default/api: enable-cors: the CORS filter`,
      `${FIXTURES}/annotations.yaml:11:5: Ingress default/api: proxy-read-timeout: it limits the wait between two reads`,
    ];
    for (const line of listed) {
      expect(c.stderr).toContain(`  ${line}`);
      expect(c.stdout).toContain(`#   ${line}`);
    }
    expect(c.stderr).toMatch(/^left out \(10\):\n/);
    // The comment block comes first, before any document.
    expect(c.stdout.indexOf("apiVersion")).toBeGreaterThan(c.stdout.lastIndexOf("#   "));
  });
});

describe("convert --to gateway: canaries", () => {
  it("joins canaries to the main rule: weights out of canary-weight-total, header always/never and by value as header matches; lists the cookie", async () => {
    const c = await convert("canaries.yaml");
    expect(c.docs.filter((d) => d.kind === "HTTPRoute").map((d) => d.metadata.name)).toEqual(["main", "main-pattern"]);
    const root = { path: { type: "PathPrefix", value: "/" } };
    const beta = { path: { type: "PathPrefix", value: "/beta" } };
    expect(route(c, "main").spec.rules).toEqual([
      { matches: [root], backendRefs: [{ name: "stable", port: 80, weight: 80 }, { name: "next", port: 80, weight: 20 }] },
      { matches: [{ ...root, headers: [{ type: "Exact", name: "x-canary", value: "always" }] }], backendRefs: [{ name: "next", port: 80 }] },
      { matches: [{ ...root, headers: [{ type: "Exact", name: "x-canary", value: "never" }] }], backendRefs: [{ name: "stable", port: 80 }] },
      { matches: [beta], backendRefs: [{ name: "stable", port: 80 }] },
      { matches: [{ ...beta, headers: [{ type: "Exact", name: "x-beta", value: "yes" }] }], backendRefs: [{ name: "next", port: 80 }] },
    ]);
    // "yes" is a boolean to YAML 1.1 readers (kubectl): it must be written quoted.
    expect(c.stdout).toContain('value: "yes"');
    expect(c.stderr).toMatch(/^left out \(1\):\n/);
    expect(c.stderr).toContain(`${FIXTURES}/canaries.yaml:54:5: Ingress default/by-value: canary-by-cookie: a header match on Cookie compares the whole header`);
  });
});

describe("convert --to gateway: canary by header pattern", () => {
  it("matches canary-by-header-pattern unanchored as a RegularExpression header; weight 100 of 100 leaves the main backend out", async () => {
    const c = await convert("canaries.yaml");
    const root = { path: { type: "PathPrefix", value: "/" } };
    expect(route(c, "main-pattern").spec.rules).toEqual([
      { matches: [root], backendRefs: [{ name: "next", port: 80, weight: 100 }] },
      { matches: [{ ...root, headers: [{ type: "RegularExpression", name: "x-tester", value: ".*(?:^(alice|bob)$).*" }] }], backendRefs: [{ name: "next", port: 80 }] },
    ]);
    // The expression matches what ingress-nginx's unanchored pattern matches, however an implementation anchors it.
    const value = new RegExp(`^(?:${route(c, "main-pattern").spec.rules[1].matches[0].headers[0].value})$`);
    expect(["alice", "bob"].every((v) => value.test(v))).toBe(true);
    expect(["mallory", "alice2"].some((v) => value.test(v))).toBe(false);
  });
});

describe("ingressd convert as a process", () => {
  let cli: string;
  let dir: RulesDir;
  beforeAll(async () => {
    cli = buildCli("convert");
    dir = await rulesDir();
  });
  afterAll(() => dir.cleanup());

  async function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const p = startCli(cli, ["convert", ...args]);
    const { code } = await p.exited;
    return { code, stdout: p.stdout(), stderr: p.stderr() };
  }

  it("prints the objects on stdout and what is left out on stderr, exit 0", async () => {
    const r = await run(["--to", "gateway", `${FIXTURES}/annotations.yaml`, `${FIXTURES}/plain.yaml`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^# ingressd convert --to gateway: 8 Ingresses of class ingressd\.\n# Left out \(11\):\n/);
    expect(r.stdout).toContain("kind: HTTPRoute");
    expect(r.stderr).toMatch(/^left out \(11\):\n/);
    expect(r.stderr).not.toContain("kind:");
  });

  it("exits 2 on an unknown --to, without files, or without --to", async () => {
    for (const args of [["--to", "ingress", `${FIXTURES}/plain.yaml`], ["--to", "gateway"], [`${FIXTURES}/plain.yaml`]]) {
      const r = await run(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/^ingressd convert: .*\n\nUsage: ingressd convert --to gateway/);
    }
  });

  it("exits 1 with check's file:line:col errors for a file with errors, one that does not exist, or files without an Ingress", async () => {
    const bad = await dir.write("bad.yaml", ingressYaml("bad", "bad.example.com", [{ path: "/", pathType: "Sometimes", service: "web" }]));
    const r = await run(["--to", "gateway", bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/bad\.yaml:\d+:\d+: error: .*pathType/);
    expect(r.stderr).toMatch(/nothing converted\n$/);
    const missing = await run(["--to", "gateway", `${dir.dir}/nope.yaml`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("nope.yaml");
    const servicesOnly = await dir.write("services.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n    - port: 80\n");
    const nothing = await run(["--to", "gateway", servicesOnly]);
    expect(nothing.code).toBe(1);
    expect(nothing.stdout).toBe("");
    expect(nothing.stderr).toMatch(/no Ingress of class ingressd \(or without a class\) in .*services\.yaml: nothing converted\n$/);
  });

  it("--help says only Ingresses are printed", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Only Ingresses are converted: Services, Secrets and the rest are not printed");
  });
});
