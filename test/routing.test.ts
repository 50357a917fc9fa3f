import { describe, expect, it } from "vitest";
import { parseRulesFile } from "../src/config/parse.js";
import { addToSet, emptyResourceSet, type ResourceSet } from "../src/config/resources.js";
import { ConfigStore } from "../src/config/store.js";
import { validateDocuments } from "../src/config/validate.js";
import type { ConfigIssue } from "../src/model/issues.js";
import { compileRoutes, type CompiledRoutes } from "../src/snapshot/compileConfig.js";
import { requestPath } from "../src/routing/requestPath.js";
import type { RouteTable } from "../src/routing/routeTable.js";
import { buildRouteTable } from "../src/routing/buildTable.js";
import type { RequestFacts } from "../src/routing/requestFacts.js";
import type { Route, RouteMatch } from "../src/model/route.js";

// ---------------------------------------------------------------------------
// Helpers: YAML text in, compiled table out.
// ---------------------------------------------------------------------------

interface Loaded extends CompiledRoutes {
  /** Issues of loading (parse, validation, duplicate resources). */
  loadIssues: ConfigIssue[];
  resources: ResourceSet;
}

/** Files (path → YAML text) → ConfigStore → ResourceSet → compileRoutes. */
function load(files: Record<string, string>, ingressClass = "ingressd"): Loaded {
  const store = new ConfigStore();
  store.apply(Object.entries(files).map(([path, text]) => ({ path, text })));
  const { resources, issues } = store.resources();
  return { ...compileRoutes(resources, { ingressClass }), loadIssues: issues, resources };
}

/** Like `load`, but the test YAML must load without any error or warning. */
function loadClean(files: Record<string, string>, ingressClass = "ingressd"): Loaded {
  const l = load(files, ingressClass);
  expect(l.loadIssues).toEqual([]);
  return l;
}

/** Backend key that a request (`url` may carry a query string) is routed to, or undefined (404). */
function route(table: RouteTable, host: string | undefined, url: string): string | undefined {
  return table.lookup(host, requestPath(url))?.backends[0]?.backend.key;
}

/** A Service with one unnamed port, or named ports. */
function service(name: string, ports: number | Record<string, number> = 80, namespace?: string): string {
  const ns = namespace ? `\n  namespace: ${namespace}` : "";
  const portLines =
    typeof ports === "number"
      ? `    - port: ${ports}`
      : Object.entries(ports)
          .map(([n, p]) => `    - name: ${n}\n      port: ${p}`)
          .join("\n");
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}${ns}
spec:
  ports:
${portLines}
`;
}

function services(...names: string[]): string {
  return names.map((n) => service(n)).join("---\n");
}

interface PathSpec {
  path?: string;
  pathType: "Exact" | "Prefix" | "ImplementationSpecific" | string;
  service: string;
  port?: number | string;
}
interface RuleSpec {
  host?: string;
  paths: PathSpec[];
}
interface IngressSpec {
  name: string;
  namespace?: string;
  creationTimestamp?: string;
  className?: string;
  annotationClass?: string;
  defaultBackend?: { service: string; port?: number | string };
  rules?: RuleSpec[];
}

function backendYaml(indent: string, svc: string, port: number | string = 80): string {
  const portLine = typeof port === "number" ? `number: ${port}` : `name: ${port}`;
  return `${indent}service:\n${indent}  name: ${svc}\n${indent}  port:\n${indent}    ${portLine}\n`;
}

/** An Ingress as YAML text, written the way a person would. */
function ingress(spec: IngressSpec): string {
  let out = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${spec.name}
`;
  if (spec.namespace) out += `  namespace: ${spec.namespace}\n`;
  if (spec.creationTimestamp) out += `  creationTimestamp: "${spec.creationTimestamp}"\n`;
  if (spec.annotationClass) out += `  annotations:\n    kubernetes.io/ingress.class: ${spec.annotationClass}\n`;
  out += "spec:\n";
  if (spec.className) out += `  ingressClassName: ${spec.className}\n`;
  if (spec.defaultBackend) out += `  defaultBackend:\n${backendYaml("    ", spec.defaultBackend.service, spec.defaultBackend.port)}`;
  if (spec.rules) {
    out += "  rules:\n";
    for (const rule of spec.rules) {
      out += rule.host !== undefined ? `    - host: "${rule.host}"\n      http:\n` : "    - http:\n";
      out += "        paths:\n";
      for (const p of rule.paths) {
        out += p.path !== undefined ? `          - path: ${p.path}\n            pathType: ${p.pathType}\n` : `          - pathType: ${p.pathType}\n`;
        out += `            backend:\n${backendYaml("              ", p.service, p.port)}`;
      }
    }
  }
  return out;
}

const key = (svc: string, port: number | string = 80, ns = "default"): string => `${ns}/${svc}:${port}`;

// ---------------------------------------------------------------------------
// Path matching
// ---------------------------------------------------------------------------

