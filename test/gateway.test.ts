import { rm } from "node:fs/promises";
import { createServer as createH2cServer } from "node:http2";
import { connect, createServer as createNetServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { checkCommand } from "../src/commands/check.js";
import { routesCommand } from "../src/commands/routes.js";
import { freePort, get, ingressYaml, nextReload, rulesDir, serviceYaml, startProxy, startUpstream, type RulesDir, type Upstream } from "./helpers.js";
import { createTestCa, httpsGet, secretYaml, type TestCa } from "./tlsHelpers.js";

/**
 * Gateway API from the same folder as Ingresses, served on the same front ends: real
 * upstreams, real files, ingressd in-process. The filters' own behaviour is in
 * gatewayFilters.test.ts, the upstream conformance scenarios in gatewayConformance.test.ts.
 */

const CLASS = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: local}
spec: {controllerName: ingressd.io/gateway-controller}
`;

function gatewayYaml(name: string, listeners: string, opts: { namespace?: string; className?: string } = {}): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ${name}, namespace: ${opts.namespace ?? "default"}}
spec:
  gatewayClassName: ${opts.className ?? "local"}
  listeners:
${listeners}`;
}

function routeYaml(name: string, spec: string, opts: { namespace?: string; created?: string } = {}): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: ${name}
  namespace: ${opts.namespace ?? "default"}${opts.created ? `\n  creationTimestamp: "${opts.created}"` : ""}
spec:
${spec}`;
}

/** Which upstream answered (the echo handler's `name`), or the status when ingressd answered itself. */
async function who(url: string, host: string, path: string, headers: Record<string, string> = {}, method = "GET"): Promise<string | number> {
  const res = await get(`${url}${path}`, { host, ...headers }, method);
  return res.status === 200 ? (JSON.parse(res.body) as { name: string }).name : res.status;
}

describe("Gateway API beside Ingress", () => {
  let upstreams: Record<string, Upstream>;
  let rules: RulesDir;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  const names = ["web", "api", "wild", "foo", "any", "old", "young", "other"];

  beforeAll(async () => {
    upstreams = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await startUpstream(n)] as const)));
    rules = await rulesDir();
    await rules.write("services.yaml", names.map((n) => serviceYaml(n, [upstreams[n]!.port])).join("---\n"));
    await rules.write("other-ns.yaml", serviceYaml("other", [upstreams.other!.port], { namespace: "elsewhere" }));
    await rules.write("class.yaml", CLASS);
    await rules.write("gateway.yaml", gatewayYaml("edge", `  - {name: http, port: 80, protocol: HTTP}
  - {name: wild, port: 80, protocol: HTTP, hostname: "*.example.com"}
  - {name: foo, port: 80, protocol: HTTP, hostname: foo.example.com}
`));
    await rules.write("ingress.yaml", ingressYaml("web", "web.localhost", [{ path: "/", service: "web" }]) + "---\n" + ingressYaml("one-label", "*.ingress.test", [{ path: "/", service: "web" }]));
    await rules.write("api.yaml", routeYaml("api", `  parentRefs: [{name: edge, sectionName: http}]
  hostnames: [api.localhost]
  rules:
  - matches:
    - path: {type: PathPrefix, value: /v1}
      method: POST
    backendRefs: [{name: api, port: 80}]
  - matches:
    - path: {type: PathPrefix, value: /v1}
      headers: [{name: X-Env, value: canary}]
    - path: {type: PathPrefix, value: /v1}
      queryParams: [{name: env, type: RegularExpression, value: "can.*"}]
    backendRefs: [{name: young, port: 80}]
  - matches:
    - path: {type: PathPrefix, value: /v1}
    backendRefs: [{name: old, port: 80}]
  - matches:
    - path: {type: Exact, value: /v1/exact}
    backendRefs: [{name: any, port: 80}]
  - matches:
    - path: {type: RegularExpression, value: "/items/[0-9]+"}
    backendRefs: [{name: foo, port: 80}]
`));
    await rules.write("wild.yaml", routeYaml("wild", `  parentRefs: [{name: edge, sectionName: wild}]
  rules:
  - backendRefs: [{name: wild, port: 80}]
