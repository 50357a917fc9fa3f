import { describe, expect, it } from "vitest";
import { ConfigStore } from "../src/config/store.js";
import { compileConfig } from "../src/snapshot/compileConfig.js";

// Gateway API translation, small folders in, routes and status out (compileConfig, as the
// server and `ingressd routes` run it): the fixes the conformance runner
// (test/gatewayConformance.test.ts) found, each pinned here.

function compile(yaml: string) {
  const store = new ConfigStore();
  store.apply([{ path: "gw.yaml", text: yaml }]);
  const { resources, issues } = store.resources();
  expect(issues.filter((i) => i.severity === "error")).toEqual([]);
  const compiled = compileConfig(resources, { ingressClass: "ingressd", bind: "127.0.0.1" });
  return {
    status: compiled.routes.gateway,
    /** The path of the route a plain-HTTP GET of host+path takes, or undefined. */
    lookup: (host: string, path: string) => compiled.routes.table.lookup(host, path, { header: () => undefined, cookie: () => undefined, query: () => undefined, method: "GET", entry: "http" })?.match.path,
  };
}

const CLASS = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: ingressd
spec:
  controllerName: ingressd.io/gateway-controller
---
apiVersion: v1
kind: Service
metadata:
  name: app
spec:
  ports:
    - port: 8080
`;

function gateway(listeners: { name: string; hostname?: string; kinds?: string }[]): string {
  return `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
spec:
  gatewayClassName: ingressd
  listeners:
${listeners
  .map(
    (l) => `    - name: ${l.name}
      port: 80
      protocol: HTTP${l.hostname ? `\n      hostname: "${l.hostname}"` : ""}${l.kinds ? `\n      allowedRoutes:\n        kinds:\n          - kind: ${l.kinds}` : ""}`,
  )
  .join("\n")}
`;
}

function route(name: string, opts: { section?: string; hostnames?: string[]; path?: string }): string {
  return `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: ${name}
spec:
  parentRefs:
    - name: gw${opts.section ? `\n      sectionName: ${opts.section}` : ""}${opts.hostnames ? `\n  hostnames: [${opts.hostnames.map((h) => `"${h}"`).join(", ")}]` : ""}
  rules:
    - matches: [{ path: { type: PathPrefix, value: ${opts.path ?? "/"} } }]
      backendRefs: [{ name: app, port: 8080 }]
`;
}

describe("Gateway API translation", () => {
  it("listener isolation: a route hostname a more specific listener covers is served through that listener only", () => {
    // GatewayHTTPListenerIsolation (hostname intersection): the route of the hostless
    // listener names *.example.com, which the *.example.com listener claims.
    const { lookup } = compile(
      CLASS +
        gateway([{ name: "any" }, { name: "wild", hostname: "*.example.com" }, { name: "abc", hostname: "abc.foo.example.com" }]) +
        route("on-any", { section: "any", hostnames: ["bar.com", "*.example.com", "abc.foo.example.com"], path: "/any" }) +
        route("on-wild", { section: "wild", hostnames: ["*.example.com", "abc.foo.example.com"], path: "/wild" }) +
        route("on-abc", { section: "abc", hostnames: ["abc.foo.example.com"], path: "/abc" }),
    );
    expect(lookup("bar.com", "/any")).toBe("/any");
    expect(lookup("bar.example.com", "/any")).toBeUndefined();
    expect(lookup("bar.example.com", "/wild")).toBe("/wild");
    expect(lookup("abc.foo.example.com", "/any")).toBeUndefined();
    expect(lookup("abc.foo.example.com", "/wild")).toBeUndefined();
    expect(lookup("abc.foo.example.com", "/abc")).toBe("/abc");
  });

  it("a parent that does not accept the route still reports ResolvedRefs", () => {
    // HTTPRouteDisallowedKind: HTTPRouteMustHaveResolvedRefsConditionsTrue on a parent whose listeners refuse the route.
    const { status } = compile(CLASS + gateway([{ name: "tls-only", kinds: "TLSRoute" }]) + route("refused", {}));
    const conditions = status.httpRoutes.find((r) => r.name === "default/refused")!.parents[0]!.conditions;
    expect(conditions.map((c) => `${c.type}=${c.status} ${c.reason}`)).toEqual(["Accepted=False NotAllowedByListeners", "ResolvedRefs=True ResolvedRefs"]);
  });
});