describe("path matching (Kubernetes Ingress path semantics)", () => {
  const svcNames = ["exact", "exact-slash", "foo", "foobar", "trail", "impl", "same-exact", "same-prefix", "aaa", "root", "exact-long"];
  const { table, issues } = loadClean({
    "services.yaml": services(...svcNames),
    "paths.yaml": ingress({
      name: "paths",
      rules: [
        {
          host: "paths.test",
          paths: [
            { path: "/exact", pathType: "Exact", service: "exact" },
            { path: "/exact-slash/", pathType: "Exact", service: "exact-slash" },
            { path: "/foo", pathType: "Prefix", service: "foo" },
            { path: "/foo/bar", pathType: "Prefix", service: "foobar" },
            { path: "/foo/bar/baz/qux", pathType: "Exact", service: "exact-long" },
            { path: "/trail/", pathType: "Prefix", service: "trail" },
            { path: "/impl", pathType: "ImplementationSpecific", service: "impl" },
            { path: "/same", pathType: "Prefix", service: "same-prefix" },
            { path: "/same", pathType: "Exact", service: "same-exact" },
            { path: "/aaa/bbb", pathType: "Prefix", service: "aaa" },
          ],
        },
        { host: "root.test", paths: [{ path: "/", pathType: "Prefix", service: "root" }] },
      ],
    }),
  });

  it("compiles without issues", () => {
    expect(issues).toEqual([]);
  });

  const cases: [string, string, string | undefined][] = [
    // Exact: only the exact path, case-sensitive.
    ["Exact /exact matches /exact", "/exact", key("exact")],
    ["Exact /exact does not match /exact/", "/exact/", undefined],
    ["Exact /exact does not match /exact/x", "/exact/x", undefined],
    ["Exact /exact does not match /exactly", "/exactly", undefined],
    ["Exact is case-sensitive: /EXACT", "/EXACT", undefined],
    ["Exact is case-sensitive: /Exact", "/Exact", undefined],
    ["Exact /exact-slash/ matches /exact-slash/", "/exact-slash/", key("exact-slash")],
    ["Exact /exact-slash/ does not match /exact-slash", "/exact-slash", undefined],
    // Prefix: element-wise.
    ["Prefix /foo matches /foo", "/foo", key("foo")],
    ["Prefix /foo matches /foo/", "/foo/", key("foo")],
    ["Prefix /foo matches /foo/baz", "/foo/baz", key("foo")],
    ["Prefix /foo matches /foo/baz/qux", "/foo/baz/qux", key("foo")],
    ["Prefix /foo does not match /foobar", "/foobar", undefined],
    ["Prefix /foo does not match /fo", "/fo", undefined],
    ["Prefix is case-sensitive: /FOO", "/FOO", undefined],
    // Longest path wins.
    ["longest prefix wins: /foo/bar over /foo", "/foo/bar", key("foobar")],
    ["longest prefix wins: /foo/bar/", "/foo/bar/", key("foobar")],
    ["longest prefix wins: /foo/bar/baz", "/foo/bar/baz", key("foobar")],
    ["/foo/barbaz is not under /foo/bar", "/foo/barbaz", key("foo")],
    ["Exact /foo/bar/baz/qux is longer than Prefix /foo/bar", "/foo/bar/baz/qux", key("exact-long")],
    ["below the Exact path, the Prefix answers", "/foo/bar/baz/qux/x", key("foobar")],
    ["Prefix /aaa/bbb does not match /aaa/bbbxyz", "/aaa/bbbxyz", undefined],
    ["Prefix /aaa/bbb matches /aaa/bbb/ccc", "/aaa/bbb/ccc", key("aaa")],
    ["Prefix /aaa/bbb does not match /aaa", "/aaa", undefined],
    // Trailing slash of a Prefix rule is ignored.
    ["Prefix /trail/ matches /trail", "/trail", key("trail")],
    ["Prefix /trail/ matches /trail/", "/trail/", key("trail")],
    ["Prefix /trail/ matches /trail/x", "/trail/x", key("trail")],
    ["Prefix /trail/ does not match /trailer", "/trailer", undefined],
    // ImplementationSpecific is served as Prefix.
    ["ImplementationSpecific /impl matches /impl", "/impl", key("impl")],
    ["ImplementationSpecific /impl matches /impl/", "/impl/", key("impl")],
    ["ImplementationSpecific /impl matches /impl/x/y", "/impl/x/y", key("impl")],
    ["ImplementationSpecific /impl does not match /implx", "/implx", undefined],
    // Equal length: Exact beats Prefix (declared after it, even).
    ["equal length: Exact beats Prefix", "/same", key("same-exact")],
    ["Prefix still serves what Exact does not: /same/", "/same/", key("same-prefix")],
    ["Prefix still serves what Exact does not: /same/x", "/same/x", key("same-prefix")],
    // No catch-all on this host.
    ["no rule for /", "/", undefined],
    ["no rule for /other", "/other", undefined],
    // The query string never takes part.
    ["query ignored for Exact", "/exact?x=1", key("exact")],
    ["empty query ignored for Exact", "/exact?", key("exact")],
    ["query ignored for Prefix", "/foo?next=/foo/bar", key("foo")],
    ["query with a path in it does not extend the path", "/foo/bar?x=/y", key("foobar")],
    ["query that looks like a path does not match", "/?/exact", undefined],
    ["/foobar?x is still not /foo", "/foobar?x=1", undefined],
    ["absolute-form request target", "http://paths.test/foo/bar?q=1", key("foobar")],
    // Absolute-form with an empty path (`GET http://paths.test?next=/exact HTTP/1.1`): the path is `/`.
    ["absolute-form with an empty path: a '/' in the query is not the path", "http://paths.test?next=/exact", undefined],
  ];
  it.each(cases)("%s (paths.test %s)", (_name, url, expected) => {
    expect(route(table, "paths.test", url)).toBe(expected);
  });

  const rootCases: [string, string | undefined][] = [
    ["/", key("root")],
    ["/anything", key("root")],
    ["/a/b/c/", key("root")],
    ["/?q=1", key("root")],
    ["/EXACT", key("root")],
  ];
  it.each(rootCases)("Prefix / matches everything: root.test %s", (url, expected) => {
    expect(route(table, "root.test", url)).toBe(expected);
  });

  it("requestPath strips the query and handles absolute-form and '*'", () => {
    expect(requestPath("/a/b?c=d")).toBe("/a/b");
    expect(requestPath("/a?")).toBe("/a");
    expect(requestPath("http://h:1/x/y?z")).toBe("/x/y");
    expect(requestPath("http://h")).toBe("/");
    expect(requestPath("*")).toBe("/");
    expect(requestPath(undefined)).toBe("/");
  });

  it("requestPath of an absolute-form target without a path is / even when the query holds a '/'", () => {
    expect(requestPath("http://h?x=1")).toBe("/");
    expect(requestPath("http://h?x=/y")).toBe("/");
    expect(requestPath("http://h:8080?next=/a/b")).toBe("/");
  });

  it("a Prefix rule with no path given (ImplementationSpecific) matches everything", () => {
    const { table } = loadClean({
      "s.yaml": services("catch"),
      "i.yaml": ingress({ name: "nopath", rules: [{ host: "np.test", paths: [{ pathType: "ImplementationSpecific", service: "catch" }] }] }),
    });
    expect(route(table, "np.test", "/")).toBe(key("catch"));
    expect(route(table, "np.test", "/x/y")).toBe(key("catch"));
  });
});

// ---------------------------------------------------------------------------
// Host matching and fall-through
// ---------------------------------------------------------------------------