`) + "---\n" + routeYaml("foo", `  parentRefs: [{name: edge, sectionName: foo}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /foo}}]
    backendRefs: [{name: foo, port: 80}]
`));
    proxy = await startProxy([rules.dir]);
  });
  afterAll(async () => {
    await proxy.close();
    await Promise.all(Object.values(upstreams).map((u) => u.close()));
    await rules.cleanup();
  });

  it("serves an HTTPRoute and an Ingress from the same folder on the same port", async () => {
    expect(await who(proxy.url, "web.localhost", "/")).toBe("web");
    expect(await who(proxy.url, "api.localhost", "/v1/users")).toBe("old");
  });

  it("matches by method, header, query (regex, whole value) and path as the spec ranks them", async () => {
    expect(await who(proxy.url, "api.localhost", "/v1/users", {}, "POST")).toBe("api");
    expect(await who(proxy.url, "api.localhost", "/v1/users", { "x-env": "canary" })).toBe("young");
    expect(await who(proxy.url, "api.localhost", "/v1/users?env=canary")).toBe("young");
    expect(await who(proxy.url, "api.localhost", "/v1/users?env=xcanary")).toBe("old"); // a regex matches the whole value
    expect(await who(proxy.url, "api.localhost", "/v1/users", { "x-env": "Canary" })).toBe("old"); // values are case-sensitive
    // A method match outranks a header match on the same path.
    expect(await who(proxy.url, "api.localhost", "/v1/users", { "x-env": "canary" }, "POST")).toBe("api");
    // Exact beats the longest prefix.
    expect(await who(proxy.url, "api.localhost", "/v1/exact")).toBe("any");
    expect(await who(proxy.url, "api.localhost", "/v1/exact/more")).toBe("old");
    // RegularExpression: the whole path, case-sensitive.
    expect(await who(proxy.url, "api.localhost", "/items/42")).toBe("foo");
    expect(await who(proxy.url, "api.localhost", "/items/42/x")).toBe(404);
    expect(await who(proxy.url, "api.localhost", "/ITEMS/42")).toBe(404);
  });

  it("a Gateway wildcard matches any depth; an Ingress wildcard exactly one label", async () => {
    expect(await who(proxy.url, "a.example.com", "/")).toBe("wild");
    expect(await who(proxy.url, "a.b.example.com", "/")).toBe("wild");
    expect(await who(proxy.url, "example.com", "/")).toBe(404);
    expect(await who(proxy.url, "a.ingress.test", "/")).toBe("web");
    expect(await who(proxy.url, "a.b.ingress.test", "/")).toBe(404);
  });

  it("listener isolation: a host the more specific listener takes is never served by the wildcard listener's routes", async () => {
    expect(await who(proxy.url, "foo.example.com", "/foo/x")).toBe("foo");
    expect(await who(proxy.url, "foo.example.com", "/bar")).toBe(404);
    expect(await who(proxy.url, "bar.example.com", "/bar")).toBe("wild");
    expect(await who(proxy.url, "bar.example.com", "/foo")).toBe("wild");
  });

  it("routes --explain names the HTTPRoute rule that matched and why the others lost, Ingress and HTTPRoute alike", async () => {
    const out = await routesCommand([rules.dir], { ingressClass: "ingressd", format: "text", cwd: rules.dir, explain: "http://api.localhost/v1/users?env=canary" });
    expect(out.output).toContain("[HTTPRoute default/api");
    expect(out.output).toMatch(/match: api\.localhost \/v1 \(Prefix\) when query env ~ .*→ default\/young:80/);
    expect(out.output).toMatch(/taken only when method POST/);
    const isolated = await routesCommand([rules.dir], { ingressClass: "ingressd", format: "text", cwd: rules.dir, explain: "http://foo.example.com/bar" });
    expect(isolated.output).toMatch(/no match: no path of the exact host foo\.example\.com matches, and it answers alone for its hosts \(Gateway API/);
    expect(isolated.output).toMatch(/\*\.example\.com .* answers alone|consulted only|answers alone/);
  });

  it("the older resource wins a host and path claimed by an Ingress and an HTTPRoute; the other gets a warning", async () => {
    const ingress = (created: string) =>
      ingressYaml("claim", "claim.localhost", [{ path: "/", service: "old" }]).replace("metadata:\n  name: claim\n", `metadata:\n  name: claim\n  creationTimestamp: "${created}"\n`);
    const route = (created: string) =>
      routeYaml("claim", `  parentRefs: [{name: edge, sectionName: http}]
  hostnames: [claim.localhost]
  rules:
  - backendRefs: [{name: young, port: 80}]
