import { EventEmitter, once } from "node:events";
import { Writable } from "node:stream";
import pino from "pino";
import { request, type IncomingMessage, type ServerResponse } from "node:http";
import { connect as h2connect } from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import type { BackendRef } from "../src/model/backendKey.js";
import type { Filter, HeaderChanges, PathType, Route, WeightedBackend } from "../src/model/route.js";
import { compilePathReplacement } from "../src/proxy/filters/pathReplacement.js";
import { buildRouteTable } from "../src/routing/buildTable.js";
import type { Ingressd } from "../src/server/ingressd.js";
import { h2Request } from "./h2Helpers.js";
import { createTestCa, httpsGet, secretYaml, tlsIngressYaml } from "./tlsHelpers.js";
import { get, ingressYaml, rulesDir, serviceYaml, startProxy, startUpstream, type RulesDir, type Upstream } from "./helpers.js";

/**
 * The Gateway API filters' proxy steps, on hand-built routes: until the Gateway API
 * translator lands, `GatewayProxy` starts ingressd on Services, Endpoints and an Ingress
 * that create the pools, then serves a routing table built from the test's own routes
 * on the runtime's snapshot (the front end reads `runtime.current` per request). Swap
 * this helper for HTTPRoute YAML once the translator is there.
 */
interface GatewayProxy {
  proxy: Ingressd & { url: string };
  /** The backend of a Service `name` (port 80) as the Ingress named it. */
  backend(name: string): BackendRef;
  /** From now on, requests are routed by these routes only. */
  serve(routes: Route[]): void;
  close(): Promise<void>;
}

async function gatewayProxy(services: Record<string, number[]>, extra: Parameters<typeof startProxy>[1] = {}, files: Record<string, string> = {}): Promise<GatewayProxy> {
  const rules: RulesDir = await rulesDir();
  for (const [name, text] of Object.entries(files)) await rules.write(name, text);
  for (const [name, ports] of Object.entries(services)) await rules.write(`${name}.yaml`, serviceYaml(name, ports));
  await rules.write("pools.yaml", ingressYaml("pools", "pools.invalid", Object.keys(services).map((s) => ({ path: `/${s}`, service: s }))));
  const proxy = await startProxy([rules.dir], { watch: false, ...extra });
  const loaded = proxy.runtime.current;
  return {
    proxy,
    backend(name) {
      const route = loaded.routes.routes().find((r) => r.backends[0]?.backend.service === name);
      if (!route) throw new Error(`no pool for ${name}`);
      return route.backends[0]!.backend;
    },
    serve(routes) {
      proxy.runtime.current = { ...loaded, routes: buildRouteTable(routes).table };
    },
    async close() {
      await proxy.close();
      await rules.cleanup();
    },
  };
}

const ORIGIN: Route["origin"] = {
  kind: "HTTPRoute",
  name: "default/test",
  resource: "HTTPRoute/default/test",
  field: "spec.rules[0]",
  source: { file: "test.yaml", line: 1, col: 1 },
  locate: () => ({ file: "test.yaml", line: 1, col: 1 }),
};

function route(path: string, filters: Filter[], backends: WeightedBackend[], pathType: PathType = "Prefix"): Route {
  return { match: { host: null, path, pathType }, filters, backends, origin: ORIGIN };
}

function changes(c: Partial<HeaderChanges>): HeaderChanges {
  return { set: c.set ?? [], add: c.add ?? [], remove: c.remove ?? [] };
}

/**
 * An upstream that answers the request as it got it: `name`, the target, the raw headers
 * (as pairs, so a value appended to shows as one header), the body's length. It sets the
 * response headers the request's `x-respond-with` asks for (JSON), and waits `?delay=`
 * milliseconds before answering (`?delay-body=`: after the head, before the body).
 */
function rawEcho(name: string) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    let bytes = 0;
    req.on("data", (c: Buffer) => (bytes += c.length));
    req.on("end", () => {
      const query = new URL(req.url ?? "/", "http://x").searchParams;
      const extra = req.headers["x-respond-with"];
      const headers: [string, string][] = [["content-type", "application/json"], ...Object.entries(typeof extra === "string" ? (JSON.parse(extra) as Record<string, string>) : {})];
      const body = JSON.stringify({ name, url: req.url, method: req.method, raw: pairs(req.rawHeaders), bytes });
      const answer = (): void => {
        if (res.destroyed) return;
        res.writeHead(200, headers.flat());
        const bodyDelay = Number(query.get("delay-body") ?? 0);
        if (bodyDelay > 0) {
          res.write("{");
          setTimeout(() => res.end(body.slice(1)), bodyDelay);
        } else res.end(body);
      };
      const delay = Number(query.get("delay") ?? 0);
      if (delay > 0) setTimeout(answer, delay);
      else answer();
    });
  };
}