describe("host matching", () => {
  const { table, issues } = loadClean({
    "services.yaml": services("web", "wild", "bar-api", "shared", "dflt"),
    "hosts.yaml": [
      ingress({
        name: "hosts",
        defaultBackend: { service: "dflt" },
        rules: [
          { host: "web.localhost", paths: [{ path: "/", pathType: "Prefix", service: "web" }] },
          { host: "*.foo.com", paths: [{ path: "/", pathType: "Prefix", service: "wild" }] },
          { host: "bar.foo.com", paths: [{ path: "/api", pathType: "Prefix", service: "bar-api" }] },
          { paths: [{ path: "/shared", pathType: "Prefix", service: "shared" }] },
        ],
      }),
    ].join("---\n"),
  });

  it("compiles without issues", () => {
    expect(issues).toEqual([]);
  });

  it("routesOf(host) gives the routes written for one rule host: exact, wildcard as written, host-less (null); never another host's", () => {
    const services = (host: string | null): string[] => table.routesOf(host).map((r) => r.backends[0]!.backend.service);
    expect(services("web.localhost")).toEqual(["web"]);
    expect(services("bar.foo.com")).toEqual(["bar-api"]);
    expect(services("*.foo.com")).toEqual(["wild"]);
    expect(services(null)).toEqual(["shared"]); // the default backend is not a rule of any host
    expect(services("x.foo.com")).toEqual([]);
    expect(services("*.localhost")).toEqual([]);
  });

  const cases: [string, string | undefined, string, string | undefined][] = [
    ["exact host", "web.localhost", "/x", key("web")],
    ["host is case-insensitive and the port is stripped", "Web.Localhost:8080", "/x", key("web")],
    ["upper-case host", "WEB.LOCALHOST", "/", key("web")],
    ["host with :80", "web.localhost:80", "/", key("web")],
    ["host with a trailing dot", "web.localhost.", "/", key("web")],
    ["exact host rule wins over the host-less rule for the same path", "web.localhost", "/shared", key("web")],
    ["exact host beats wildcard", "bar.foo.com", "/api", key("bar-api")],
    ["exact host beats wildcard (deeper path, port, case)", "BAR.foo.com:443", "/api/v1", key("bar-api")],
    ["exact host without a matching path falls through to the wildcard", "bar.foo.com", "/other", key("wild")],
    ["*.foo.com matches qux.foo.com", "qux.foo.com", "/", key("wild")],
    ["*.foo.com matches case-insensitively", "QUX.Foo.Com:8443", "/x", key("wild")],
    ["*.foo.com does not match baz.bar.foo.com (one label only)", "baz.bar.foo.com", "/", key("dflt")],
    ["*.foo.com does not match foo.com", "foo.com", "/", key("dflt")],
    ["*.foo.com does not match xfoo.com", "xfoo.com", "/", key("dflt")],
    ["host-less rule matches every host", "unknown.test", "/shared/x", key("shared")],
    ["host-less rule matches a non-matching wildcard-ish host", "baz.bar.foo.com", "/shared", key("shared")],
    ["host-less rule matches an IP host", "127.0.0.1:8080", "/shared", key("shared")],
    ["host-less rule matches a request without Host", undefined, "/shared", key("shared")],
    ["host-less rule matches an IPv6 host", "[::1]:8080", "/shared", key("shared")],
    ["wildcard host falls through to host-less rules", "qux.foo.com", "/shared", key("wild")],
    ["no rule matches: spec.defaultBackend", "unknown.test", "/nope", key("dflt")],
    ["no Host and no rule: spec.defaultBackend", undefined, "/nope", key("dflt")],
  ];
  it.each(cases)("%s (%s %s)", (_name, host, url, expected) => {
    expect(route(table, host, url)).toBe(expected);
  });
});

describe("fall-through order: exact host → wildcard → host-less → defaultBackend → 404", () => {
  const rules: RuleSpec[] = [
    { host: "a.test", paths: [{ path: "/a", pathType: "Prefix", service: "exact-host" }] },
    { host: "*.test", paths: [{ path: "/a", pathType: "Prefix", service: "wild-host" }, { path: "/b", pathType: "Prefix", service: "wild-host" }] },
    { paths: [{ path: "/a", pathType: "Prefix", service: "any-host" }, { path: "/b", pathType: "Prefix", service: "any-host" }, { path: "/c", pathType: "Prefix", service: "any-host" }] },
  ];
  const svc = services("exact-host", "wild-host", "any-host", "dflt");

  const withDefault = loadClean({ "s.yaml": svc, "i.yaml": ingress({ name: "ft", rules, defaultBackend: { service: "dflt" } }) });
  const withoutDefault = loadClean({ "s.yaml": svc, "i.yaml": ingress({ name: "ft", rules }) });

  const cases: [string, string, string | undefined, string | undefined][] = [
    ["a.test", "/a", key("exact-host"), key("exact-host")],
    ["a.test", "/b", key("wild-host"), key("wild-host")],
    ["a.test", "/c", key("any-host"), key("any-host")],
    ["a.test", "/d", key("dflt"), undefined],
    ["b.test", "/a", key("wild-host"), key("wild-host")],
    ["b.test", "/c", key("any-host"), key("any-host")],
    ["b.test", "/d", key("dflt"), undefined],
    ["other.example", "/a", key("any-host"), key("any-host")],
    ["other.example", "/d", key("dflt"), undefined],
  ];
  it.each(cases)("%s %s → %s (without defaultBackend: %s)", (host, url, expectedWith, expectedWithout) => {
    expect(route(withDefault.table, host, url)).toBe(expectedWith);
    expect(route(withoutDefault.table, host, url)).toBe(expectedWithout);
  });

  it("an empty configuration routes nothing", () => {
    const { table } = loadClean({});
    expect(route(table, "a.test", "/")).toBeUndefined();
  });

  it("a defaultBackend alone answers every request", () => {
    const { table } = loadClean({ "s.yaml": svc, "i.yaml": ingress({ name: "only-default", defaultBackend: { service: "dflt" } }) });
    expect(route(table, "x.test", "/")).toBe(key("dflt"));
    expect(route(table, undefined, "/deep/path?q")).toBe(key("dflt"));
  });
});

// ---------------------------------------------------------------------------
// Conflicts between Ingresses
// ---------------------------------------------------------------------------

