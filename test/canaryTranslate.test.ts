import { describe, expect, it } from "vitest";
import { ConfigStore } from "../src/config/store.js";
import type { ConfigIssue } from "../src/model/issues.js";
import type { Route } from "../src/model/route.js";
import { compileRoutes } from "../src/snapshot/compileConfig.js";

// Canary Ingresses → routes: YAML text in, the routes of the table out (the table's own
// order: routes with conditions first, in the order they are tried).

/** Files (path → YAML) → ConfigStore (validation included) → compiled routes. */
function load(files: Record<string, string>): { routes: Route[]; issues: ConfigIssue[]; loadIssues: ConfigIssue[]; lookup: (host: string, path: string, headers?: Record<string, string>, cookies?: Record<string, string>) => string | undefined } {
  const store = new ConfigStore();
  store.apply(Object.entries(files).map(([path, text]) => ({ path, text })));
  const { resources, issues: loadIssues } = store.resources();
  const compiled = compileRoutes(resources, { ingressClass: "ingressd" });
  return {
    routes: [...compiled.table.routes()],
    issues: compiled.issues,
    loadIssues,
    lookup: (host, path, headers = {}, cookies = {}) =>
      compiled.table.lookup(host, path, { header: (n) => headers[n], cookie: (n) => cookies[n] })?.backends.map((b) => `${b.backend.service}${b.canary ? "*" : ""}:${b.weight}`).join(","),
  };
}

const SERVICES = ["main", "canary", "other"].map((n) => `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${n}\nspec:\n  ports:\n    - port: 80\n`).join("---\n");