function pairs(raw: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

interface Echoed {
  name: string;
  url: string;
  raw: [string, string][];
  bytes: number;
}

/** The values of header `name` (any case) the upstream got, one per header line. */
function valuesOf(e: Echoed, name: string): string[] {
  return e.raw.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
}

async function echoed(url: string, headers: Record<string, string> = {}): Promise<Echoed> {
  const r = await get(url, headers);
  expect(r.status, r.body).toBe(200);
  return JSON.parse(r.body) as Echoed;
}

describe("Gateway API request and response header modifiers", () => {
  let up: Upstream;
  let gw: GatewayProxy;
  beforeAll(async () => {
    up = await startUpstream(rawEcho("infra-backend-v1"));
    gw = await gatewayProxy({ "infra-backend-v1": [up.port] });
    const b: WeightedBackend = { backend: gw.backend("infra-backend-v1"), weight: 1 };
    const on = (filter: Filter): WeightedBackend[] => [{ ...b, filters: [filter] }];
    const req = (c: Partial<HeaderChanges>): Filter => ({ type: "requestHeaderModifier", ...changes(c) });
    const res = (c: Partial<HeaderChanges>): Filter => ({ type: "responseHeaderModifier", ...changes(c) });
    gw.serve([
      // httproute-request-header-modifier.yaml: the filters are the backendRef's.
      route("/set", [], on(req({ set: [["X-Header-Set", "set-overwrites-values"]] }))),
      route("/add", [], on(req({ add: [["X-Header-Add", "add-appends-values"]] }))),
      route("/remove", [], on(req({ remove: ["x-header-remove"] }))),
      route("/multiple", [], on(req({
        set: [["X-Header-Set-1", "header-set-1"], ["X-Header-Set-2", "header-set-2"]],
        add: [["X-Header-Add-1", "header-add-1"], ["X-Header-Add-2", "header-add-2"], ["X-Header-Add-3", "header-add-3"]],
        remove: ["x-header-remove-1", "x-header-remove-2"],
      }))),
      route("/case-insensitivity", [], on(req({ set: [["X-Header-Set", "header-set"]], add: [["X-Header-Add", "header-add"]], remove: ["x-header-remove"] }))),
      // After ingressd's own headers and a requestHeaders step; Host is never removed.
      route("/after-own", [
        { type: "requestHeaders", set: [["x-forwarded-prefix", "/from-requestHeaders"]] },
        req({ set: [["X-Request-ID", "from-modifier"]], add: [["X-Forwarded-Prefix", "appended"]], remove: ["host", "x-real-ip"] }),
      ], [b]),
      // httproute-response-header-modifier.yaml
      route("/response/set", [res({ set: [["X-Header-Set", "set-overwrites-values"]] })], [b]),
      route("/response/add", [res({ add: [["X-Header-Add", "add-appends-values"]] })], [b]),
      route("/response/remove", [res({ remove: ["x-header-remove"] })], [b]),
      route("/response/multiple", [res({
        set: [["X-Header-Set-1", "header-set-1"], ["X-Header-Set-2", "header-set-2"]],
        add: [["X-Header-Add-1", "header-add-1"], ["X-Header-Add-2", "header-add-2"], ["X-Header-Add-3", "header-add-3"]],
        remove: ["x-header-remove-1", "x-header-remove-2"],
      })], [b]),
      route("/response/case-insensitivity", [res({
        set: [["X-Header-Set", "header-set"]],
        add: [["X-Header-Add", "header-add"], ["x-lowercase-add", "lowercase-add"], ["x-Mixedcase-ADD-1", "mixedcase-add-1"], ["X-mixeDcase-add-2", "mixedcase-add-2"], ["X-UPPERCASE-ADD", "uppercase-add"]],
        remove: ["x-header-remove"],
      })], [b]),
      route("/response-and-request-header-modifiers", [
        req({ set: [["X-Header-Set", "set-overwrites-values"]], add: [["X-Header-Add", "header-val-1"], ["X-Header-Add-Append", "header-val-2"]], remove: ["x-header-remove"] }),
        res({ set: [["X-Header-Set-1", "header-set-1"], ["X-Header-Set-2", "header-set-2"]], add: [["X-Header-Add-1", "header-add-1"], ["X-Header-Add-2", "header-add-2"]], remove: ["x-header-remove-1", "x-header-remove-2"] }),
      ], [b]),
      // Only the upstream's responses: ingressd's own answers are left alone.
      route("/response/own-answer", [res({ set: [["X-Header-Set", "set"]] })], [{ backend: b.backend, weight: 1, invalid: "refused for the test" }]),
    ]);
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it("set replaces every value of the header or adds it (request-header-modifier /set)", async () => {
    const a = await echoed(`${gw.proxy.url}/set`, { "Some-Other-Header": "val" });
    expect(valuesOf(a, "some-other-header")).toEqual(["val"]);
    expect(valuesOf(a, "x-header-set")).toEqual(["set-overwrites-values"]);
    const b = await echoed(`${gw.proxy.url}/set`, { "Some-Other-Header": "val", "X-Header-Set": "some-other-value" });
    expect(valuesOf(b, "x-header-set")).toEqual(["set-overwrites-values"]);
  });

  it("add appends to an existing header as `a,b`, or adds it (request-header-modifier /add)", async () => {
    const a = await echoed(`${gw.proxy.url}/add`, { "Some-Other-Header": "val" });
    expect(valuesOf(a, "x-header-add")).toEqual(["add-appends-values"]);
    const b = await echoed(`${gw.proxy.url}/add`, { "Some-Other-Header": "val", "X-Header-Add": "some-other-value" });
    expect(valuesOf(b, "x-header-add")).toEqual(["some-other-value,add-appends-values"]);
  });

  it("remove drops the header (request-header-modifier /remove)", async () => {
    const a = await echoed(`${gw.proxy.url}/remove`, { "X-Header-Remove": "val" });
    expect(valuesOf(a, "x-header-remove")).toEqual([]);
  });

  it("set, add and remove together (request-header-modifier /multiple)", async () => {
    const a = await echoed(`${gw.proxy.url}/multiple`, { "X-Header-Set-2": "set-val-2", "X-Header-Add-2": "add-val-2", "X-Header-Remove-2": "remove-val-2", "Another-Header": "another-header-val" });
    expect(valuesOf(a, "x-header-set-1")).toEqual(["header-set-1"]);
    expect(valuesOf(a, "x-header-set-2")).toEqual(["header-set-2"]);
    expect(valuesOf(a, "x-header-add-1")).toEqual(["header-add-1"]);
    expect(valuesOf(a, "x-header-add-2")).toEqual(["add-val-2,header-add-2"]);
    expect(valuesOf(a, "x-header-add-3")).toEqual(["header-add-3"]);
    expect(valuesOf(a, "another-header")).toEqual(["another-header-val"]);
    expect(valuesOf(a, "x-header-remove-1")).toEqual([]);
    expect(valuesOf(a, "x-header-remove-2")).toEqual([]);
  });

  it("names match whatever their case (request-header-modifier /case-insensitivity)", async () => {
    const a = await echoed(`${gw.proxy.url}/case-insensitivity`, { "x-header-set": "original-val-set", "x-header-add": "original-val-add", "x-header-remove": "original-val-remove", "Another-Header": "another-header-val" });
    expect(valuesOf(a, "x-header-set")).toEqual(["header-set"]);
    expect(valuesOf(a, "x-header-add")).toEqual(["original-val-add,header-add"]);
    expect(valuesOf(a, "another-header")).toEqual(["another-header-val"]);
    expect(valuesOf(a, "x-header-remove")).toEqual([]);
  });

  it("applies after ingressd's own headers and a requestHeaders step, and never removes Host", async () => {
    const a = await echoed(`${gw.proxy.url}/after-own`, { "X-Request-ID": "from-client" });
    expect(valuesOf(a, "x-request-id")).toEqual(["from-modifier"]);
    expect(valuesOf(a, "x-forwarded-prefix")).toEqual(["/from-requestHeaders,appended"]);
    expect(valuesOf(a, "x-real-ip")).toEqual([]);
    expect(valuesOf(a, "host")).toEqual([`127.0.0.1:${gw.proxy.httpPort}`]);
  });

  const respondWith = (h: Record<string, string>): Record<string, string> => ({ "x-respond-with": JSON.stringify(h) });

  it("response: set replaces or adds (response-header-modifier /set)", async () => {
    const a = await get(`${gw.proxy.url}/response/set`, respondWith({ "Some-Other-Header": "val" }));
    expect(a.headers["some-other-header"]).toBe("val");
    expect(a.headers["x-header-set"]).toBe("set-overwrites-values");
    const b = await get(`${gw.proxy.url}/response/set`, respondWith({ "Some-Other-Header": "val", "X-Header-Set": "some-other-value" }));
    expect(b.headers["x-header-set"]).toBe("set-overwrites-values");
  });

  it("response: add appends as `a,b` or adds (response-header-modifier /add)", async () => {
    const a = await get(`${gw.proxy.url}/response/add`, respondWith({ "Some-Other-Header": "val" }));
    expect(a.headers["x-header-add"]).toBe("add-appends-values");
    const b = await get(`${gw.proxy.url}/response/add`, respondWith({ "Some-Other-Header": "val", "X-Header-Add": "some-other-value" }));
    expect(pairs(b.rawHeaders).filter(([n]) => n.toLowerCase() === "x-header-add")).toEqual([["x-header-add", "some-other-value,add-appends-values"]]);
  });

  it("response: remove drops a header the upstream sent (response-header-modifier /remove)", async () => {
    const a = await get(`${gw.proxy.url}/response/remove`, respondWith({ "X-Header-Remove": "val" }));
    expect(a.status).toBe(200);
    expect(a.headers["x-header-remove"]).toBeUndefined();
  });

  it("response: set, add and remove together (response-header-modifier /multiple)", async () => {
    const a = await get(`${gw.proxy.url}/response/multiple`, respondWith({ "X-Header-Set-2": "set-val-2", "X-Header-Add-2": "add-val-2", "X-Header-Remove-2": "remove-val-2", "Another-Header": "another-header-val", "X-Header-Remove-1": "val" }));
    expect(a.headers).toMatchObject({ "x-header-set-1": "header-set-1", "x-header-set-2": "header-set-2", "x-header-add-1": "header-add-1", "x-header-add-2": "add-val-2,header-add-2", "x-header-add-3": "header-add-3", "another-header": "another-header-val" });
    expect(a.headers["x-header-remove-1"]).toBeUndefined();
    expect(a.headers["x-header-remove-2"]).toBeUndefined();
  });

  it("response: names match whatever their case (response-header-modifier /case-insensitivity)", async () => {
    const a = await get(`${gw.proxy.url}/response/case-insensitivity`, respondWith({ "x-header-set": "original-val-set", "x-header-add": "original-val-add", "x-header-remove": "original-val-remove", "Another-Header": "another-header-val" }));
    expect(a.headers).toMatchObject({ "x-header-set": "header-set", "x-header-add": "original-val-add,header-add", "x-lowercase-add": "lowercase-add", "x-mixedcase-add-1": "mixedcase-add-1", "x-mixedcase-add-2": "mixedcase-add-2", "x-uppercase-add": "uppercase-add", "another-header": "another-header-val" });
    expect(a.headers["x-header-remove"]).toBeUndefined();
  });

  it("request and response modifiers on one route (response-header-modifier /response-and-request-header-modifiers)", async () => {
    const a = await get(`${gw.proxy.url}/response-and-request-header-modifiers`, {
      "X-Header-Remove": "remove-val",
      "X-Header-Add-Append": "append-val-1",
      "X-Header-Echo": "echo",
      ...respondWith({ "X-Header-Set-2": "set-val-2", "X-Header-Add-2": "add-val-2", "X-Header-Remove-2": "remove-val-2", "Another-Header": "another-header-val", "X-Header-Remove-1": "remove-val-1", "X-Header-Echo": "echo" }),
    });
    const seen = JSON.parse(a.body) as Echoed;
    expect(valuesOf(seen, "x-header-add")).toEqual(["header-val-1"]);
    expect(valuesOf(seen, "x-header-set")).toEqual(["set-overwrites-values"]);
    expect(valuesOf(seen, "x-header-add-append")).toEqual(["append-val-1,header-val-2"]);
    expect(valuesOf(seen, "x-header-echo")).toEqual(["echo"]);
    expect(valuesOf(seen, "x-header-remove")).toEqual([]);
    expect(a.headers).toMatchObject({ "x-header-set-1": "header-set-1", "x-header-set-2": "header-set-2", "x-header-add-1": "header-add-1", "x-header-add-2": "add-val-2,header-add-2", "another-header": "another-header-val", "x-header-echo": "echo" });
    expect(a.headers["x-header-remove-1"]).toBeUndefined();
    expect(a.headers["x-header-remove-2"]).toBeUndefined();
  });

  it("response: ingressd's own answers are left alone (as Envoy Gateway's local replies)", async () => {
    const a = await get(`${gw.proxy.url}/response/own-answer`);
    expect(a.status).toBe(500);
    expect(a.headers["x-header-set"]).toBeUndefined();
  });
});

describe("Gateway API request header modifier on WebSocket upgrades", () => {
  let gw: GatewayProxy;
  let wss: WebSocketServer;
  const upgrades: IncomingMessage[] = [];
  beforeAll(async () => {
    wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await once(wss, "listening");
    wss.on("connection", (ws, req) => {
      upgrades.push(req);
      ws.send("hello");
    });
    gw = await gatewayProxy({ ws: [(wss.address() as { port: number }).port] });
    gw.serve([route("/", [{ type: "requestHeaderModifier", ...changes({ set: [["X-Header-Set", "set"]], add: [["X-Header-Add", "b"]], remove: ["x-header-remove"] }) }], [{ backend: gw.backend("ws"), weight: 1 }])]);
  });
  afterAll(async () => {
    await gw.close();
    for (const c of wss.clients) c.terminate();
    await new Promise((res) => wss.close(res));
  });

  it("the upgrade request goes upstream with the changes", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${gw.proxy.httpPort}/chat`, { headers: { "X-Header-Add": "a", "X-Header-Remove": "gone", "X-Header-Set": "old" } });
    const [greeting] = (await once(ws, "message")) as [Buffer];
    expect(String(greeting)).toBe("hello");
    ws.close();
    const seen = upgrades.at(-1)!;
    expect(seen.headers["x-header-set"]).toBe("set");
    expect(seen.headers["x-header-add"]).toBe("a,b");
    expect(seen.headers["x-header-remove"]).toBeUndefined();
  });
});

describe("Gateway API path replacement (RequestRedirect, URLRewrite)", () => {
  it("replaces the whole path, or the matched prefix on whole path elements", () => {
    const prefix = (p: string, r: string) => compilePathReplacement({ kind: "prefix", prefix: p, replacement: r });
    expect(prefix("/foo", "/bar")("/foo/x")).toBe("/bar/x");
    expect(prefix("/foo", "/bar")("/foo")).toBe("/bar");
    expect(prefix("/foo", "/bar")("/foo/")).toBe("/bar/");
    expect(prefix("/foo", "/")("/foo/x")).toBe("/x");
    expect(prefix("/foo", "/")("/foo")).toBe("/");
    expect(prefix("/foo/", "/bar/")("/foo/x")).toBe("/bar/x");
    expect(prefix("/", "/bar")("/x")).toBe("/bar/x");
    expect(prefix("/foo", "/bar")("/Foo/x")).toBe("/Foo/x"); // case-sensitive
    expect(compilePathReplacement({ kind: "full", path: "/one" })("/full/one/two")).toBe("/one");
  });
});

describe("Gateway API RequestRedirect and URLRewrite", () => {
  let up: Upstream;
  let gw: GatewayProxy;
  beforeAll(async () => {
    up = await startUpstream(rawEcho("infra-backend-v1"));
    gw = await gatewayProxy({ "infra-backend-v1": [up.port] });
    const b: WeightedBackend[] = [{ backend: gw.backend("infra-backend-v1"), weight: 1 }];
    const redirect = (path: string, f: Omit<Extract<Filter, { type: "requestRedirect" }>, "type" | "code"> & { code?: number }): Route =>
      route(path, [{ type: "requestRedirect", code: f.code ?? 302, ...f }], b);
    const rewrite = (path: string, p: Extract<Filter, { type: "pathRewrite" }>["path"], more: Filter[] = []): Route => route(path, [{ type: "pathRewrite", path: p }, ...more], b);
    const modify: Filter = { type: "requestHeaderModifier", ...changes({ set: [["X-Header-Set", "set-overwrites-values"]], add: [["X-Header-Add", "header-val-1"], ["X-Header-Add-Append", "header-val-2"]], remove: ["x-header-remove"] }) };
    gw.serve([
      // httproute-redirect-path.yaml
      redirect("/original-prefix", { path: { kind: "prefix", prefix: "/original-prefix", replacement: "/replacement-prefix" } }),
      redirect("/full", { path: { kind: "full", path: "/full-path-replacement" } }),
      redirect("/path-and-host", { hostname: "example.org", path: { kind: "prefix", prefix: "/path-and-host", replacement: "/replacement-prefix" } }),
      redirect("/path-and-status", { code: 301, path: { kind: "prefix", prefix: "/path-and-status", replacement: "/replacement-prefix" } }),
      redirect("/full-path-and-host", { hostname: "example.org", path: { kind: "full", path: "/replacement-full" } }),
      redirect("/full-path-and-status", { code: 301, path: { kind: "full", path: "/replacement-full" } }),
      // httproute-redirect-port-and-scheme.yaml (all with hostname example.org)
      redirect("/scheme-nil-and-port-nil", { hostname: "example.org" }),
      redirect("/scheme-nil-and-port-80", { hostname: "example.org", port: 80 }),
      redirect("/scheme-nil-and-port-8080", { hostname: "example.org", port: 8080 }),
      redirect("/scheme-https-and-port-nil", { hostname: "example.org", scheme: "https" }),
      redirect("/scheme-https-and-port-443", { hostname: "example.org", scheme: "https", port: 443 }),
      redirect("/scheme-https-and-port-8443", { hostname: "example.org", scheme: "https", port: 8443 }),
      // httproute-rewrite-path.yaml
      rewrite("/prefix/one", { kind: "prefix", prefix: "/prefix/one", replacement: "/one" }),
      rewrite("/strip-prefix", { kind: "prefix", prefix: "/strip-prefix", replacement: "/" }),
      rewrite("/full/one", { kind: "full", path: "/one" }),
      rewrite("/full/rewrite-path-and-modify-headers", { kind: "full", path: "/test" }, [modify]),
      rewrite("/prefix/rewrite-path-and-modify-headers", { kind: "prefix", prefix: "/prefix/rewrite-path-and-modify-headers", replacement: "/prefix" }, [modify]),
    ]);
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  const redirected = async (path: string, host?: string): Promise<{ status: number; location: string | undefined }> => {
    const r = await get(`${gw.proxy.url}${path}`, host === undefined ? {} : { host });
    return { status: r.status, location: r.headers.location };
  };

  it("replaces the path: a prefix, or the whole of it, keeping the query (redirect-path)", async () => {
    const here = `http://127.0.0.1:${gw.proxy.httpPort}`;
    expect(await redirected("/original-prefix/lemon")).toEqual({ status: 302, location: `${here}/replacement-prefix/lemon` });
    expect(await redirected("/original-prefix/lemon?a=1&b=2")).toEqual({ status: 302, location: `${here}/replacement-prefix/lemon?a=1&b=2` });
    expect(await redirected("/full/path/original")).toEqual({ status: 302, location: `${here}/full-path-replacement` });
    expect(await redirected("/path-and-host")).toEqual({ status: 302, location: `http://example.org:${gw.proxy.httpPort}/replacement-prefix` });
    expect(await redirected("/path-and-status")).toEqual({ status: 301, location: `${here}/replacement-prefix` });
    expect(await redirected("/full-path-and-host")).toEqual({ status: 302, location: `http://example.org:${gw.proxy.httpPort}/replacement-full` });
    expect(await redirected("/full-path-and-status")).toEqual({ status: 301, location: `${here}/replacement-full` });
  });

  it("the port: the filter's, else the client's, omitted when the scheme's default (redirect-port-and-scheme, listener on 80)", async () => {
    expect(await redirected("/scheme-nil-and-port-nil", "example.com")).toEqual({ status: 302, location: "http://example.org/scheme-nil-and-port-nil" });
    expect(await redirected("/scheme-nil-and-port-80", "example.com")).toEqual({ status: 302, location: "http://example.org/scheme-nil-and-port-80" });
    expect(await redirected("/scheme-nil-and-port-8080", "example.com")).toEqual({ status: 302, location: "http://example.org:8080/scheme-nil-and-port-8080" });
    // No HTTPS listener here: a scheme change to https names 443, so no port.
    expect(await redirected("/scheme-https-and-port-nil", "example.com")).toEqual({ status: 302, location: "https://example.org/scheme-https-and-port-nil" });
    expect(await redirected("/scheme-https-and-port-443", "example.com")).toEqual({ status: 302, location: "https://example.org/scheme-https-and-port-443" });
    expect(await redirected("/scheme-https-and-port-8443", "example.com")).toEqual({ status: 302, location: "https://example.org:8443/scheme-https-and-port-8443" });
  });

  it("the client's port kept unless the filter or a scheme change says otherwise (redirect-port-and-scheme, listener on 8080)", async () => {
    expect(await redirected("/scheme-nil-and-port-nil", "example.com:8080")).toEqual({ status: 302, location: "http://example.org:8080/scheme-nil-and-port-nil" });
    expect(await redirected("/scheme-nil-and-port-80", "example.com:8080")).toEqual({ status: 302, location: "http://example.org/scheme-nil-and-port-80" });
    expect(await redirected("/scheme-https-and-port-nil", "example.com:8080")).toEqual({ status: 302, location: "https://example.org/scheme-https-and-port-nil" });
  });

  it("URLRewrite's path: the matched prefix or the whole path replaced upstream (rewrite-path)", async () => {
    expect((await echoed(`${gw.proxy.url}/prefix/one/two`)).url).toBe("/one/two");
    expect((await echoed(`${gw.proxy.url}/strip-prefix/three`)).url).toBe("/three");
    expect((await echoed(`${gw.proxy.url}/strip-prefix`)).url).toBe("/");
    expect((await echoed(`${gw.proxy.url}/full/one/two`)).url).toBe("/one");
    expect((await echoed(`${gw.proxy.url}/prefix/one/two?q=1`)).url).toBe("/one/two?q=1");
  });

  it("URLRewrite with header changes (rewrite-path /…/rewrite-path-and-modify-headers)", async () => {
    const sent = { "X-Header-Remove": "remove-val", "X-Header-Add-Append": "append-val-1", "X-Header-Set": "set-val" };
    for (const [path, expected] of [["/full/rewrite-path-and-modify-headers/test", "/test"], ["/prefix/rewrite-path-and-modify-headers/one", "/prefix/one"]] as const) {
      const a = await echoed(`${gw.proxy.url}${path}`, sent);
      expect(a.url).toBe(expected);
      expect(valuesOf(a, "x-header-add")).toEqual(["header-val-1"]);
      expect(valuesOf(a, "x-header-add-append")).toEqual(["append-val-1,header-val-2"]);
      expect(valuesOf(a, "x-header-set")).toEqual(["set-overwrites-values"]);
      expect(valuesOf(a, "x-header-remove")).toEqual([]);
    }
  });
});

/** An upstream that records each request with its body, resolving `next()` with the next one. */
function recorder(): { handler: (req: IncomingMessage, res: ServerResponse) => void; next(): Promise<{ url: string; headers: IncomingMessage["headers"]; body: Buffer }> } {
  const queue: { url: string; headers: IncomingMessage["headers"]; body: Buffer }[] = [];
  const waiting: ((r: (typeof queue)[number]) => void)[] = [];
  return {
    handler(req, res) {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        res.end("mirror answer");
        const r = { url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) };
        const w = waiting.shift();
        if (w) w(r);
        else queue.push(r);
      });
    },
    next: () => {
      const r = queue.shift();
      return r ? Promise.resolve(r) : new Promise((resolve) => waiting.push(resolve));
    },
  };
}