describe("conflicts are settled by precedence: creationTimestamp, then file path, then document order", () => {
  const svc = services("first", "second", "third");

  it("the earliest Ingress's defaultBackend wins; the others get a warning", () => {
    const l = loadClean({
      "s.yaml": svc,
      // a.yaml sorts first by path but is newer (no timestamp counts as newest).
      "a.yaml": ingress({ name: "a-no-time", defaultBackend: { service: "third" } }),
      "b.yaml": ingress({ name: "b-new", creationTimestamp: "2024-05-01T00:00:00Z", defaultBackend: { service: "second" } }),
      "c.yaml": ingress({ name: "c-old", creationTimestamp: "2020-01-01T00:00:00Z", defaultBackend: { service: "first" } }),
    });
    expect(route(l.table, "any.test", "/")).toBe(key("first"));
    expect(l.table.defaultBackend?.origin.name).toBe("default/c-old");
    const dups = l.issues.filter((i) => i.code === "duplicate-default-backend");
    expect(dups.map((i) => i.resource).sort()).toEqual(["Ingress default/a-no-time", "Ingress default/b-new"]);
    for (const d of dups) {
      expect(d.severity).toBe("warning");
      expect(d.field).toBe("spec.defaultBackend");
      expect(d.message).toContain("default/c-old");
    }
    const loserB = dups.find((i) => i.resource === "Ingress default/b-new")!;
    expect(loserB).toMatchObject({ file: "b.yaml", line: 7, col: 3 });
  });

  it("defaultBackend: with equal timestamps the file path decides, whatever the order files were read in", () => {
    const store = new ConfigStore();
    store.apply([
      { path: "z/last.yaml", text: ingress({ name: "z", creationTimestamp: "2023-01-01T00:00:00Z", defaultBackend: { service: "second" } }) },
      { path: "s.yaml", text: svc },
      { path: "a/first.yaml", text: ingress({ name: "a", creationTimestamp: "2023-01-01T00:00:00Z", defaultBackend: { service: "first" } }) },
    ]);
    const { resources, issues } = store.resources();
    expect(issues).toEqual([]);
    const compiled = compileRoutes(resources, { ingressClass: "ingressd" });
    expect(route(compiled.table, "h.test", "/")).toBe(key("first"));
    expect(compiled.issues).toMatchObject([{ code: "duplicate-default-backend", severity: "warning", resource: "Ingress default/z", file: "z/last.yaml" }]);
  });

  it("an unquoted creationTimestamp is read as a timestamp too", () => {
    const mk = (name: string, svcName: string, ts: string): string =>
      ingress({ name, rules: [{ host: "ts.test", paths: [{ path: "/", pathType: "Prefix", service: svcName }] }] }).replace(
        `name: ${name}\n`,
        `name: ${name}\n  creationTimestamp: ${ts}\n`,
      );
    const l = loadClean({ "s.yaml": svc, "a.yaml": mk("a-newer", "second", "2024-03-01T10:00:00Z"), "b.yaml": mk("b-older", "first", "2022-03-01T10:00:00Z") });
    expect(route(l.table, "ts.test", "/")).toBe(key("first"));
    expect(l.issues).toMatchObject([{ code: "duplicate-path", resource: "Ingress default/a-newer" }]);
  });

  it("defaultBackend: in one file, the first document wins", () => {
    const l = loadClean({
      "s.yaml": svc,
      "i.yaml": [ingress({ name: "doc-0", defaultBackend: { service: "first" } }), ingress({ name: "doc-1", defaultBackend: { service: "second" } })].join("---\n"),
    });
    expect(route(l.table, "h.test", "/")).toBe(key("first"));
    expect(l.issues).toMatchObject([{ code: "duplicate-default-backend", resource: "Ingress default/doc-1" }]);
  });

  it("compileRoutes orders by precedence itself, not by the order of the ResourceSet", () => {
    // Built without ConfigStore (which sorts files), in reverse order.
    const set = emptyResourceSet();
    const add = (file: string, text: string): void => {
      const parsed = parseRulesFile(file, text);
      if (!parsed.ok) throw new Error(`parse failed: ${JSON.stringify(parsed.issues)}`);
      const v = validateDocuments(parsed.documents);
      expect(v.issues).toEqual([]);
      for (const r of v.resources) addToSet(set, r);
    };
    add("s.yaml", svc);
    add("b.yaml", [ingress({ name: "b0", defaultBackend: { service: "third" } }), ingress({ name: "b1", defaultBackend: { service: "third" } })].join("---\n"));
    add("a.yaml", [ingress({ name: "a1", defaultBackend: { service: "second" } })].join("---\n"));
    add("c.yaml", ingress({ name: "c-old", creationTimestamp: "2019-01-01T00:00:00Z", defaultBackend: { service: "first" } }));
    set.ingresses.reverse();
    const compiled = compileRoutes(set, { ingressClass: "ingressd" });
    expect(compiled.table.defaultBackend?.origin.name).toBe("default/c-old");
    expect(compiled.issues.map((i) => i.resource)).toEqual(["Ingress default/a1", "Ingress default/b0", "Ingress default/b1"]);
  });

  it("duplicate host+path+pathType: the older Ingress wins, the loser gets a duplicate-path warning at its path", () => {
    const newer = ingress({
      name: "newer",
      creationTimestamp: "2024-01-01T00:00:00Z",
      rules: [{ host: "dup.test", paths: [{ path: "/x", pathType: "Prefix", service: "second" }, { path: "/only-newer", pathType: "Prefix", service: "second" }] }],
    });
    const older = ingress({
      name: "older",
      creationTimestamp: "2021-01-01T00:00:00Z",
      rules: [{ host: "dup.test", paths: [{ path: "/x", pathType: "Prefix", service: "first" }] }],
    });
    // newer sorts first by file path: the timestamp must decide.
    const l = loadClean({ "s.yaml": svc, "a-newer.yaml": newer, "b-older.yaml": older });
    expect(route(l.table, "dup.test", "/x")).toBe(key("first"));
    expect(route(l.table, "dup.test", "/x/y")).toBe(key("first"));
    expect(route(l.table, "dup.test", "/only-newer")).toBe(key("second"));
    expect(l.issues).toHaveLength(1);
    expect(l.issues[0]).toMatchObject({
      severity: "warning",
      code: "duplicate-path",
      resource: "Ingress default/newer",
      file: "a-newer.yaml",
      line: 11, // `- path: /x` of the newer Ingress
      col: 13,
      field: "spec.rules[0].http.paths[0].path",
    });
    expect(l.issues[0]!.message).toContain("default/older");
    expect(l.issues[0]!.message).toContain("b-older.yaml");
  });

  it("duplicate path: by file path when timestamps are equal or absent", () => {
    const mk = (name: string, svcName: string): string => ingress({ name, rules: [{ host: "dup.test", paths: [{ path: "/x", pathType: "Exact", service: svcName }] }] });
    const l = loadClean({ "s.yaml": svc, "b.yaml": mk("b", "second"), "a.yaml": mk("a", "first") });
    expect(route(l.table, "dup.test", "/x")).toBe(key("first"));
    expect(l.issues).toMatchObject([{ code: "duplicate-path", severity: "warning", resource: "Ingress default/b", file: "b.yaml" }]);
  });

  it("duplicate path: by document order within a file", () => {
    const mk = (name: string, svcName: string): string => ingress({ name, rules: [{ paths: [{ path: "/x", pathType: "Prefix", service: svcName }] }] });
    const l = loadClean({ "s.yaml": svc, "i.yaml": [mk("zz-first-doc", "first"), mk("aa-second-doc", "second")].join("---\n") });
    expect(route(l.table, "any.test", "/x")).toBe(key("first"));
    expect(l.issues).toMatchObject([{ code: "duplicate-path", resource: "Ingress default/aa-second-doc" }]);
  });

  it("a Prefix rule /x/ duplicates /x (trailing slash ignored); Exact /x and Prefix /x do not conflict", () => {
    const l = loadClean({
      "s.yaml": svc,
      "i.yaml": ingress({
        name: "one",
        rules: [
          {
            host: "d.test",
            paths: [
              { path: "/x", pathType: "Prefix", service: "first" },
              { path: "/x", pathType: "Exact", service: "second" },
              { path: "/x/", pathType: "Prefix", service: "third" },
            ],
          },
        ],
      }),
    });
    expect(route(l.table, "d.test", "/x")).toBe(key("second"));
    expect(route(l.table, "d.test", "/x/")).toBe(key("first"));
    expect(l.issues).toMatchObject([{ code: "duplicate-path", field: "spec.rules[0].http.paths[2].path" }]);
  });

  it("the same path on different hosts is no conflict", () => {
    const l = loadClean({
      "s.yaml": svc,
      "a.yaml": ingress({ name: "a", rules: [{ host: "a.test", paths: [{ path: "/", pathType: "Prefix", service: "first" }] }] }),
      "b.yaml": ingress({ name: "b", rules: [{ host: "b.test", paths: [{ path: "/", pathType: "Prefix", service: "second" }] }] }),
      "c.yaml": ingress({ name: "c", rules: [{ host: "*.test", paths: [{ path: "/", pathType: "Prefix", service: "third" }] }] }),
    });
    expect(l.issues).toEqual([]);
    expect(route(l.table, "a.test", "/")).toBe(key("first"));
    expect(route(l.table, "b.test", "/")).toBe(key("second"));
    expect(route(l.table, "c.test", "/")).toBe(key("third"));
  });
});