`, { created });
    let reloaded = nextReload(proxy, (s) => s.issues.some((i) => i.code === "duplicate-path" && i.resource === "HTTPRoute default/claim"));
    await rules.write("claim-ingress.yaml", ingress("2024-01-01T00:00:00Z"));
    await rules.write("claim-route.yaml", route("2025-01-01T00:00:00Z"));
    let snapshot = await reloaded;
    expect(await who(proxy.url, "claim.localhost", "/")).toBe("old");
    const warning = snapshot.issues.find((i) => i.code === "duplicate-path" && i.resource === "HTTPRoute default/claim");
    expect(warning?.message).toMatch(/claim\.localhost \/ \(Prefix\) is already routed by Ingress default\/claim at .*claim-ingress\.yaml:\d+/);
    expect(warning?.file).toMatch(/claim-route\.yaml$/);

    reloaded = nextReload(proxy, (s) => s.issues.some((i) => i.code === "duplicate-path" && i.resource === "Ingress default/claim"));
    await rules.write("claim-route.yaml", route("2023-01-01T00:00:00Z"));
    snapshot = await reloaded;
    expect(await who(proxy.url, "claim.localhost", "/")).toBe("young");
    // The HTTPRoute is attached to the plain-HTTP listener only: over HTTPS the Ingress still serves the path.
    expect(snapshot.issues.find((i) => i.code === "duplicate-path" && i.resource === "Ingress default/claim")?.message).toMatch(
      /is already routed over plain HTTP by HTTPRoute default\/claim .* this path is served over HTTPS only/,
    );

    reloaded = nextReload(proxy, (s) => s.routes.routesOf("claim.localhost").length === 0);
    await rm(join(rules.dir, "claim-ingress.yaml"));
    await rm(join(rules.dir, "claim-route.yaml"));
    await reloaded;
  });

  describe("references", () => {
    afterEach(async () => {
      const reloaded = nextReload(proxy, (s) => !s.routes.routesOf("refs.localhost").length);
      await rm(join(rules.dir, "refs.yaml"));
      await reloaded;
    });

    it("a Service in another namespace needs a ReferenceGrant there: without one its share gets 500 and ResolvedRefs is RefNotPermitted", async () => {
      const route = routeYaml("refs", `  parentRefs: [{name: edge, sectionName: http}]
  hostnames: [refs.localhost]
  rules:
  - backendRefs: [{name: other, namespace: elsewhere, port: 80}]
`);
      let reloaded = nextReload(proxy, (s) => s.routes.routesOf("refs.localhost").length > 0);
      await rules.write("refs.yaml", route);
      let snapshot = await reloaded;
      expect(await who(proxy.url, "refs.localhost", "/")).toBe(500);
      const parent = snapshot.gatewayApi.httpRoutes.find((r) => r.name === "default/refs")!.parents[0]!;
      expect(parent.conditions.map((c) => [c.type, c.status, c.reason])).toEqual([["Accepted", "True", "Accepted"], ["ResolvedRefs", "False", "RefNotPermitted"]]);
      const grant = `apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: let-default-in, namespace: elsewhere}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: default}]
  to: [{group: "", kind: Service}]
`;
      reloaded = nextReload(proxy, (s) => s.gatewayApi.httpRoutes.some((r) => r.name === "default/refs" && r.parents[0]?.conditions[1]?.status === "True"));
      await rules.write("refs.yaml", `${route}---\n${grant}`);
      snapshot = await reloaded;
      expect(await who(proxy.url, "refs.localhost", "/")).toBe("other");
    });

    it("a missing Service or an unsupported kind answers 500 for its share; weight 0 takes nothing", async () => {
      const reloaded = nextReload(proxy, (s) => s.routes.routesOf("refs.localhost").length > 0);
      await rules.write("refs.yaml", routeYaml("refs", `  parentRefs: [{name: edge, sectionName: http}]
  hostnames: [refs.localhost]
  rules:
  - matches: [{path: {type: PathPrefix, value: /missing}}]
    backendRefs: [{name: nothing-here, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /kind}}]
    backendRefs: [{group: example.com, kind: Bucket, name: b, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /none}}]
  - matches: [{path: {type: PathPrefix, value: /weights}}]
    backendRefs: [{name: old, port: 80, weight: 0}, {name: young, port: 80, weight: 5}]