/** A POST with `body` through a fresh connection; the response's status and body. */
function post(url: string, body: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return get(url, { "content-length": String(body.length), ...headers }, "POST", body);
}

/** A debug logger whose lines are kept; `waitFor` resolves with the first (past or next) line containing `text`. */
function debugLog(): { logger: pino.Logger; waitFor(text: string): Promise<string> } {
  const lines: string[] = [];
  const written = new EventEmitter();
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(String(chunk));
      written.emit("line");
      done();
    },
  });
  return {
    logger: pino({ level: "debug" }, sink),
    waitFor: (text) =>
      new Promise((resolve) => {
        const check = (): boolean => {
          const line = lines.find((l) => l.includes(text));
          if (line === undefined) return false;
          written.off("line", check);
          resolve(line);
          return true;
        };
        if (!check()) written.on("line", check);
      }),
  };
}

describe("Gateway API RequestMirror", () => {
  const log = debugLog();
  let main: Upstream;
  let mirrorA: Upstream;
  let mirrorB: Upstream;
  let slow: Upstream;
  let dead: Upstream;
  const a = recorder();
  const b = recorder();
  let slowArrived: Promise<void>;
  let gw: GatewayProxy;
  beforeAll(async () => {
    main = await startUpstream(rawEcho("main"));
    mirrorA = await startUpstream(a.handler);
    mirrorB = await startUpstream(b.handler);
    let arrived!: () => void;
    slowArrived = new Promise((res) => (arrived = res));
    // Takes the request, never reads its body, never answers.
    slow = await startUpstream((req) => {
      req.pause();
      arrived();
    });
    dead = await startUpstream("dead");
    const deadPort = dead.port;
    await dead.close(); // its port now refuses connections
    gw = await gatewayProxy({ main: [main.port], "mirror-a": [mirrorA.port], "mirror-b": [mirrorB.port], slow: [slow.port], dead: [deadPort] }, { logger: log.logger });
    const to: WeightedBackend[] = [{ backend: gw.backend("main"), weight: 1 }];
    const mirror = (name: string, percent = 100): Filter => ({ type: "mirror", backend: gw.backend(name), percent });
    gw.serve([
      // httproute-request-mirror.yaml
      route("/mirror", [mirror("mirror-a")], to),
      route("/mirror-and-modify-headers", [
        { type: "requestHeaderModifier", ...changes({ set: [["X-Header-Set", "set-overwrites-values"]], add: [["X-Header-Add", "header-val-1"], ["X-Header-Add-Append", "header-val-2"]], remove: ["x-header-remove"] }) },
        mirror("mirror-a"),
      ], to),
      // httproute-request-multiple-mirrors.yaml: each mirror gets a copy.
      route("/multiple-mirrors", [mirror("mirror-a"), mirror("mirror-b")], to),
      route("/never", [mirror("mirror-b", 0)], to),
      route("/slow-mirror", [mirror("slow")], to),
      route("/dead-mirror", [mirror("dead")], to),
    ]);
  });
  afterAll(async () => {
    await slow.close(); // its copies, never answered, then fail at once
    await gw.close();
    await Promise.all([main.close(), mirrorA.close(), mirrorB.close()]);
  });

  it("a copy goes to the mirror with the upstream target and the headers as sent upstream (request-mirror)", async () => {
    const id = `gateway-api-conformance-request-id=${Math.random()}`;
    const answer = await echoed(`${gw.proxy.url}/mirror?${id}`);
    expect(answer.name).toBe("main");
    const copy = await a.next();
    expect(copy.url).toBe(`/mirror?${id}`);
    expect(copy.headers["x-request-id"]).toBe(valuesOf(answer, "x-request-id")[0]);

    await echoed(`${gw.proxy.url}/mirror-and-modify-headers?${id}`, { "X-Header-Remove": "remove-val", "X-Header-Add-Append": "append-val-1" });
    const modified = await a.next();
    expect(modified.url).toBe(`/mirror-and-modify-headers?${id}`);
    expect(modified.headers).toMatchObject({ "x-header-add": "header-val-1", "x-header-add-append": "append-val-1,header-val-2", "x-header-set": "set-overwrites-values" });
    expect(modified.headers["x-header-remove"]).toBeUndefined();
  });

  it("the body is copied to every mirror, and reaches the upstream whole (request-multiple-mirrors)", async () => {
    const body = Buffer.alloc(300_000, "m");
    const r = await post(`${gw.proxy.url}/multiple-mirrors`, body);
    expect(r.status).toBe(200);
    expect((JSON.parse(r.body) as Echoed).bytes).toBe(body.length);
    const [copyA, copyB] = await Promise.all([a.next(), b.next()]);
    expect(copyA.body.equals(body)).toBe(true);
    expect(copyB.body.equals(body)).toBe(true);
  });

  it("percent 0 sends no copy", async () => {
    await echoed(`${gw.proxy.url}/never`);
    // A request that is mirrored right after is the first mirror-b sees.
    await echoed(`${gw.proxy.url}/multiple-mirrors?after-never`);
    expect((await b.next()).url).toBe("/multiple-mirrors?after-never");
    await a.next();
  });

  it("a mirror that does not read its copy neither stalls nor changes the client's answer (its copy dropped past 1 MiB)", async () => {
    // Far more than the loopback socket buffers take in, so that the copy falls behind.
    const body = Buffer.alloc(32 * 1024 * 1024, "s");
    const r = await post(`${gw.proxy.url}/slow-mirror`, body);
    expect(r.status).toBe(200);
    expect((JSON.parse(r.body) as Echoed).bytes).toBe(body.length);
    await slowArrived;
    const dropped = await log.waitFor("bytes behind");
    expect(JSON.parse(dropped)).toMatchObject({ level: 20, msg: "mirror request failed", err: "mirror copy more than 1048576 bytes behind" });
  });

  it("a mirror whose endpoint refuses connections does not change the client's answer", async () => {
    const r = await post(`${gw.proxy.url}/dead-mirror`, Buffer.from("hello"));
    expect(r.status).toBe(200);
    expect((JSON.parse(r.body) as Echoed).bytes).toBe(5);
    expect((await echoed(`${gw.proxy.url}/dead-mirror`)).name).toBe("main");
    expect(JSON.parse(await log.waitFor("ECONNREFUSED"))).toMatchObject({ level: 20, msg: "mirror request failed" });
  });
});