function ingress(name: string, annotations: Record<string, string>, host: string | null, paths: { path: string; service: string; pathType?: string }[]): string {
  const ann = Object.entries(annotations).map(([k, v]) => `    nginx.ingress.kubernetes.io/${k}: "${v}"\n`).join("");
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
${ann ? `  annotations:\n${ann}` : ""}spec:
  rules:
    - ${host === null ? "" : `host: ${host}\n      `}http:
        paths:
${paths.map((p) => `          - path: ${p.path}\n            pathType: ${p.pathType ?? "Prefix"}\n            backend:\n              service:\n                name: ${p.service}\n                port:\n                  number: 80\n`).join("")}`;
}

const main = (annotations: Record<string, string> = {}, paths = [{ path: "/", service: "main" }]) => ingress("main", annotations, "app.test", paths);
const canary = (annotations: Record<string, string>, paths: { path: string; service: string; pathType?: string }[] = [{ path: "/", service: "canary" }], host: string | null = "app.test") =>
  ingress("canary", { canary: "true", ...annotations }, host, paths);

/** Each route as `conditions → backends` (canary backends starred, with weights). */
function summary(routes: Route[]): string[] {
  return routes.map((r) => {
    const when = [...(r.match.headers ?? []).map((h) => `${h.name}${h.type === "Exact" ? "=" : "~"}${h.value}`), ...(r.match.cookies ?? []).map((c) => `cookie ${c.name}=${c.value}`)];
    const to = r.backends.map((b) => `${b.backend.service}${b.canary ? "*" : ""}:${b.weight}`).join(",");
    return `${r.match.path} ${when.join("&") || "-"} → ${to} [${r.origin.name}]`;
  });
}

describe("Canary → routes (ingress-nginx annotations.md § Canary)", () => {
  it("by header: always → canary, never → main, tried before the main route", () => {
    const l = load({ "s.yaml": SERVICES, "m.yaml": main(), "c.yaml": canary({ "canary-by-header": "X-Canary" }) });
    expect(l.loadIssues).toEqual([]);
    expect(l.issues).toEqual([]);
    expect(summary(l.routes)).toEqual([
      "/ x-canary=always → canary*:1 [default/canary]",
      "/ x-canary=never → main:1 [default/canary]",
      "/ - → main:1 [default/main]",
    ]);
  });

  it("canary: \"true \" (spaces around the value, which annotations are read without) is a canary like \"true\"", () => {
    const l = load({ "s.yaml": SERVICES, "m.yaml": main(), "c.yaml": canary({ canary: " true ", "canary-weight": "30" }) });
    expect(l.issues).toEqual([]);
    expect(summary(l.routes)).toEqual(["/ - → main:70,canary*:30 [default/main]"]);
  });

  it("by header value, by header pattern (the value wins when both are set), by cookie, weight: in ingress-nginx's order", () => {
    const l = load({
      "s.yaml": SERVICES,
      "m.yaml": main(),
      "c.yaml": canary({ "canary-by-header": "X-Canary", "canary-by-header-value": "beta", "canary-by-cookie": "use_canary", "canary-weight": "30" }),
    });
    expect(summary(l.routes)).toEqual([
      "/ x-canary=beta → canary*:1 [default/canary]",
      "/ cookie use_canary=always → canary*:1 [default/canary]",
      "/ cookie use_canary=never → main:1 [default/canary]",
      "/ - → main:70,canary*:30 [default/main]",
    ]);
    const p = load({ "s.yaml": SERVICES, "m.yaml": main(), "c.yaml": canary({ "canary-by-header": "X-Canary", "canary-by-header-pattern": "^(beta|gamma)$" }) });
    expect(summary(p.routes)).toEqual(["/ x-canary~^(beta|gamma)$ → canary*:1 [default/canary]", "/ - → main:1 [default/main]"]);
    const both = load({ "s.yaml": SERVICES, "m.yaml": main(), "c.yaml": canary({ "canary-by-header": "X-Canary", "canary-by-header-value": "beta", "canary-by-header-pattern": "^g" }) });
    expect(summary(both.routes)[0]).toBe("/ x-canary=beta → canary*:1 [default/canary]");
    expect(both.loadIssues.map((i) => i.message)).toEqual(["nginx.ingress.kubernetes.io/canary-by-header-pattern is ignored: canary-by-header-value is set and takes precedence"]);
  });

  it("the decision: header never beats cookie always; a header with another value falls through to the cookie", () => {
    const l = load({ "s.yaml": SERVICES, "m.yaml": main(), "c.yaml": canary({ "canary-by-header": "X-Canary", "canary-by-cookie": "c" }) });
    expect(l.lookup("app.test", "/x", { "x-canary": "never" }, { c: "always" })).toBe("main:1");
    expect(l.lookup("app.test", "/x", { "x-canary": "Always" }, { c: "always" })).toBe("canary*:1");
    expect(l.lookup("app.test", "/x", { "x-canary": "always" }, { c: "never" })).toBe("canary*:1");
    expect(l.lookup("app.test", "/x", {}, { c: "never" })).toBe("main:1");
    expect(l.lookup("app.test", "/x")).toBe("main:1");
  });

  it("weight 0 leaves the main route alone; weight-total sets the scale; weight = total sends every request", () => {
    expect(summary(load({ "s.yaml": SERVICES, "m.yaml": main(), "c.yaml": canary({ "canary-weight": "0" }) }).routes)).toEqual(["/ - → main:1 [default/main]"]);
    expect(summary(load({ "s.yaml": SERVICES, "m.yaml": main(), "c.yaml": canary({ "canary-weight": "5", "canary-weight-total": "1000" }) }).routes)).toEqual([
      "/ - → main:995,canary*:5 [default/main]",
    ]);
    expect(summary(load({ "s.yaml": SERVICES, "m.yaml": main(), "c.yaml": canary({ "canary-weight": "100" }) }).routes)).toEqual(["/ - → main:0,canary*:100 [default/main]"]);
  });

  it("the derived routes keep the main route's filters, not the canary's", () => {
    // Filters come from other annotation groups; here: what the main route has, the canary routes have, by reference.
    const l = load({ "s.yaml": SERVICES, "m.yaml": main(), "c.yaml": canary({ "canary-by-header": "X-Canary", "canary-weight": "10" }) });
    const mainRoute = l.routes.find((r) => !r.match.headers)!;
    for (const r of l.routes) expect(r.filters).toBe(mainRoute.filters);
  });

  it("a canary for one path of a main with two paths splits that path only", () => {
    const l = load({
      "s.yaml": SERVICES,
      "m.yaml": main({}, [{ path: "/a", service: "main" }, { path: "/b", service: "other" }]),
      "c.yaml": canary({ "canary-weight": "50" }, [{ path: "/b", service: "canary" }]),
    });
    expect(l.issues).toEqual([]);
    expect(summary(l.routes).sort()).toEqual(["/a - → main:1 [default/main]", "/b - → other:50,canary*:50 [default/main]"]);
  });

  it("a canary without a main Ingress for its host and path (or pathType) is an error at its path, and adds no route", () => {
    for (const c of [
      canary({ "canary-weight": "50" }, [{ path: "/", service: "canary" }], "elsewhere.test"),
      canary({ "canary-weight": "50" }, [{ path: "/", service: "canary", pathType: "Exact" }]),
      canary({ "canary-weight": "50" }, [{ path: "/api", service: "canary" }]),
    ]) {
      const l = load({ "s.yaml": SERVICES, "m.yaml": main(), "c.yaml": c });
      expect(summary(l.routes)).toEqual(["/ - → main:1 [default/main]"]);
      expect(l.issues).toMatchObject([{ severity: "error", code: "canary-without-main", file: "c.yaml", line: 13, field: "spec.rules[0].http.paths[0]" }]);
      expect(l.issues[0]!.message).toContain("Ingress default/canary is a canary");
    }
  });

  it("a canary raises no duplicate-path warning against its main; a second canary for the same path is a warning and unused", () => {
    const l = load({
      "s.yaml": SERVICES,
      "m.yaml": main(),
      "c.yaml": canary({ "canary-weight": "10" }),
      "d.yaml": ingress("canary2", { canary: "true", "canary-weight": "90" }, "app.test", [{ path: "/", service: "other" }]),
    });
    expect(l.issues.map((i) => `${i.severity} ${i.code} ${i.file}`)).toEqual(["warning second-canary d.yaml"]);
    expect(summary(l.routes)).toEqual(["/ - → main:90,canary*:10 [default/main]"]);
  });

  it("canary annotations without canary: \"true\" are warnings and the Ingress is an ordinary one", () => {
    const l = load({ "s.yaml": SERVICES, "m.yaml": ingress("main", { "canary-weight": "50" }, "app.test", [{ path: "/", service: "main" }]) });
    expect(l.loadIssues.map((i) => `${i.severity} ${i.message}`)).toEqual([
      'warning nginx.ingress.kubernetes.io/canary-weight has no effect without nginx.ingress.kubernetes.io/canary: "true": this Ingress is not a canary',
    ]);
    expect(summary(l.routes)).toEqual(["/ - → main:1 [default/main]"]);
  });

  it("other nginx annotations on a canary are ignored, with a warning (the main Ingress's apply)", () => {
    const l = load({ "s.yaml": SERVICES, "m.yaml": main(), "c.yaml": canary({ "canary-weight": "10", "proxy-body-size": "1m" }) });
    expect(l.issues).toMatchObject([{ severity: "warning", code: "ignored-on-canary", field: `metadata.annotations["nginx.ingress.kubernetes.io/proxy-body-size"]` }]);
  });

  it("a canary's spec.defaultBackend is not served: a warning, and the default backend stays unset", () => {
    const withDefault = canary({ "canary-weight": "10" }).replace("spec:\n", "spec:\n  defaultBackend:\n    service:\n      name: canary\n      port:\n        number: 80\n");
    const l = load({ "s.yaml": SERVICES, "m.yaml": main(), "c.yaml": withDefault });
    expect(l.loadIssues).toEqual([]);
    expect(l.issues).toMatchObject([{ severity: "warning", code: "ignored-on-canary", field: "spec.defaultBackend", file: "c.yaml" }]);
    expect(l.lookup("app.test", "/")).toBe("main:90,canary*:10");
    expect(l.lookup("other.test", "/")).toBeUndefined();
  });

  it.each([
    [{ "canary-weight": "abc" }, "canary-weight", 'must be a whole number, not "abc"'],
    [{ "canary-weight": "101" }, "canary-weight", 'must be at most canary-weight-total (100), not "101"'],
    [{ "canary-weight": "200", "canary-weight-total": "150" }, "canary-weight", 'must be at most canary-weight-total (150), not "200"'],
    [{ "canary-weight-total": "0" }, "canary-weight-total", 'must be a whole number of at least 1, not "0"'],
    [{ "canary-by-header": "X-Canary", "canary-by-header-pattern": "(beta" }, "canary-by-header-pattern", 'is not a valid regular expression: "(beta"'],
    [{ "canary-by-header": "X Canary" }, "canary-by-header", 'must be an HTTP header name, not "X Canary"'],
    [{ "canary-by-header": "X-Canary", "canary-by-header-value": "a b" }, "canary-by-header-value", 'must be letters, digits and / - . _ ~ : only, not "a b"'],
    [{ "canary-by-cookie": "a;b" }, "canary-by-cookie", 'must be a cookie name, not "a;b"'],
    [{ canary: "yes" }, "canary", 'must be "true" or "false", not "yes"'],
  ])("a bad value is an error on that Ingress alone: %o", (annotations, name, message) => {
    const l = load({ "s.yaml": SERVICES, "m.yaml": main(), "c.yaml": canary(annotations) });
    expect(l.loadIssues).toMatchObject([{ severity: "error", file: "c.yaml", field: `metadata.annotations["nginx.ingress.kubernetes.io/${name}"]` }]);
    expect(l.loadIssues[0]!.message).toContain(`nginx.ingress.kubernetes.io/${name} ${message}`);
    // The canary (never loaded in a good version) is left out; the main Ingress is served as before.
    expect(summary(l.routes)).toEqual(["/ - → main:1 [default/main]"]);
  });
});