`));
      const snapshot = await reloaded;
      expect(await who(proxy.url, "refs.localhost", "/missing")).toBe(500);
      expect(await who(proxy.url, "refs.localhost", "/kind")).toBe(500);
      expect(await who(proxy.url, "refs.localhost", "/none")).toBe(500);
      for (let i = 0; i < 10; i++) expect(await who(proxy.url, "refs.localhost", "/weights")).toBe("young");
      const parent = snapshot.gatewayApi.httpRoutes.find((r) => r.name === "default/refs")!.parents[0]!;
      expect(parent.conditions[1]).toMatchObject({ type: "ResolvedRefs", status: "False", reason: "BackendNotFound" });
      expect(snapshot.issues.find((i) => i.code === "invalid-backend-kind")?.field).toBe("spec.rules[1].backendRefs[0]");
    });
  });

  it("check prints each Gateway, listener and route parent with its conditions and reasons", async () => {
    const dir = await rulesDir();
    try {
      await dir.write("all.yaml", [
        CLASS,
        gatewayYaml("edge", `  - {name: http, port: 80, protocol: HTTP, hostname: "*.example.com"}
  - {name: tcp, port: 5432, protocol: TCP}
`),
        // Gateways share ingressd's one address: the same port and hostname in a second Gateway conflicts (the older keeps it).
        gatewayYaml("edge2", `  - {name: twin, port: 80, protocol: HTTP, hostname: "*.example.com"}