/** A request whose response is read to the end; `error` when the connection was cut mid-response. */
function fetchAll(url: string): Promise<{ status: number; error?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0 }));
      res.on("error", (err) => resolve({ status: res.statusCode ?? 0, error: err.message }));
      res.on("aborted", () => resolve({ status: res.statusCode ?? 0, error: "aborted" }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("Gateway API timeouts (request, backendRequest)", () => {
  let one: Upstream;
  let two: Upstream;
  let gw: GatewayProxy;
  beforeAll(async () => {
    one = await startUpstream(rawEcho("one"));
    two = await startUpstream(rawEcho("two"));
    gw = await gatewayProxy({ single: [one.port], pair: [one.port, two.port] });
    const single: WeightedBackend[] = [{ backend: gw.backend("single"), weight: 1 }];
    const pair: WeightedBackend[] = [{ backend: gw.backend("pair"), weight: 1 }];
    gw.serve([
      // httproute-timeout-request.yaml, httproute-timeout-backend-request.yaml (500 ms there; 300 here)
      route("/request-timeout", [{ type: "timeouts", requestMs: 300 }], single),
      route("/disable-request-timeout", [], single),
      route("/backend-timeout", [{ type: "timeouts", backendRequestMs: 300 }], pair),
      route("/disable-backend-timeout", [], pair),
    ]);
  });
  afterAll(async () => {
    await gw.close();
    await Promise.all([one.close(), two.close()]);
  });

  it("timeouts.request: 200 in time, 504 when the response has not started (timeout-request)", async () => {
    expect((await get(`${gw.proxy.url}/request-timeout`)).status).toBe(200);
    const late = await get(`${gw.proxy.url}/request-timeout?delay=1000`);
    expect(late.status).toBe(504);
    expect(late.body).toContain("request timeout");
    expect((await get(`${gw.proxy.url}/disable-request-timeout?delay=1000`)).status).toBe(200);
  });

  it("timeouts.request: a response under way when it runs out is cut", async () => {
    const cut = await fetchAll(`${gw.proxy.url}/request-timeout?delay-body=1000`);
    expect(cut.status).toBe(200);
    expect(cut.error).toBeDefined();
  });

  it("timeouts.backendRequest: 504 for an attempt that runs out, not retried on the other endpoint (timeout-backend-request)", async () => {
    expect((await get(`${gw.proxy.url}/backend-timeout`)).status).toBe(200);
    const before = one.received.length + two.received.length;
    const late = await get(`${gw.proxy.url}/backend-timeout?delay=1000`);
    expect(late.status).toBe(504);
    expect(late.body).toContain("backend request timeout");
    expect(one.received.length + two.received.length - before).toBe(1);
    expect((await get(`${gw.proxy.url}/disable-backend-timeout?delay=1000`)).status).toBe(200);
  });

  it("timeouts.backendRequest: a response under way when it runs out is cut", async () => {
    const cut = await fetchAll(`${gw.proxy.url}/backend-timeout?delay-body=1000`);
    expect(cut.status).toBe(200);
    expect(cut.error).toBeDefined();
  });
});

describe("Gateway API backends: none, refused, weights, backend filters", () => {
  let v1: Upstream;
  let v2: Upstream;
  let gw: GatewayProxy;
  beforeAll(async () => {
    v1 = await startUpstream(rawEcho("v1"));
    v2 = await startUpstream(rawEcho("v2"));
    gw = await gatewayProxy({ v1: [v1.port], v2: [v2.port] });
    const v1b = gw.backend("v1");
    const v2b = gw.backend("v2");
    gw.serve([
      route("/none", [], []),
      route("/refused", [], [{ backend: v1b, weight: 1, invalid: "backendRef to Service other/v9 not permitted by any ReferenceGrant" }]),
      route("/weight-zero", [], [{ backend: v1b, weight: 0 }, { backend: v2b, weight: 1 }]),
      route("/all-zero", [], [{ backend: v1b, weight: 0 }, { backend: v2b, weight: 0 }]),
      route("/backend-filters", [{ type: "requestHeaderModifier", ...changes({ set: [["X-Order", "route"]] }) }], [{
        backend: v2b,
        weight: 1,
        filters: [{ type: "requestHeaderModifier", ...changes({ add: [["X-Order", "backend"]] }) }, { type: "responseHeaderModifier", ...changes({ set: [["X-Backend", "v2"]] }) }],
      }]),
      route("/backend-redirect", [], [{ backend: v1b, weight: 1, filters: [{ type: "requestRedirect", code: 302, hostname: "example.org" }] }]),
    ]);
  });
  afterAll(async () => {
    await gw.close();
    await Promise.all([v1.close(), v2.close()]);
  });

  it("a route without backends answers 500", async () => {
    const r = await get(`${gw.proxy.url}/none`);
    expect(r.status).toBe(500);
    expect(r.body).toContain("route has no backend");
  });

  it("a refused backend answers 500 with the reason", async () => {
    const r = await get(`${gw.proxy.url}/refused`);
    expect(r.status).toBe(500);
    expect(r.body).toContain("not permitted by any ReferenceGrant");
    expect(v1.received.length).toBe(0);
  });

  it("a backend of weight 0 is never drawn; all of weight 0 is no backend (500)", async () => {
    for (let i = 0; i < 20; i++) expect((await echoed(`${gw.proxy.url}/weight-zero`)).name).toBe("v2");
    expect((await get(`${gw.proxy.url}/all-zero`)).status).toBe(500);
  });

  it("a backend's filters run after the route's, and may answer", async () => {
    const r = await get(`${gw.proxy.url}/backend-filters`);
    expect(r.status).toBe(200);
    expect(valuesOf(JSON.parse(r.body) as Echoed, "x-order")).toEqual(["route,backend"]);
    expect(r.headers["x-backend"]).toBe("v2");
    const redirect = await get(`${gw.proxy.url}/backend-redirect/x?y=1`);
    expect(redirect.status).toBe(302);
    expect(redirect.headers.location).toBe(`http://example.org:${gw.proxy.httpPort}/backend-redirect/x?y=1`);
    expect(v1.received.length).toBe(0);
  });
});

describe("Gateway API RequestRedirect between the two front ends", () => {
  let up: Upstream;
  let gw: GatewayProxy;
  let ca: string;
  let data: RulesDir;
  beforeAll(async () => {
    up = await startUpstream(rawEcho("infra-backend-v1"));
    data = await rulesDir(); // the local CA's data directory
    const testCa = await createTestCa();
    ca = testCa.certPem;
    const tls = {
      "secret.yaml": secretYaml("example-org", await testCa.issue(["example.org"])),
      "tls.yaml": tlsIngressYaml("tls", { hosts: ["example.org"], service: "infra-backend-v1", tls: [{ hosts: ["example.org"], secretName: "example-org" }] }),
    };
    gw = await gatewayProxy({ "infra-backend-v1": [up.port] }, { httpsPort: 0, dataDir: data.dir }, tls);
    const b: WeightedBackend[] = [{ backend: gw.backend("infra-backend-v1"), weight: 1 }];
    const redirect = (path: string, f: { scheme?: "http" | "https"; port?: number }): Route => route(path, [{ type: "requestRedirect", code: 302, hostname: "example.org", ...f }], b);
    // httproute-redirect-port-and-scheme.yaml, the routes of the HTTPS listener
    gw.serve([
      redirect("/scheme-nil-and-port-nil", {}),
      redirect("/scheme-nil-and-port-443", { port: 443 }),
      redirect("/scheme-nil-and-port-8443", { port: 8443 }),
      redirect("/scheme-http-and-port-nil", { scheme: "http" }),
      redirect("/scheme-http-and-port-80", { scheme: "http", port: 80 }),
      redirect("/scheme-http-and-port-8080", { scheme: "http", port: 8080 }),
      redirect("/scheme-https-and-port-nil", { scheme: "https" }),
    ]);
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
    await data.cleanup();
  });

  const over = async (path: string): Promise<{ status: number; location: string | undefined }> => {
    const r = await httpsGet(gw.proxy.httpsPort!, "example.org", path, { ca });
    return { status: r.status, location: r.headers.location };
  };

  it("from HTTPS: the port kept, the filter's, or for http the plain-HTTP front end's (redirect-port-and-scheme, HTTPS listener)", async () => {
    expect(await over("/scheme-nil-and-port-nil")).toEqual({ status: 302, location: "https://example.org/scheme-nil-and-port-nil" });
    expect(await over("/scheme-nil-and-port-443")).toEqual({ status: 302, location: "https://example.org/scheme-nil-and-port-443" });
    expect(await over("/scheme-nil-and-port-8443")).toEqual({ status: 302, location: "https://example.org:8443/scheme-nil-and-port-8443" });
    expect(await over("/scheme-http-and-port-nil")).toEqual({ status: 302, location: `http://example.org:${gw.proxy.httpPort}/scheme-http-and-port-nil` });
    expect(await over("/scheme-http-and-port-80")).toEqual({ status: 302, location: "http://example.org/scheme-http-and-port-80" });
    expect(await over("/scheme-http-and-port-8080")).toEqual({ status: 302, location: "http://example.org:8080/scheme-http-and-port-8080" });
  });

  it("from plain HTTP to https: the HTTPS front end's port", async () => {
    const r = await get(`${gw.proxy.url}/scheme-https-and-port-nil?q=1`, { host: "example.org" });
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe(`https://example.org:${gw.proxy.httpsPort}/scheme-https-and-port-nil?q=1`);
  });
});

describe("Gateway API filters for HTTP/2 clients", () => {
  let up: Upstream;
  let mirror: Upstream;
  const mirrored = recorder();
  let gw: GatewayProxy;
  let ca: string;
  let data: RulesDir;
  beforeAll(async () => {
    up = await startUpstream(rawEcho("infra-backend-v1"));
    data = await rulesDir();
    const testCa = await createTestCa();
    ca = testCa.certPem;
    const tls = {
      "secret.yaml": secretYaml("example-org", await testCa.issue(["example.org"])),
      "tls.yaml": tlsIngressYaml("tls", { hosts: ["example.org"], service: "infra-backend-v1", tls: [{ hosts: ["example.org"], secretName: "example-org" }] }),
    };
    mirror = await startUpstream(mirrored.handler);
    gw = await gatewayProxy({ "infra-backend-v1": [up.port], mirror: [mirror.port] }, { httpsPort: 0, dataDir: data.dir }, tls);
    const b: WeightedBackend[] = [{ backend: gw.backend("infra-backend-v1"), weight: 1 }];
    gw.serve([
      route("/h2", [
        { type: "requestHeaderModifier", ...changes({ add: [["X-Header-Add", "b"]] }) },
        { type: "responseHeaderModifier", ...changes({ set: [["X-Header-Set", "set"]], remove: ["x-header-remove"] }) },
        { type: "mirror", backend: gw.backend("mirror"), percent: 100 },
        { type: "timeouts", requestMs: 300 },
      ], b),
    ]);
  });
  afterAll(async () => {
    await gw.close();
    await Promise.all([up.close(), mirror.close()]);
    await data.cleanup();
  });

  it("header changes both ways, a mirror's copy of the body, and the request timeout's 504", async () => {
    const session = h2connect(`https://127.0.0.1:${gw.proxy.httpsPort}`, { ca, servername: "example.org" });
    try {
      const r = await h2Request(session, { ":method": "POST", ":path": "/h2", ":authority": "example.org", "x-header-add": "a", "x-respond-with": JSON.stringify({ "X-Header-Remove": "x" }) }, "twelve bytes");
      expect(r.headers[":status"]).toBe(200);
      expect(r.headers["x-header-set"]).toBe("set");
      expect(r.headers["x-header-remove"]).toBeUndefined();
      const seen = JSON.parse(String(r.body)) as Echoed;
      expect(valuesOf(seen, "x-header-add")).toEqual(["a,b"]);
      expect(seen.bytes).toBe(12);
      const copy = await mirrored.next();
      expect(copy.body.toString()).toBe("twelve bytes");
      expect(copy.headers["x-header-add"]).toBe("a,b");
      const late = await h2Request(session, { ":method": "GET", ":path": "/h2?delay=1000", ":authority": "example.org" });
      expect(late.headers[":status"]).toBe(504);
    } finally {
      session.close();
    }
  });
});