// ---------------------------------------------------------------------------
// Ingress classes
// ---------------------------------------------------------------------------

describe("ingress classes", () => {
  const rule = (host: string): RuleSpec[] => [{ host, paths: [{ path: "/", pathType: "Prefix", service: "web" }] }];
  const ingressClass = (name: string, controller: string): string => `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: ${name}
spec:
  controller: ${controller}
`;
  const files = {
    "s.yaml": services("web"),
    "classes.yaml": [ingressClass("mine", "ingressd.io/ingress-controller"), ingressClass("nginx", "k8s.io/ingress-nginx")].join("---\n"),
    "ing.yaml": [
      ingress({ name: "no-class", rules: rule("no-class.test") }),
      ingress({ name: "spec-default", className: "ingressd", rules: rule("spec-default.test") }),
      ingress({ name: "annotation-default", annotationClass: "ingressd", rules: rule("annotation-default.test") }),
      ingress({ name: "spec-other", className: "other", rules: rule("spec-other.test") }),
      ingress({ name: "annotation-other", annotationClass: "other", rules: rule("annotation-other.test") }),
      ingress({ name: "class-resource", className: "mine", rules: rule("class-resource.test") }),
      ingress({ name: "class-resource-annotation", annotationClass: "mine", rules: rule("class-resource-annotation.test") }),
      ingress({ name: "other-controller", className: "nginx", rules: rule("other-controller.test") }),
    ].join("---\n"),
  };
  const l = loadClean(files);

  it.each([
    ["no-class.test", true],
    ["spec-default.test", true],
    ["annotation-default.test", true],
    ["spec-other.test", false],
    ["annotation-other.test", false],
    ["class-resource.test", true],
    ["class-resource-annotation.test", true],
    ["other-controller.test", false],
  ])("%s served: %s", (host, served) => {
    expect(route(l.table, host, "/")).toBe(served ? key("web") : undefined);
  });

  it("ignored Ingresses are listed with a reason and source", () => {
    expect(l.ignored.map((i) => i.ingress).sort()).toEqual(["default/annotation-other", "default/other-controller", "default/spec-other"]);
    const specOther = l.ignored.find((i) => i.ingress === "default/spec-other")!;
    expect(specOther.reason).toContain('"other"');
    expect(specOther.source.file).toBe("ing.yaml");
  });

  it("an Ingress of another class is a warning at its class (spec.ingressClassName, else the annotation) saying how to serve it (issue 11)", () => {
    const text = files["ing.yaml"];
    const lineOf = (needle: string): number => text.slice(0, text.indexOf(needle)).split("\n").length;
    const how = (cls: string): string =>
      `which this ingressd does not serve (it serves "ingressd", "mine"): run with --ingress-class ${cls}, or add an IngressClass named ${cls} with spec.controller ingressd.io/ingress-controller`;
    expect(l.issues.map((i) => [i.code, i.resource, i.field, i.file, i.line, i.col, i.message])).toEqual([
      ["other-ingress-class", "Ingress default/spec-other", "spec.ingressClassName", "ing.yaml", lineOf("ingressClassName: other"), 3, `Ingress default/spec-other has class "other", ${how("other")}`],
      ["other-ingress-class", "Ingress default/annotation-other", 'metadata.annotations["kubernetes.io/ingress.class"]', "ing.yaml", lineOf("kubernetes.io/ingress.class: other"), 5, `Ingress default/annotation-other has class "other", ${how("other")}`],
      ["other-ingress-class", "Ingress default/other-controller", "spec.ingressClassName", "ing.yaml", lineOf("ingressClassName: nginx"), 3, `Ingress default/other-controller has class "nginx", ${how("nginx")}`],
    ]);
  });

  it("spec.ingressClassName takes precedence over the annotation", () => {
    const x = loadClean({
      "s.yaml": services("web"),
      "i.yaml": [
        ingress({ name: "spec-wins", className: "ingressd", annotationClass: "other", rules: rule("a.test") }),
        ingress({ name: "spec-wins-2", className: "other", annotationClass: "ingressd", rules: rule("b.test") }),
      ].join("---\n"),
    });
    expect(route(x.table, "a.test", "/")).toBe(key("web"));
    expect(route(x.table, "b.test", "/")).toBeUndefined();
    expect(x.ignored.map((i) => i.ingress)).toEqual(["default/spec-wins-2"]);
  });

  it("--ingress-class changes which class is served; class-less Ingresses are still served", () => {
    const x = load(files, "custom");
    expect(x.loadIssues).toEqual([]);
    expect(route(x.table, "no-class.test", "/")).toBe(key("web"));
    expect(route(x.table, "spec-default.test", "/")).toBeUndefined();
    expect(route(x.table, "class-resource.test", "/")).toBe(key("web"));
    expect(x.ignored.map((i) => i.ingress)).toContain("default/spec-default");
  });

  it("an ignored Ingress's defaultBackend and paths take no part in conflicts", () => {
    const x = loadClean({
      "s.yaml": services("web", "other"),
      "a.yaml": ingress({
        name: "a-ignored",
        creationTimestamp: "2000-01-01T00:00:00Z",
        className: "other",
        defaultBackend: { service: "other" },
        rules: [{ host: "c.test", paths: [{ path: "/", pathType: "Prefix", service: "other" }] }],
      }),
      "b.yaml": ingress({ name: "b-served", defaultBackend: { service: "web" }, rules: rule("c.test") }),
    });
    expect(route(x.table, "c.test", "/")).toBe(key("web"));
    expect(route(x.table, "x.test", "/")).toBe(key("web"));
    expect(x.issues.map((i) => i.code)).toEqual(["other-ingress-class"]);
  });
});