`),
        serviceYaml("web", [1]),
        routeYaml("far", `  parentRefs: [{name: edge, namespace: default}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
`, { namespace: "team" }),
        routeYaml("elsewhere", `  parentRefs: [{name: edge}]
  hostnames: [app.other.org]
  rules: [{backendRefs: [{name: web, port: 80}]}]
`),
        routeYaml("section", `  parentRefs: [{name: edge, sectionName: nope}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
`),
      ].join("---\n"));
      const out = await checkCommand([dir.dir], { ingressClass: "ingressd", format: "text", cwd: dir.dir });
      expect(out.exitCode).toBe(0);
      expect(out.output).toContain("Gateway default/edge (class local): Accepted, Programmed");
      expect(out.output).toContain("  listener http (HTTP, port 80, *.example.com): Accepted, ResolvedRefs, Programmed; 0 routes");
      expect(out.output).toContain("Gateway default/edge2 (class local): Accepted, Programmed False (Invalid: none of its listeners is served)");
      expect(out.output).toMatch(/ {2}listener twin \(HTTP, port 80, \*\.example\.com\): Accepted, Conflicted True \(HostnameConflict: .*\), ResolvedRefs, Programmed False/);
      expect(out.output).toMatch(/ {2}listener tcp \(TCP, port 5432, any host\): Accepted False \(UnsupportedProtocol: protocol TCP is not served by ingressd/);
      expect(out.output).toMatch(/HTTPRoute team\/far → Gateway default\/edge: Accepted False \(NotAllowedByListeners: /);
      expect(out.output).toMatch(/HTTPRoute default\/elsewhere → Gateway default\/edge: Accepted False \(NoMatchingListenerHostname: /);
      expect(out.output).toMatch(/HTTPRoute default\/section → Gateway default\/edge \(listener nope\): Accepted False \(NoMatchingParent: /);
      // Each refusal is also a warning at the field, with file:line:col.
      expect(out.output).toMatch(/all\.yaml:\d+:\d+: warning: HTTPRoute team\/far is not accepted by Gateway default\/edge \(NotAllowedByListeners\).*\(spec\.parentRefs\[0\]\)/);
      const json = JSON.parse((await checkCommand([dir.dir], { ingressClass: "ingressd", format: "json", cwd: dir.dir })).output) as { gatewayApi: { gateways: { listeners: { name: string; conditions: { type: string; status: string }[] }[] }[] } };
      expect(json.gatewayApi.gateways[0]!.listeners.map((l) => l.name)).toEqual(["http", "tcp"]);
    } finally {
      await dir.cleanup();
    }
  });

  it("/api/config shows the Gateway API status with a summary per condition list", async () => {
    const res = await get(`${proxy.admin}/api/config`);
    const config = JSON.parse(res.body) as { gatewayApi: { gateways: { name: string; summary: string; listeners: { name: string; attachedRoutes: number; summary: string }[] }[] }; hosts: Record<string, { kind?: string; ingress: string }[]> };
    const edge = config.gatewayApi.gateways.find((g) => g.name === "default/edge")!;
    expect(edge.summary).toBe("Accepted, Programmed");
    expect(edge.listeners.map((l) => [l.name, l.attachedRoutes, l.summary])).toEqual([
      ["http", 1, "Accepted, ResolvedRefs, Programmed"],
      ["wild", 1, "Accepted, ResolvedRefs, Programmed"],
      ["foo", 1, "Accepted, ResolvedRefs, Programmed"],
    ]);
    expect(config.hosts["api.localhost"]![0]).toMatchObject({ kind: "HTTPRoute", ingress: "default/api" });
  });
});

describe("an HTTPS listener", () => {
  let ca: TestCa;
  let upstream: Upstream;
  let rules: RulesDir;
  let proxy: Awaited<ReturnType<typeof startProxy>>;

  beforeAll(async () => {
    ca = await createTestCa();
    upstream = await startUpstream("secure");
    rules = await rulesDir();
    const leaf = await ca.issue(["*.secure.test"]);
    await rules.write("all.yaml", [
      CLASS,
      serviceYaml("secure", [upstream.port]),
      secretYaml("secure-cert", leaf),
      gatewayYaml("tls", `  - name: https
    port: 443
    protocol: HTTPS
    hostname: "*.secure.test"
    tls: {certificateRefs: [{name: secure-cert}]}
`),
      routeYaml("secure", `  parentRefs: [{name: tls}]
  rules: [{backendRefs: [{name: secure, port: 80}]}]
`),
    ].join("---\n"));
    proxy = await startProxy([rules.dir], { httpsPort: 0 });
  });
  afterAll(async () => {
    await proxy.close();
    await upstream.close();
    await rules.cleanup();
  });

  it("presents the listener's certificate for the names its hostname covers and serves its routes over HTTPS only", async () => {
    const port = await proxy.httpsReady();
    const res = await httpsGet(port, "a.secure.test", "/", { ca: ca.certPem });
    expect(res.status).toBe(200);
    expect((JSON.parse(res.body) as { name: string }).name).toBe("secure");
    // Attached to the HTTPS listener only: plain HTTP does not serve it.
    expect(await who(proxy.url, "a.secure.test", "/")).toBe(404);
  });
});

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

describe("a listener on another port", () => {
  let ca: TestCa;
  let upstream: Upstream;
  let rules: RulesDir;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  let plainPort: number;
  let securePort: number;

  beforeAll(async () => {
    ca = await createTestCa();
    upstream = await startUpstream("side");
    rules = await rulesDir();
    [plainPort, securePort] = [await freePort(), await freePort()];
    const leaf = await ca.issue(["side.test"]);
    await rules.write("all.yaml", [
      CLASS,
      serviceYaml("side", [upstream.port]),
      secretYaml("side-cert", leaf),
      gatewayYaml("side", `  - {name: plain, port: ${plainPort}, protocol: HTTP}
  - name: secure
    port: ${securePort}
    protocol: HTTPS
    hostname: side.test
    tls: {certificateRefs: [{name: side-cert}]}
`),
      routeYaml("side", `  parentRefs: [{name: side}]
  rules: [{backendRefs: [{name: side, port: 80}]}]
`),
    ].join("---\n"));
    proxy = await startProxy([rules.dir]);
  });
  afterAll(async () => {
    await proxy.close();
    await upstream.close();
    await rules.cleanup();
  });

  it("opens the port and serves the routes attached to its listeners there only, over HTTP and HTTPS", async () => {
    expect(await who(`http://127.0.0.1:${plainPort}`, "side.test", "/")).toBe("side");
    const res = await httpsGet(securePort, "side.test", "/", { ca: ca.certPem });
    expect((JSON.parse(res.body) as { name: string }).name).toBe("side");
    // Not on ingressd's own HTTP port: the listeners are on their own ports.
    expect(await who(proxy.url, "side.test", "/")).toBe(404);
    const listener = proxy.runtime.current.gatewayApi.gateways[0]!.listeners[0]!;
    expect(listener.conditions.find((c) => c.type === "Programmed")).toMatchObject({ status: "True", message: `served on port ${plainPort}` });
    expect(proxy.gatewayPorts.status()).toEqual([
      { port: plainPort, protocol: "HTTP", state: "listening" },
      { port: securePort, protocol: "HTTPS", state: "listening" },
    ]);
  });

  it("a route on its own port reaches an h2c backend: the Service port's HTTP/2 pool is made for that port's routes too", async () => {
    const h2 = createH2cServer((req, res) => res.end(`h2c ${req.httpVersion}`));
    await new Promise<void>((res) => h2.listen(0, "127.0.0.1", res));
    const port = await freePort();
    try {
      const reloaded = nextReload(proxy, (s) => s.gatewayPorts.has(port));
      await rules.write("h2c.yaml", [
        `apiVersion: v1
kind: Service
metadata: {name: grpcish}
spec:
  ports: [{port: 80, appProtocol: kubernetes.io/h2c}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: grpcish}
subsets: [{addresses: [{ip: 127.0.0.1}], ports: [{port: ${(h2.address() as AddressInfo).port}}]}]
`,
        gatewayYaml("h2c", `  - {name: plain, port: ${port}, protocol: HTTP}
`),
        routeYaml("h2c", `  parentRefs: [{name: h2c}]
  rules: [{backendRefs: [{name: grpcish, port: 80}]}]
`),
      ].join("---\n"));
      await reloaded;
      await expect.poll(() => proxy.gatewayPorts.status().find((p) => p.port === port)?.state, { timeout: 10_000 }).toBe("listening");
      const res = await get(`http://127.0.0.1:${port}/`, { host: "any.test" });
      expect([res.status, res.body]).toEqual([200, "h2c 2.0"]);
    } finally {
      const removed = nextReload(proxy, (s) => !s.gatewayPorts.has(port));
      await rm(join(rules.dir, "h2c.yaml"));
      await removed;
      await new Promise((res) => h2.close(res));
    }
  });

    it("closes the port when no listener asks for it any more, and reports a port it cannot open", async () => {
    const taken = createNetServer();
    const takenPort = await freePort();
    await new Promise<void>((res) => taken.listen(takenPort, "127.0.0.1", res));
    try {
      const reloaded = nextReload(proxy, (s) => s.gatewayPorts.has(takenPort));
      await rules.write("all.yaml", [
        CLASS,
        serviceYaml("side", [upstream.port]),
        gatewayYaml("side", `  - {name: plain, port: ${takenPort}, protocol: HTTP}\n`),
        routeYaml("side", `  parentRefs: [{name: side}]\n  rules: [{backendRefs: [{name: side, port: 80}]}]\n`),
      ].join("---\n"));
      await reloaded;
      await expect.poll(() => proxy.gatewayPorts.status(), { timeout: 10_000 }).toEqual([
        { port: takenPort, protocol: "HTTP", state: "error", error: `port ${takenPort} is already in use` },
      ]);
      expect(await refused(plainPort)).toBe(true);
      expect(await refused(securePort)).toBe(true);
      expect(proxy.notReady()).toBeUndefined(); // a port that failed does not hold readiness
      const config = JSON.parse((await get(`${proxy.admin}/api/config`)).body) as { gatewayPorts: unknown[] };
      expect(config.gatewayPorts).toEqual([{ port: takenPort, protocol: "HTTP", state: "error", error: `port ${takenPort} is already in use` }]);
    } finally {
      await new Promise((res) => taken.close(res));
    }
  });
});