// ---------------------------------------------------------------------------
// Backends
// ---------------------------------------------------------------------------

describe("backend resolution", () => {
  it("a backend port by name resolves to the Service port number", () => {
    const l = loadClean({
      "s.yaml": service("web", { http: 80, admin: 9000 }),
      "i.yaml": ingress({
        name: "named",
        rules: [{ host: "n.test", paths: [{ path: "/admin", pathType: "Prefix", service: "web", port: "admin" }, { path: "/", pathType: "Prefix", service: "web", port: "http" }] }],
      }),
    });
    expect(l.issues).toEqual([]);
    expect(route(l.table, "n.test", "/admin/x")).toBe("default/web:9000");
    expect(route(l.table, "n.test", "/")).toBe("default/web:80");
    const r = l.table.lookup("n.test", "/admin");
    expect(r?.backends[0]?.backend).toEqual({ key: "default/web:9000", namespace: "default", service: "web", port: 9000 });
  });

  it("a backend port by number that the Service has keeps its number", () => {
    const l = loadClean({
      "s.yaml": service("web", { http: 80, admin: 9000 }),
      "i.yaml": ingress({ name: "num", rules: [{ host: "n.test", paths: [{ path: "/", pathType: "Prefix", service: "web", port: 9000 }] }] }),
    });
    expect(l.issues).toEqual([]);
    expect(route(l.table, "n.test", "/")).toBe("default/web:9000");
  });

  it("the Service is looked up in the Ingress's namespace", () => {
    const l = loadClean({
      "s.yaml": [service("web", { http: 8080 }, "team"), service("web", { http: 80 })].join("---\n"),
      "i.yaml": ingress({ name: "ns", namespace: "team", rules: [{ host: "t.test", paths: [{ path: "/", pathType: "Prefix", service: "web", port: "http" }] }] }),
    });
    expect(l.issues).toEqual([]);
    expect(route(l.table, "t.test", "/")).toBe("team/web:8080");
    expect(l.table.lookup("t.test", "/")?.origin.name).toBe("team/ns");
  });

  it("a backend naming a port the Service lacks: error unknown-port at that path; the Ingress's other paths still serve", () => {
    const text = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ports
spec:
  rules:
    - host: p.test
      http:
        paths:
          - path: /good
            pathType: Prefix
            backend:
              service:
                name: web
                port:
                  name: http
          - path: /bad
            pathType: Prefix
            backend:
              service:
                name: web
                port:
                  name: grpc
          - path: /bad-number
            pathType: Prefix
            backend:
              service:
                name: web
                port:
                  number: 81
          - path: /
            pathType: Prefix
            backend:
              service:
                name: web
                port:
                  number: 80
`;
    const l = loadClean({ "s.yaml": service("web", { http: 80 }), "ing/ports.yaml": text });
    expect(route(l.table, "p.test", "/good")).toBe("default/web:80");
    expect(route(l.table, "p.test", "/")).toBe("default/web:80");
    // The broken paths are not served by their own backend; the next matching rule (/) answers.
    expect(l.table.lookup("p.test", "/bad")?.match.path).toBe("/");
    expect(l.table.lookup("p.test", "/bad-number")?.match.path).toBe("/");
    expect(l.table.routes().map((r) => r.match.path).sort()).toEqual(["/", "/good"]);

    expect(l.issues).toHaveLength(2);
    expect(l.issues[0]).toMatchObject({
      severity: "error",
      code: "unknown-port",
      file: "ing/ports.yaml",
      line: 22,
      col: 17,
      field: "spec.rules[0].http.paths[1].backend.service.port",
      resource: "Ingress default/ports",
    });
    expect(l.issues[0]!.message).toContain('"grpc"');
    expect(l.issues[0]!.message).toContain("http (80)");
    expect(l.issues[1]).toMatchObject({
      severity: "error",
      code: "unknown-port",
      file: "ing/ports.yaml",
      line: 29,
      col: 17,
      field: "spec.rules[0].http.paths[2].backend.service.port",
    });
    expect(l.issues[1]!.message).toContain("81");
  });

  it("a defaultBackend naming a missing port is an error and is not used", () => {
    const l = loadClean({
      "s.yaml": service("web", { http: 80 }),
      "i.yaml": ingress({ name: "d", defaultBackend: { service: "web", port: "nope" } }),
    });
    expect(l.table.defaultBackend).toBeUndefined();
    expect(route(l.table, "x.test", "/")).toBeUndefined();
    expect(l.issues).toMatchObject([{ severity: "error", code: "unknown-port", field: "spec.defaultBackend.service.port" }]);
  });

  it("a backend naming an unknown Service: a warning, and the route still exists with the given port", () => {
    const l = loadClean({
      "s.yaml": services("web"),
      "i.yaml": ingress({
        name: "ghost",
        rules: [{ host: "g.test", paths: [{ path: "/n", pathType: "Prefix", service: "ghost", port: 8080 }, { path: "/named", pathType: "Prefix", service: "ghost", port: "http" }] }],
      }),
    });
    expect(route(l.table, "g.test", "/n")).toBe("default/ghost:8080");
    expect(route(l.table, "g.test", "/named")).toBe("default/ghost:http");
    expect(l.issues).toHaveLength(2);
    expect(l.issues[0]).toMatchObject({
      severity: "warning",
      code: "unknown-service",
      field: "spec.rules[0].http.paths[0].backend.service.name",
      resource: "Ingress default/ghost",
      file: "i.yaml",
      line: 14, // `name: ghost`
      col: 17,
    });
    expect(l.issues.every((i) => i.severity === "warning" && i.code === "unknown-service")).toBe(true);
  });

  it("a backend naming a Service that exists but was rejected: the warning says so and points at its error, instead of 'is not defined' (issue 11)", () => {
    const l = load({
      "s.yaml": service("web").replace("spec:\n", "spec:\n  sessionAffinity: ClusterIP\n"),
      "i.yaml": ingress({ name: "i", rules: [{ host: "w.test", paths: [{ path: "/", pathType: "Prefix", service: "web" }, { path: "/g", pathType: "Prefix", service: "ghost" }] }] }),
    });
    expect(l.loadIssues).toMatchObject([{ severity: "error", code: "schema", file: "s.yaml", line: 6, resource: "Service default/web" }]);
    expect(l.issues.map((i) => [i.code, i.file, i.line, i.col, i.message])).toEqual([
      ["unknown-service", "i.yaml", 14, 17, "Service default/web is invalid (see the error at s.yaml:6) and is not served: requests to it get 503"],
      ["unknown-service", "i.yaml", 21, 17, "Service default/ghost is not defined; requests to it get 503 until it is"],
    ]);
  });

  it("compileRoutes is pure: compiling twice gives equal tables", () => {
    const files = {
      "s.yaml": services("a", "b"),
      "i.yaml": ingress({ name: "p", defaultBackend: { service: "b" }, rules: [{ host: "h.test", paths: [{ path: "/", pathType: "Prefix", service: "a" }] }] }),
    };
    const one = loadClean(files);
    const two = compileRoutes(one.resources, { ingressClass: "ingressd" });
    expect(two.table.routes().map((r) => [r.match.host, r.match.path, r.backends[0]!.backend.key])).toEqual(one.table.routes().map((r) => [r.match.host, r.match.path, r.backends[0]!.backend.key]));
    expect(two.issues).toEqual(one.issues);
  });
});

// ---------------------------------------------------------------------------
// Scale (not timing-based)
// ---------------------------------------------------------------------------

describe("scale: 1,000 hosts × 10 paths", () => {
  const HOSTS = 1000;
  const PATHS = 10;
  const files: Record<string, string> = {};
  // 10 files × 100 Ingresses, one host each; per host one Service with 10 named ports.
  for (let f = 0; f < 10; f++) {
    const docs: string[] = [];
    for (let h = f * 100; h < (f + 1) * 100; h++) {
      const ports: Record<string, number> = {};
      for (let p = 0; p < PATHS; p++) ports[`p${p}`] = 10000 + h * 10 + p;
      docs.push(service(`svc-${h}`, ports));
      docs.push(
        ingress({
          name: `ing-${h}`,
          rules: [
            {
              host: `h${h}.scale.test`,
              paths: Array.from({ length: PATHS }, (_, p) => ({
                path: p === 0 ? "/" : `/p${p}`,
                pathType: p % 2 === 0 ? "Prefix" : "Exact",
                service: `svc-${h}`,
                port: `p${p}`,
              })),
            },
          ],
        }),
      );
    }
    files[`scale/f${String(f).padStart(2, "0")}.yaml`] = docs.join("---\n");
  }
  const l = loadClean(files);

  it("compiles every route without issues", () => {
    expect(l.issues).toEqual([]);
    expect(l.resources.ingresses).toHaveLength(HOSTS);
    expect(l.table.hostCount).toBe(HOSTS);
    expect(l.table.routes()).toHaveLength(HOSTS * PATHS);
  });

  it("lookups return the right backend for a sample", () => {
    const sample = [0, 1, 7, 99, 100, 101, 333, 500, 512, 777, 998, 999];
    for (const h of sample) {
      for (let p = 1; p < PATHS; p++) {
        const want = `default/svc-${h}:${10000 + h * 10 + p}`;
        expect(route(l.table, `h${h}.scale.test`, `/p${p}`), `h${h} /p${p}`).toBe(want);
        // Exact (odd) paths do not cover sub-paths: `/` (path 0) answers; Prefix (even) ones do.
        const sub = p % 2 === 0 ? want : `default/svc-${h}:${10000 + h * 10}`;
        expect(route(l.table, `H${h}.Scale.Test:8080`, `/p${p}/x?y=1`), `h${h} /p${p}/x`).toBe(sub);
      }
      expect(route(l.table, `h${h}.scale.test`, "/elsewhere")).toBe(`default/svc-${h}:${10000 + h * 10}`);
    }
    expect(route(l.table, "h1000.scale.test", "/p1")).toBeUndefined();
    expect(route(l.table, "x.h5.scale.test", "/p1")).toBeUndefined();
    expect(route(l.table, "scale.test", "/")).toBeUndefined();
  });
});

describe("requestPath normalizes as nginx matches locations", () => {
  it.each([
    ["/public/../admin", "/admin"],
    ["/a/./b", "/a/b"],
    ["/a//b///c", "/a/b/c"],
    ["/a/%2e%2E/b", "/b"],
    ["/../../etc", "/etc"],
    ["/a/b/..", "/a/"],
    ["/a/b/?q=/../x", "/a/b/"],
    ["/plain/path", "/plain/path"],
  ])("%s → %s", (raw, expected) => {
    expect(requestPath(raw)).toBe(expected);
  });
});

describe("Gateway API semantics in the route table (suffix wildcards, isolation, conditions)", () => {
  const source = { file: "t.yaml", line: 1, col: 1 };
  const gw = (host: string | null, path: string, service: string, extra: Partial<RouteMatch> = {}, pathType: RouteMatch["pathType"] = "Prefix"): Route => ({
    match: { host, path, pathType, ...(host?.startsWith("*.") ? { hostSuffix: true as const } : {}), ...extra },
    filters: [],
    backends: [{ backend: { key: `default/${service}:80`, namespace: "default", service, port: 80 }, weight: 1 }],
    origin: { kind: "HTTPRoute", name: `default/${service}`, resource: `HTTPRoute default/${service}`, field: "spec.rules[0]", source, locate: () => source },
    isolatesHost: true,
  });
  const ing = (host: string | null, path: string, service: string): Route => ({ ...gw(host, path, service), match: { host, path, pathType: "Prefix" }, origin: { ...gw(host, path, service).origin, kind: "Ingress" }, isolatesHost: undefined });
  const facts = (o: { method?: string; query?: Record<string, string>; headers?: Record<string, string>; entry?: "http" | "https" } = {}): RequestFacts => ({
    header: (n) => o.headers?.[n],
    cookie: () => undefined,
    query: (n) => o.query?.[n],
    method: o.method ?? "GET",
    entry: o.entry ?? "http",
  });
  const svc = (r: Route | undefined) => r?.backends[0]?.backend.service;

  it("a suffix wildcard covers any depth, the most specific domain first; an Ingress wildcard one label", () => {
    const { table } = buildRouteTable([gw("*.example.com", "/", "outer"), gw("*.b.example.com", "/", "inner"), ing("*.ing.test", "/", "one")]);
    expect(svc(table.lookup("a.example.com", "/", facts()))).toBe("outer");
    expect(svc(table.lookup("a.b.example.com", "/", facts()))).toBe("inner");
    expect(svc(table.lookup("x.a.b.example.com", "/", facts()))).toBe("inner");
    expect(svc(table.lookup("x.c.example.com", "/", facts()))).toBe("outer");
    expect(table.lookup("example.com", "/", facts())).toBeUndefined();
    expect(svc(table.lookup("a.ing.test", "/", facts()))).toBe("one");
    expect(table.lookup("a.b.ing.test", "/", facts())).toBeUndefined();
    expect(table.routes()).toHaveLength(3); // a suffix route is listed once
  });

  it("a host group with Gateway routes answers alone on their entry; Ingress groups fall through", () => {
    const { table } = buildRouteTable([gw("foo.example.com", "/foo", "foo", { entry: "http" }), gw("*.example.com", "/", "wild"), ing("bar.example.com", "/bar", "bar")]);
    expect(table.lookup("foo.example.com", "/other", facts())).toBeUndefined();
    // Over HTTPS the foo group has no route of that entry: the request goes on to the wildcard.
    expect(svc(table.lookup("foo.example.com", "/other", facts({ entry: "https" })))).toBe("wild");
    expect(svc(table.lookup("bar.example.com", "/other", facts()))).toBe("wild");
  });

  it("method, then header count, then query count rank the routes of one path; equal ones keep their order", () => {
    const { table } = buildRouteTable([
      gw("a.test", "/", "query", { query: [{ name: "v", type: "Exact", value: "1" }] }),
      gw("a.test", "/", "header", { headers: [{ name: "x", type: "Exact", value: "1" }] }),
      gw("a.test", "/", "method", { method: "POST" }),
      gw("a.test", "/", "plain"),
    ]);
    const all = facts({ method: "POST", headers: { x: "1" }, query: { v: "1" } });
    expect(svc(table.lookup("a.test", "/", all))).toBe("method");
    expect(svc(table.lookup("a.test", "/", facts({ headers: { x: "1" }, query: { v: "1" } })))).toBe("header");
    expect(svc(table.lookup("a.test", "/", facts({ query: { v: "1" } })))).toBe("query");
    expect(svc(table.lookup("a.test", "/", facts()))).toBe("plain");
  });

  it("RegularExpression matches the whole path, case-sensitively, after Exact and before prefixes", () => {
    const { table } = buildRouteTable([gw("a.test", "/items/[0-9]+", "regex", {}, "RegularExpression"), gw("a.test", "/items", "prefix"), gw("a.test", "/items/1", "exact", {}, "Exact")]);
    expect(svc(table.lookup("a.test", "/items/1", facts()))).toBe("exact");
    expect(svc(table.lookup("a.test", "/items/22", facts()))).toBe("regex");
    expect(svc(table.lookup("a.test", "/items/22/x", facts()))).toBe("prefix");
    expect(svc(table.lookup("a.test", "/ITEMS/22", facts()))).toBeUndefined();
  });

  it("an entry-bound route and an Ingress rule on one path: the older takes the entry they share, the conflict says which", () => {
    const older = gw("a.test", "/", "gateway", { entry: "http" });
    const younger = ing("a.test", "/", "ingress");
    const { table, conflicts } = buildRouteTable([older, younger]);
    expect(conflicts).toEqual([{ route: younger, winner: older, servedOn: "https" }]);
    expect(svc(table.lookup("a.test", "/", facts()))).toBe("gateway");
    expect(svc(table.lookup("a.test", "/", facts({ entry: "https" })))).toBe("ingress");
    const reversed = buildRouteTable([ing("b.test", "/", "ingress"), gw("b.test", "/", "gateway", { entry: "http" })]);
    expect(reversed.conflicts.map((c) => [svc(c.route), svc(c.winner), c.servedOn])).toEqual([["gateway", "ingress", undefined]]);
  });
});
