import { describe, expect, it } from "vitest";
import { compileConfig } from "../src/snapshot/compileConfig.js";
import { parseRulesFile, type ParsedDocument } from "../src/config/parse.js";
import { ConfigStore, type FileReport } from "../src/config/store.js";
import { validateDocuments, type ValidationResult } from "../src/config/validate.js";
import { formatIssue, type ConfigIssue } from "../src/model/issues.js";
import { positionOf } from "./reloadHelpers.js";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

function parseOk(file: string, text: string): ParsedDocument[] {
  const parsed = parseRulesFile(file, text);
  if (!parsed.ok) throw new Error(`unexpected syntax error: ${parsed.issues.map(formatIssue).join("; ")}`);
  return parsed.documents;
}

function validate(file: string, text: string): ValidationResult {
  return validateDocuments(parseOk(file, text));
}

function syntaxIssues(file: string, text: string): ConfigIssue[] {
  const parsed = parseRulesFile(file, text);
  if (parsed.ok) throw new Error("expected a syntax error");
  return parsed.issues;
}

const ids = (r: ValidationResult): string[] => r.resources.map((x) => x.id);
const errors = (r: ValidationResult): ConfigIssue[] => r.issues.filter((i) => i.severity === "error");

const SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
    - port: 80
`;

/** An Ingress whose second path (line 16-22) varies. Line numbers below refer to this layout. */
function ingressWith(second: { path?: string; pathType?: string; backend?: string; host?: string }): string {
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  rules:
    - host: ${second.host ?? "web.localhost"}
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: web
                port:
                  number: 80
          - path: ${second.path ?? "/api"}
            pathType: ${second.pathType ?? "Prefix"}
            backend:
${
  second.backend ??
  `              service:
                name: web
                port:
                  number: 80`
}
`;
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

describe("parsing", () => {
  it("a YAML syntax error: code yaml-syntax at the error's line:col, and no documents", () => {
    const issues = syntaxIssues("rules/bad.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n\tnamespace: x\n");
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ severity: "error", code: "yaml-syntax", file: "rules/bad.yaml", line: 5, col: 1 });
    expect(issues[0]!.message).toMatch(/tab/i);
    expect(issues[0]!.message).not.toContain("\n");
  });

  it("a duplicate key is a syntax error at the second key", () => {
    const issues = syntaxIssues("dup.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  name: other\n");
    expect(issues[0]).toMatchObject({ code: "yaml-syntax", line: 5, col: 3 });
    expect(issues[0]!.message).toMatch(/duplicate|unique/i);
  });

  it("a syntax error in a flow mapping is reported where it is found", () => {
    const issues = syntaxIssues("flow.yaml", "a: b: c\n");
    expect(issues[0]).toMatchObject({ code: "yaml-syntax", line: 1, col: 5 });
  });

  it("a syntax error in the second document fails the whole file", () => {
    const text = `${SERVICE}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: "web\n`;
    const issues = syntaxIssues("multi.yaml", text);
    expect(issues.every((i) => i.code === "yaml-syntax" && i.file === "multi.yaml")).toBe(true);
    expect(issues[0]!.line).toBeGreaterThanOrEqual(12);
  });

  it("multi-document files: every document, with its index and start line", () => {
    const text = `${SERVICE}---
apiVersion: v1
kind: Service
metadata:
  name: api
spec:
  ports:
    - port: 8080
---
${ingressWith({})}`;
    const docs = parseOk("multi.yaml", text);
    expect(docs.map((d) => d.index)).toEqual([0, 1, 2]);
    const r = validateDocuments(docs);
    expect(r.issues).toEqual([]);
    expect(ids(r)).toEqual(["Service default/web", "Service default/api", "Ingress default/web"]);
    expect(r.resources.map((x) => [x.source.file, x.source.line, x.source.col, x.docIndex])).toEqual([
      ["multi.yaml", 1, 1, 0],
      ["multi.yaml", 9, 1, 1],
      ["multi.yaml", 17, 1, 2],
    ]);
    // `locate` of a resource points into its own document.
    expect(r.resources[2]!.locate(["spec", "rules", 0, "http", "paths", 1, "pathType"])).toEqual({ file: "multi.yaml", line: 34, col: 13 });
  });

  it("JSON files parse with line:col positions", () => {
    const json = `{
  "apiVersion": "v1",
  "kind": "Service",
  "metadata": {"name": "web", "namespace": "shop"},
  "spec": {"ports": [{"port": 80}]}
}
`;
    const r = validate("svc.json", json);
    expect(r.issues).toEqual([]);
    expect(ids(r)).toEqual(["Service shop/web"]);
    expect(r.resources[0]!.locate(["spec", "ports", 0, "port"])).toEqual({ file: "svc.json", line: 5, col: 23 });
  });

  it("a JSON schema error is located in the JSON text", () => {
    const json = `{
  "apiVersion": "v1",
  "kind": "Service",
  "metadata": {"name": "web"},
  "spec": {"ports": [{"port": "80"}]}
}
`;
    const r = validate("svc.json", json);
    expect(r.resources).toEqual([]);
    expect(r.issues).toMatchObject([{ severity: "error", code: "schema", file: "svc.json", line: 5, col: 23, field: "spec.ports[0].port" }]);
  });

  it("a JSON syntax error is a yaml-syntax error with its position", () => {
    const issues = syntaxIssues("bad.json", '{\n  "apiVersion": "v1",\n  "kind": "Service"\n  "metadata": {}\n}\n');
    expect(issues[0]).toMatchObject({ code: "yaml-syntax", file: "bad.json", line: 4, col: 3 });
  });

  it("an empty file or a comment-only file has no documents and no issues", () => {
    expect(parseOk("empty.yaml", "")).toEqual([]);
    expect(parseOk("comment.yaml", "# nothing here yet\n")).toEqual([]);
    expect(validate("ws.yaml", "\n\n   \n").issues).toEqual([]);
  });

  it("empty documents between and after `---` separators are skipped without issues", () => {
    const text = `---\n---\n${SERVICE}---\n# just a comment\n---\n${SERVICE.replace("name: web", "name: api")}---\n`;
    const r = validate("sep.yaml", text);
    expect(r.issues).toEqual([]);
    expect(ids(r)).toEqual(["Service default/web", "Service default/api"]);
    // Positions still point into the right document after the empty ones.
    expect(r.resources.map((x) => x.source.line)).toEqual([3, 13]);
    expect(r.resources[1]!.locate(["metadata", "name"])).toEqual({ file: "sep.yaml", line: 16, col: 3 });
    expect(r.resources.map((x) => x.docIndex)).toEqual([1, 3]);
  });

  it("a document that is not a mapping is an error", () => {
    const r = validate("list.yaml", "- a\n- b\n");
    expect(r.issues).toMatchObject([{ severity: "error", code: "not-a-resource", file: "list.yaml", line: 1, col: 1 }]);
  });

  it("an unknown kind is a warning unknown-kind and is ignored", () => {
    const text = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
---
${SERVICE}`;
    const r = validate("k.yaml", text);
    expect(ids(r)).toEqual(["Service default/web"]);
    expect(r.issues).toMatchObject([{ severity: "warning", code: "unknown-kind", file: "k.yaml", line: 2, col: 1, field: "kind" }]);
    expect(r.issues[0]!.message).toContain("Deployment");
  });

  it("a known kind at the wrong apiVersion is unknown-kind with a hint", () => {
    const r = validate("odd.yaml", "apiVersion: v1\nkind: Ingress\nmetadata:\n  name: odd\n");
    expect(r.resources).toEqual([]);
    expect(r.issues).toMatchObject([{ severity: "warning", code: "unknown-kind", line: 2 }]);
    expect(r.issues[0]!.message).toContain("networking.k8s.io/v1");
  });

  describe("an API version Kubernetes removed is an error at apiVersion, naming what to write instead", () => {
    const removed = (apiVersion: string, kind: string): ConfigIssue => {
      const r = validate("old.yaml", `# old manifest\nkind: ${kind}\napiVersion: ${apiVersion}\nmetadata:\n  name: old\n  namespace: shop\n`);
      expect(r.resources).toEqual([]);
      expect(r.issues).toHaveLength(1);
      expect(r.issues[0]).toMatchObject({ severity: "error", code: "removed-api", file: "old.yaml", line: 3, col: 1, field: "apiVersion", resource: `${kind} shop/old` });
      return r.issues[0]!;
    };

    for (const apiVersion of ["extensions/v1beta1", "networking.k8s.io/v1beta1"]) {
      it(`Ingress ${apiVersion}: removed in 1.22; networking.k8s.io/v1, service.name + service.port.number|name, pathType required`, () => {
        const { message } = removed(apiVersion, "Ingress");
        expect(message).toContain(`Ingress ${apiVersion} was removed in Kubernetes 1.22`);
        expect(message).toContain("use apiVersion networking.k8s.io/v1");
        expect(message).toContain("serviceName and servicePort become service.name and service.port.number (service.port.name for a named port)");
        expect(message).toContain("spec.backend becomes spec.defaultBackend");
        expect(message).toContain("every path needs a pathType");
      });
    }

    it("IngressClass networking.k8s.io/v1beta1: removed in 1.22, networking.k8s.io/v1", () => {
      const { message } = removed("networking.k8s.io/v1beta1", "IngressClass");
      expect(message).toContain("removed in Kubernetes 1.22");
      expect(message).toContain("use apiVersion networking.k8s.io/v1");
    });

    it("EndpointSlice discovery.k8s.io/v1beta1: removed in 1.25, discovery.k8s.io/v1 with nodeName and zone", () => {
      const { message } = removed("discovery.k8s.io/v1beta1", "EndpointSlice");
      expect(message).toContain("removed in Kubernetes 1.25");
      expect(message).toContain("use apiVersion discovery.k8s.io/v1");
      expect(message).toContain("endpoints[].nodeName");
      expect(message).toContain("endpoints[].zone");
    });
  });

  it("an empty value (`host:` with nothing after it) is absent, as the API server reads it: a host-less rule, no crash", () => {
    const text = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: any
spec:
  tls:
    - hosts: [a.localhost]
      secretName:
  rules:
    - host:
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
`;
    const r = validate("i.yaml", text);
    expect(r.issues).toEqual([]);
    expect(ids(r)).toEqual(["Ingress default/any"]);
    const store = new ConfigStore();
    store.apply([{ path: "s.yaml", text: SERVICE }, { path: "i.yaml", text }]);
    const served = store.serve((set) => compileConfig(set, { ingressClass: "ingressd", bind: "127.0.0.1" }));
    expect(served.issues.filter((i) => i.code !== "no-endpoints")).toEqual([]);
    expect(served.compiled.routes.table.lookup("anything.localhost", "/")?.backends[0]?.backend.key).toBe("default/web:80");
  });

  it("a required field left empty (`name:`) is reported missing, not a crash", () => {
    const r = validate("s.yaml", SERVICE.replace("name: web", "name:"));
    expect(r.resources).toEqual([]);
    expect(errors(r)).toMatchObject([{ code: "missing-name", field: "metadata.name", line: 4 }]);
  });

  it("a block indented under the wrong parent (spec under metadata) is an error at that key, not an empty Ingress", () => {
    const text = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  spec:
    rules:
      - host: web.localhost
`;
    const r = validate("i.yaml", text);
    expect(r.resources).toEqual([]);
    expect(r.rejected.map((x) => x.id)).toEqual(["Ingress default/web"]);
    expect(r.issues).toMatchObject([{ severity: "error", code: "unknown-field", file: "i.yaml", line: 5, col: 3, field: "metadata.spec", resource: "Ingress default/web" }]);
    expect(r.issues[0]!.message).toBe("metadata has no field spec: is it indented under the wrong parent, or misspelled?");
  });

  it("an unknown top-level key (spec misspelled, ports dedented) is an error per key; metadata's and each kind's own fields are not", () => {
    const r = validate("s.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspce:\n  type: ClusterIP\nports:\n  - port: 80\n");
    expect(r.issues.filter((i) => i.code === "unknown-field")).toMatchObject([
      { line: 5, col: 1, field: "spce", message: "Service has no field spce: is it indented under the wrong parent, or misspelled?" },
      { line: 7, col: 1, field: "ports" },
    ]);
    const full = `apiVersion: v1
kind: Secret
metadata:
  name: s
  namespace: default
  labels: { a: b }
  annotations: { a: b }
  uid: 0d5f
  resourceVersion: "1"
  generation: 1
  creationTimestamp: "2024-01-01T00:00:00Z"
  managedFields: []
  finalizers: []
  ownerReferences: []
type: Opaque
immutable: false
data: {}
stringData: {}
`;
    expect(validate("f.yaml", full).issues).toEqual([]);
  });

  it("a v1 List: each item is a resource, located inside the List", () => {
    const text = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata:
      name: a
    spec:
      ports: [{port: 80}]
  - apiVersion: v1
    kind: Service
    metadata:
      name: Bad_Name
    spec:
      ports: [{port: 80}]
  - apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata:
      name: ing
    spec:
      defaultBackend:
        service:
          name: a
          port:
            number: 80
`;
    const r = validate("list.yaml", text);
    expect(ids(r)).toEqual(["Service default/a", "Ingress default/ing"]);
    expect(r.resources[0]!.source).toEqual({ file: "list.yaml", line: 4, col: 5 });
    expect(r.resources[1]!.source).toEqual({ file: "list.yaml", line: 16, col: 5 });
    expect(r.resources[1]!.locate(["spec", "defaultBackend", "service", "name"])).toEqual({ file: "list.yaml", line: 23, col: 11 });
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]).toMatchObject({ severity: "error", code: "invalid-name", file: "list.yaml", line: 13, col: 7, resource: "Service default/Bad_Name" });
  });
});

// ---------------------------------------------------------------------------
// Schema and semantic errors
// ---------------------------------------------------------------------------

describe("schema errors: exact file:line:col and field", () => {
  it("pathType Foo: error at the pathType line, listing the valid values", () => {
    const r = validate("ing.yaml", ingressWith({ pathType: "Foo" }));
    expect(r.resources).toEqual([]);
    expect(r.issues).toHaveLength(1);
    const issue = r.issues[0]!;
    expect(issue).toMatchObject({
      severity: "error",
      code: "schema",
      file: "ing.yaml",
      line: 18,
      col: 13,
      field: "spec.rules[0].http.paths[1].pathType",
      resource: "Ingress default/web",
    });
    expect(issue.message).toContain("Exact");
    expect(issue.message).toContain("ImplementationSpecific");
    expect(issue.message).toContain("Prefix");
    expect(formatIssue(issue)).toBe(`ing.yaml:18:13: error: ${issue.message} (spec.rules[0].http.paths[1].pathType)`);
  });

  it("missing pathType: error naming the missing field", () => {
    // Drop line 18, the second path's `pathType: Prefix`.
    const noType = ingressWith({}).split("\n").filter((_line, i) => i !== 17).join("\n");
    const r = validate("ing.yaml", noType);
    expect(r.resources).toEqual([]);
    expect(r.issues).toMatchObject([{ severity: "error", code: "schema", field: "spec.rules[0].http.paths[1].pathType", line: 17, col: 13 }]);
    expect(r.issues[0]!.message).toContain("pathType");
  });

  it("port.number as a string is an error at that field", () => {
    const r = validate("ing.yaml", ingressWith({ backend: `              service:\n                name: web\n                port:\n                  number: "80"` }));
    expect(r.resources).toEqual([]);
    expect(r.issues).toMatchObject([
      { severity: "error", code: "schema", file: "ing.yaml", line: 23, col: 19, field: "spec.rules[0].http.paths[1].backend.service.port.number" },
    ]);
    expect(r.issues[0]!.message).toContain("integer");
  });

  it("missing metadata.name", () => {
    const r = validate("svc.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  namespace: shop\nspec:\n  ports:\n    - port: 80\n");
    expect(r.resources).toEqual([]);
    expect(r.issues).toMatchObject([{ severity: "error", code: "missing-name", file: "svc.yaml", line: 3, col: 1, field: "metadata.name" }]);
    expect(r.issues[0]!.message).toContain("metadata.name");
  });

  it("missing metadata altogether", () => {
    const r = validate("svc.yaml", "apiVersion: v1\nkind: Service\nspec:\n  ports:\n    - port: 80\n");
    expect(r.resources).toEqual([]);
    expect(r.issues).toMatchObject([{ severity: "error", code: "missing-name", field: "metadata.name" }]);
  });

  it("a path not starting with /", () => {
    const r = validate("ing.yaml", ingressWith({ path: "api" }));
    expect(r.resources).toEqual([]);
    expect(r.issues).toMatchObject([{ severity: "error", code: "invalid-path", line: 17, col: 13, field: "spec.rules[0].http.paths[1].path" }]);
    expect(r.issues[0]!.message).toContain('"/"');
  });

  it.each([0, 65536, 70000])("Service port %i is out of range 1-65535", (port) => {
    const r = validate("svc.yaml", SERVICE.replace("port: 80", `port: ${port}`));
    expect(r.resources).toEqual([]);
    expect(r.issues).toMatchObject([{ severity: "error", code: "invalid-port", file: "svc.yaml", line: 7, col: 7, field: "spec.ports[0].port" }]);
    expect(r.issues[0]!.message).toContain("1-65535");
  });

  it.each([1, 65535])("Service port %i is in range", (port) => {
    const r = validate("svc.yaml", SERVICE.replace("port: 80", `port: ${port}`));
    expect(r.issues).toEqual([]);
    expect(ids(r)).toEqual(["Service default/web"]);
  });

  it("Service targetPort out of range", () => {
    const r = validate("svc.yaml", SERVICE.replace("- port: 80", "- port: 80\n      targetPort: 99999"));
    expect(r.issues).toMatchObject([{ severity: "error", code: "invalid-port", line: 8, col: 7, field: "spec.ports[0].targetPort" }]);
  });

  it.each([0, 65536])("backend port %i is out of range 1-65535", (port) => {
    const r = validate("ing.yaml", ingressWith({ backend: `              service:\n                name: web\n                port:\n                  number: ${port}` }));
    expect(r.resources).toEqual([]);
    expect(r.issues).toMatchObject([
      { severity: "error", code: "invalid-port", line: 23, col: 19, field: "spec.rules[0].http.paths[1].backend.service.port.number" },
    ]);
    expect(r.issues[0]!.message).toContain("1-65535");
  });

  it("a backend port with both number and name is rejected", () => {
    const r = validate("ing.yaml", ingressWith({ backend: `              service:\n                name: web\n                port:\n                  number: 80\n                  name: http` }));
    expect(r.issues).toMatchObject([{ severity: "error", code: "invalid-backend-port", line: 22, col: 17, field: "spec.rules[0].http.paths[1].backend.service.port" }]);
  });

  it("backend.resource is rejected with a clear message", () => {
    const r = validate(
      "ing.yaml",
      ingressWith({ backend: `              resource:\n                apiGroup: k8s.example.com\n                kind: StorageBucket\n                name: static-assets` }),
    );
    expect(r.resources).toEqual([]);
    expect(r.issues).toMatchObject([
      { severity: "error", code: "unsupported-backend", line: 20, col: 15, field: "spec.rules[0].http.paths[1].backend.resource" },
    ]);
    expect(r.issues[0]!.message).toMatch(/backend\.resource is not supported/);
    expect(r.issues[0]!.message).toContain("backend.service");
  });

  it("sessionAffinity ClusterIP is rejected with a message that mentions ClientIP", () => {
    const r = validate("svc.yaml", SERVICE.replace("spec:\n", "spec:\n  sessionAffinity: ClusterIP\n"));
    expect(r.resources).toEqual([]);
    expect(r.issues).toMatchObject([{ severity: "error", code: "schema", line: 6, col: 3, field: "spec.sessionAffinity" }]);
    expect(r.issues[0]!.message).toContain("ClientIP");
  });

  it("sessionAffinity ClientIP is accepted", () => {
    const r = validate("svc.yaml", SERVICE.replace("spec:\n", "spec:\n  sessionAffinity: ClientIP\n"));
    expect(r.issues).toEqual([]);
  });

  it("UDP protocol is rejected as not supported", () => {
    const r = validate("svc.yaml", SERVICE.replace("- port: 80", "- port: 53\n      protocol: UDP"));
    expect(r.resources).toEqual([]);
    expect(r.issues).toMatchObject([{ severity: "error", code: "unsupported-protocol", line: 8, col: 7, field: "spec.ports[0].protocol" }]);
    expect(r.issues[0]!.message).toMatch(/UDP.*not supported/);
  });

  it("a multi-port Service needs port names", () => {
    const r = validate("svc.yaml", SERVICE.replace("    - port: 80\n", "    - port: 80\n    - port: 443\n"));
    expect(r.resources).toEqual([]);
    expect(errors(r).map((i) => [i.code, i.line, i.col, i.field])).toEqual([
      ["missing-port-name", 7, 7, "spec.ports[0].name"],
      ["missing-port-name", 8, 7, "spec.ports[1].name"],
    ]);
  });

  it("a multi-port Service with names is fine", () => {
    const r = validate("svc.yaml", SERVICE.replace("    - port: 80\n", "    - name: http\n      port: 80\n    - name: https\n      port: 443\n"));
    expect(r.issues).toEqual([]);
  });

  it("Endpoints with a hostname instead of an IP", () => {
    const text = `apiVersion: v1
kind: Endpoints
metadata:
  name: web
subsets:
  - addresses:
      - ip: 127.0.0.1
      - ip: localhost
    ports:
      - port: 8080
`;
    const r = validate("ep.yaml", text);
    expect(r.resources).toEqual([]);
    expect(r.issues).toMatchObject([{ severity: "error", code: "invalid-ip", line: 8, col: 9, field: "subsets[0].addresses[1].ip" }]);
    expect(r.issues[0]!.message).toContain("localhost");
    expect(r.issues[0]!.message).toContain("ExternalName");
  });

  it("an EndpointSlice without the kubernetes.io/service-name label", () => {
    const text = `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc
  labels:
    app: web
addressType: IPv4
endpoints:
  - addresses: ["127.0.0.1"]
ports:
  - port: 8080
`;
    const r = validate("eps.yaml", text);
    expect(r.resources).toEqual([]);
    expect(r.issues).toMatchObject([{ severity: "error", code: "missing-service-name", line: 5, col: 3, field: "metadata.labels" }]);
    expect(r.issues[0]!.message).toContain("kubernetes.io/service-name");
    const fixed = validate("eps.yaml", text.replace("app: web", "kubernetes.io/service-name: web"));
    expect(fixed.issues).toEqual([]);
    expect(ids(fixed)).toEqual(["EndpointSlice default/web-abc"]);
  });

  it.each([
    ["Web.Localhost", /lowercase/],
    ["127.0.0.1", /IP address/],
    ["::1", /IP address/],
    ["foo.*.com", /wildcard/],
    ["*foo.com", /wildcard/],
    ["web.localhost:8080", /port/],
  ])("Ingress host %j is rejected", (host, message) => {
    const r = validate("ing.yaml", ingressWith({ host: JSON.stringify(host) }));
    expect(r.resources).toEqual([]);
    expect(r.issues).toMatchObject([{ severity: "error", code: "invalid-host", file: "ing.yaml", line: 7, col: 7, field: "spec.rules[0].host" }]);
    expect(r.issues[0]!.message).toMatch(message);
  });

  it.each(["web.localhost", "*.localhost", "a-b.c-d.example"])("Ingress host %j is accepted", (host) => {
    const r = validate("ing.yaml", ingressWith({ host: JSON.stringify(host) }));
    expect(r.issues).toEqual([]);
  });

  it("one invalid resource does not reject its valid neighbours", () => {
    const text = [
      SERVICE,
      ingressWith({ pathType: "Foo" }),
      SERVICE.replace("name: web", "name: api"),
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: udp\nspec:\n  ports:\n    - port: 53\n      protocol: UDP\n",
      ingressWith({}).replace("name: web\nspec", "name: good\nspec"),
    ].join("---\n");
    const r = validate("mixed.yaml", text);
    expect(ids(r)).toEqual(["Service default/web", "Service default/api", "Ingress default/good"]);
    expect(errors(r).map((i) => [i.resource, i.code, i.line])).toEqual([
      ["Ingress default/web", "schema", 26],
      ["Service default/udp", "unsupported-protocol", 48],
    ]);
  });
});

// ---------------------------------------------------------------------------
// ConfigStore
// ---------------------------------------------------------------------------

describe("ConfigStore", () => {
  const svc = (name: string): string => SERVICE.replace("name: web", `name: ${name}`);
  const names = (store: ConfigStore): string[] => store.resources().resources.services.map((s) => s.name);
  /** The file report of a reload that compiles to no further issue. */
  const report = (store: ConfigStore): FileReport[] => store.serve(() => ({ issues: [] })).files;

  it("a file that stops parsing keeps its last good resources", () => {
    const store = new ConfigStore();
    store.apply([{ path: "a.yaml", text: `${svc("one")}---\n${svc("two")}` }]);
    expect(names(store)).toEqual(["one", "two"]);
    expect(report(store)).toEqual([{ path: "a.yaml", status: "ok", resources: 2, servingLastGood: false }]);

    store.apply([{ path: "a.yaml", text: `${svc("one")}---\n${svc("three")}  bad: [\n` }]);
    expect(names(store)).toEqual(["one", "two"]);
    expect(report(store)).toEqual([{ path: "a.yaml", status: "syntax-error", resources: 2, servingLastGood: true }]);
    const { issues } = store.resources();
    expect(issues.length).toBeGreaterThan(0);
    expect(issues.every((i) => i.code === "yaml-syntax" && i.file === "a.yaml")).toBe(true);

    store.apply([{ path: "a.yaml", text: svc("three") }]);
    expect(names(store)).toEqual(["three"]);
    expect(report(store)).toEqual([{ path: "a.yaml", status: "ok", resources: 1, servingLastGood: false }]);
    expect(store.resources().issues).toEqual([]);
  });

  it("a syntax error keeps the last good version's validation issues too", () => {
    const store = new ConfigStore();
    store.apply([{ path: "a.yaml", text: `${svc("one")}---\n${svc("Bad")}` }]);
    expect(report(store)[0]).toMatchObject({ status: "invalid", resources: 1 });
    store.apply([{ path: "a.yaml", text: "a: [\n" }]);
    const codes = store.resources().issues.map((i) => i.code).sort();
    expect(codes).toEqual(["invalid-name", "yaml-syntax"]);
    expect(names(store)).toEqual(["one"]);
  });

  it("a file that never parsed serves nothing and is not 'serving last good'", () => {
    const store = new ConfigStore();
    store.apply([{ path: "new.yaml", text: "kind: [\n" }]);
    expect(report(store)).toEqual([{ path: "new.yaml", status: "syntax-error", resources: 0, servingLastGood: false }]);
    expect(store.resources().issues).toMatchObject([{ code: "yaml-syntax", file: "new.yaml" }]);
  });

  it("a file with validation errors is 'invalid' and serves its valid resources", () => {
    const store = new ConfigStore();
    store.apply([{ path: "a.yaml", text: `${svc("one")}---\n${ingressWith({ pathType: "Foo" })}` }]);
    expect(report(store)).toEqual([{ path: "a.yaml", status: "invalid", resources: 1, servingLastGood: false }]);
    expect(names(store)).toEqual(["one"]);
  });

  it("a file with only warnings is 'ok'", () => {
    const store = new ConfigStore();
    store.apply([{ path: "a.yaml", text: `${svc("one")}---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n` }]);
    expect(report(store)).toEqual([{ path: "a.yaml", status: "ok", resources: 1, servingLastGood: false }]);
    expect(store.resources().issues).toMatchObject([{ severity: "warning", code: "unknown-kind" }]);
  });

  it("a removed file (text null) takes its resources and issues with it", () => {
    const store = new ConfigStore();
    store.apply([
      { path: "a.yaml", text: svc("one") },
      { path: "b.yaml", text: `${svc("two")}---\n${svc("Bad")}` },
    ]);
    expect(names(store)).toEqual(["one", "two"]);
    store.apply([{ path: "b.yaml", text: null }]);
    expect(names(store)).toEqual(["one"]);
    expect(store.resources().issues).toEqual([]);
    expect(report(store).map((f) => f.path)).toEqual(["a.yaml"]);
  });

  it("a removed file that had a syntax error keeps nothing", () => {
    const store = new ConfigStore();
    store.apply([{ path: "a.yaml", text: svc("one") }]);
    store.apply([{ path: "a.yaml", text: "x: [\n" }]);
    store.apply([{ path: "a.yaml", text: null }]);
    expect(names(store)).toEqual([]);
    expect(store.resources().issues).toEqual([]);
    expect(report(store)).toEqual([]);
  });

  it("the same resource in two files: the first file by path wins, the other gets duplicate-resource", () => {
    const store = new ConfigStore();
    store.apply([
      { path: "rules/b.yaml", text: `${svc("api")}---\n${SERVICE.replace("port: 80", "port: 9090")}` },
      { path: "rules/a.yaml", text: SERVICE },
    ]);
    const { resources, issues } = store.resources();
    expect(resources.services.map((s) => [s.name, s.source.file])).toEqual([
      ["web", "rules/a.yaml"],
      ["api", "rules/b.yaml"],
    ]);
    expect(resources.services[0]!.object.spec?.ports?.[0]?.port).toBe(80);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ severity: "warning", code: "duplicate-resource", file: "rules/b.yaml", line: 9, col: 1, resource: "Service default/web" });
    expect(issues[0]!.message).toContain("rules/a.yaml:1");
  });

  it("the same resource twice in one file: the first document wins", () => {
    const store = new ConfigStore();
    store.apply([{ path: "a.yaml", text: `${SERVICE}---\n${SERVICE.replace("port: 80", "port: 81")}` }]);
    const { resources, issues } = store.resources();
    expect(resources.services.map((s) => s.object.spec?.ports?.[0]?.port)).toEqual([80]);
    expect(issues).toMatchObject([{ severity: "warning", code: "duplicate-resource", file: "a.yaml", line: 9, col: 1 }]);
  });

  it("when the winning file of a duplicate is removed, the other definition serves", () => {
    const store = new ConfigStore();
    store.apply([
      { path: "a.yaml", text: SERVICE },
      { path: "b.yaml", text: SERVICE.replace("port: 80", "port: 9090") },
    ]);
    expect(store.resources().issues).toMatchObject([{ code: "duplicate-resource", file: "b.yaml" }]);
    store.apply([{ path: "a.yaml", text: null }]);
    const { resources, issues } = store.resources();
    expect(issues).toEqual([]);
    expect(resources.services.map((s) => [s.id, s.source.file, s.object.spec?.ports?.[0]?.port])).toEqual([["Service default/web", "b.yaml", 9090]]);
  });

  it("the same name in different namespaces or of different kinds is no duplicate", () => {
    const store = new ConfigStore();
    const ep = "apiVersion: v1\nkind: Endpoints\nmetadata:\n  name: web\nsubsets: []\n";
    store.apply([
      { path: "a.yaml", text: SERVICE },
      { path: "b.yaml", text: `${SERVICE.replace("name: web", "name: web\n  namespace: other")}---\n${ep}` },
    ]);
    const { resources, issues } = store.resources();
    expect(issues).toEqual([]);
    expect(resources.services.map((s) => s.id)).toEqual(["Service default/web", "Service other/web"]);
    expect(resources.endpoints.map((s) => s.id)).toEqual(["Endpoints default/web"]);
  });
});

describe("ConfigStore: an invalid new version of a resource leaves its last good version serving", () => {
  const reload = (store: ConfigStore, changes: { path: string; text: string | null }[]) => {
    store.apply(changes);
    const served = store.serve((set) => compileConfig(set, { ingressClass: "ingressd", bind: "127.0.0.1" }));
    // SERVICE has no Endpoints: its no-endpoints warning (tested in tools.test.ts) is beside the point here.
    return { ...served, issues: served.issues.filter((i) => i.code !== "no-endpoints") };
  };
  const ports = (served: ReturnType<typeof reload>): (number | undefined)[] => served.resources.services.map((s) => s.object.spec?.ports?.[0]?.port);
  const withAffinityClusterIP = (port: number): string => SERVICE.replace("spec:\n", "spec:\n  sessionAffinity: ClusterIP\n").replace("port: 80", `port: ${port}`);
  const STILL_SERVED = "the last good version of Service default/web";

  it("sessionAffinity: ClusterIP: the previous version serves, the error says so, the file is 'servingLastGood'; the fix serves", () => {
    const store = new ConfigStore();
    expect(ports(reload(store, [{ path: "a.yaml", text: SERVICE }]))).toEqual([80]);

    const bad = reload(store, [{ path: "a.yaml", text: withAffinityClusterIP(81) }]);
    expect(ports(bad)).toEqual([80]);
    expect(bad.issues).toMatchObject([{ severity: "error", code: "schema", file: "a.yaml", line: 6, col: 3, field: "spec.sessionAffinity", resource: "Service default/web" }]);
    expect(bad.issues[0]!.message).toContain("did you mean ClientIP?");
    expect(bad.issues[0]!.message).toContain(`${STILL_SERVED} (a.yaml:1) is still served`);
    expect(bad.files).toEqual([{ path: "a.yaml", status: "invalid", resources: 1, servingLastGood: true }]);

    // Still invalid: still the first version.
    expect(ports(reload(store, [{ path: "a.yaml", text: withAffinityClusterIP(82) }]))).toEqual([80]);

    const fixed = reload(store, [{ path: "a.yaml", text: SERVICE.replace("port: 80", "port: 83") }]);
    expect(ports(fixed)).toEqual([83]);
    expect(fixed.issues).toEqual([]);
    expect(fixed.files).toEqual([{ path: "a.yaml", status: "ok", resources: 1, servingLastGood: false }]);
  });

  it("a resource that was never valid is not served, and nothing is 'still served'", () => {
    const served = reload(new ConfigStore(), [{ path: "a.yaml", text: withAffinityClusterIP(80) }]);
    expect(ports(served)).toEqual([]);
    expect(served.issues[0]!.message).not.toContain("still served");
    expect(served.files).toEqual([{ path: "a.yaml", status: "invalid", resources: 0, servingLastGood: false }]);
  });

  it("only the rejected resource keeps its last good version: its valid neighbours serve their new versions", () => {
    const store = new ConfigStore();
    const other = SERVICE.replace("name: web", "name: other");
    reload(store, [{ path: "a.yaml", text: `${SERVICE}---\n${other}` }]);
    const served = reload(store, [{ path: "a.yaml", text: `${withAffinityClusterIP(81)}---\n${other.replace("port: 80", "port: 9090")}` }]);
    expect(served.resources.services.map((s) => [s.name, s.object.spec?.ports?.[0]?.port])).toEqual([
      ["other", 9090],
      ["web", 80],
    ]);
    expect(served.files).toEqual([{ path: "a.yaml", status: "invalid", resources: 2, servingLastGood: true }]);
  });

  it("a resource moved to another file serves from there; an invalid version there keeps the last good one", () => {
    const store = new ConfigStore();
    reload(store, [{ path: "a.yaml", text: SERVICE }]);
    const moved = reload(store, [
      { path: "a.yaml", text: null },
      { path: "b.yaml", text: SERVICE.replace("port: 80", "port: 81") },
    ]);
    expect(moved.resources.services.map((s) => [s.file, s.object.spec?.ports?.[0]?.port])).toEqual([["b.yaml", 81]]);

    const movedBroken = reload(store, [
      { path: "b.yaml", text: null },
      { path: "c.yaml", text: withAffinityClusterIP(82) },
    ]);
    expect(movedBroken.resources.services.map((s) => [s.file, s.object.spec?.ports?.[0]?.port])).toEqual([["b.yaml", 81]]);
    expect(movedBroken.issues[0]!.message).toContain(`${STILL_SERVED} (b.yaml:1) is still served`);
    expect(movedBroken.files).toEqual([{ path: "c.yaml", status: "invalid", resources: 1, servingLastGood: true }]);
  });

  it("a deleted file's resources go: an invalid version written later is not served", () => {
    const store = new ConfigStore();
    reload(store, [{ path: "a.yaml", text: SERVICE }]);
    expect(ports(reload(store, [{ path: "a.yaml", text: null }]))).toEqual([]);
    const again = reload(store, [{ path: "a.yaml", text: withAffinityClusterIP(80) }]);
    expect(ports(again)).toEqual([]);
    expect(again.files).toEqual([{ path: "a.yaml", status: "invalid", resources: 0, servingLastGood: false }]);
  });

  it("a renamed resource: the old name goes, the new name serves only once valid", () => {
    const store = new ConfigStore();
    reload(store, [{ path: "a.yaml", text: SERVICE }]);
    const renamed = reload(store, [{ path: "a.yaml", text: withAffinityClusterIP(80).replace("name: web", "name: web2") }]);
    expect(renamed.resources.services).toEqual([]);
    expect(renamed.files).toEqual([{ path: "a.yaml", status: "invalid", resources: 0, servingLastGood: false }]);
  });

  it("a syntax error after a rejected version keeps serving the same last good version", () => {
    const store = new ConfigStore();
    reload(store, [{ path: "a.yaml", text: SERVICE }]);
    reload(store, [{ path: "a.yaml", text: withAffinityClusterIP(81) }]);
    const broken = reload(store, [{ path: "a.yaml", text: "kind: [\n" }]);
    expect(ports(broken)).toEqual([80]);
    expect(broken.issues.map((i) => i.code).sort()).toEqual(["schema", "yaml-syntax"]);
    expect(broken.files).toEqual([{ path: "a.yaml", status: "syntax-error", resources: 1, servingLastGood: true }]);
  });

  it("a name indented under the wrong parent: the document is still the resource at its place, whose last good version serves", () => {
    const store = new ConfigStore();
    const other = SERVICE.replace("name: web", "name: other");
    reload(store, [{ path: "a.yaml", text: `${other}---\n${SERVICE}` }]);
    const nameless = SERVICE.replace("metadata:\n  name: web\n", "metadata:\nname: web\n").replace("port: 80", "port: 81");
    const served = reload(store, [{ path: "a.yaml", text: `${other}---\n${nameless}` }]);
    expect(served.resources.services.map((s) => [s.name, s.object.spec?.ports?.[0]?.port])).toEqual([
      ["other", 80],
      ["web", 80],
    ]);
    expect(served.issues.map((i) => [i.code, i.field, i.resource])).toEqual([
      ["missing-name", "metadata.name", "Service default/web"],
      ["unknown-field", "name", "Service default/web"],
    ]);
    expect(served.issues.every((i) => i.message.includes("still served"))).toBe(true);
    expect(served.files).toEqual([{ path: "a.yaml", status: "invalid", resources: 2, servingLastGood: true }]);

    // Fixed: served again under its name.
    expect(ports(reload(store, [{ path: "a.yaml", text: `${other}---\n${SERVICE.replace("port: 80", "port: 82")}` }]))).toEqual([80, 82]);
  });

  it("a nameless document in a new file (or where no resource of its kind was) is not served", () => {
    const store = new ConfigStore();
    reload(store, [{ path: "a.yaml", text: SERVICE }]);
    const nameless = SERVICE.replace("  name: web\n", "");
    const served = reload(store, [{ path: "b.yaml", text: nameless }]);
    expect(served.files).toEqual([
      { path: "a.yaml", status: "ok", resources: 1, servingLastGood: false },
      { path: "b.yaml", status: "invalid", resources: 0, servingLastGood: false },
    ]);
    expect(served.issues).toMatchObject([{ code: "missing-name", resource: "Service default/<unnamed>" }]);
  });

  it("a removed API version of a served resource is rejected like any invalid version", () => {
    const store = new ConfigStore();
    const ingress = ingressWith({});
    reload(store, [{ path: "a.yaml", text: `${SERVICE}---\n${ingress}` }]);
    const old = reload(store, [{ path: "a.yaml", text: `${SERVICE}---\n${ingress.replace("networking.k8s.io/v1", "networking.k8s.io/v1beta1")}` }]);
    expect(old.resources.ingresses.map((i) => i.object.apiVersion)).toEqual(["networking.k8s.io/v1"]);
    expect(old.issues).toMatchObject([{ code: "removed-api", line: 9, field: "apiVersion", resource: "Ingress default/web" }]);
    expect(old.issues[0]!.message).toContain("the last good version of Ingress default/web (a.yaml:9) is still served");
  });

  describe("errors found against other resources (compile)", () => {
    const NAMED = SERVICE.replace("- port: 80", "- name: http\n      port: 80");
    const backendPort = (served: ReturnType<typeof reload>): unknown => served.resources.ingresses[0]?.object.spec?.rules?.[0]?.http?.paths[1]?.backend.service?.port;
    const ingressPortName = (name: string): string =>
      ingressWith({ backend: `              service:\n                name: web\n                port:\n                  name: ${name}` });

    it("a new Ingress version naming a port the Service lacks: the last good version serves; fixed, the new one does", () => {
      const store = new ConfigStore();
      expect(backendPort(reload(store, [{ path: "svc.yaml", text: NAMED }, { path: "ing.yaml", text: ingressWith({}) }]))).toEqual({ number: 80 });

      const typo = reload(store, [{ path: "ing.yaml", text: ingressPortName("htp") }]);
      expect(backendPort(typo)).toEqual({ number: 80 });
      expect(typo.compiled.routes.table.lookup("web.localhost", "/api")?.backends[0]?.backend.port).toBe(80);
      const at = positionOf(ingressPortName("htp"), "port:\n                  name: htp");
      expect(typo.issues).toMatchObject([{ severity: "error", code: "unknown-port", file: "ing.yaml", line: at.line, resource: "Ingress default/web" }]);
      expect(typo.issues[0]!.message).toContain("the last good version of Ingress default/web (ing.yaml:1) is still served");
      expect(typo.files).toEqual([
        { path: "ing.yaml", status: "invalid", resources: 1, servingLastGood: true },
        { path: "svc.yaml", status: "ok", resources: 1, servingLastGood: false },
      ]);

      const fixed = reload(store, [{ path: "ing.yaml", text: ingressPortName("http") }]);
      expect(backendPort(fixed)).toEqual({ name: "http" });
      expect(fixed.issues).toEqual([]);
      expect(fixed.files.every((f) => !f.servingLastGood)).toBe(true);
    });

    it("a Service change that breaks an unchanged Ingress is applied, as a cluster would; the Ingress reports it", () => {
      const store = new ConfigStore();
      reload(store, [{ path: "svc.yaml", text: NAMED }, { path: "ing.yaml", text: ingressPortName("http") }]);
      const renamed = reload(store, [{ path: "svc.yaml", text: NAMED.replace("name: http", "name: web") }]);
      expect(renamed.resources.services[0]!.object.spec?.ports?.[0]?.name).toBe("web");
      expect(renamed.issues).toMatchObject([{ code: "unknown-port", resource: "Ingress default/web" }]);
      expect(renamed.issues[0]!.message).not.toContain("still served");
      expect(renamed.files.every((f) => !f.servingLastGood)).toBe(true);

      // That version no longer served cleanly: a new one is not held back for it.
      const edited = reload(store, [{ path: "ing.yaml", text: ingressPortName("htp") }]);
      expect(backendPort(edited)).toEqual({ name: "htp" });
      expect(edited.files.every((f) => !f.servingLastGood)).toBe(true);
    });

    it("a file parsed again with an unchanged resource is no new version of it", () => {
      const store = new ConfigStore();
      reload(store, [{ path: "all.yaml", text: `${NAMED}---\n${ingressPortName("http")}` }]);
      const renamed = reload(store, [{ path: "all.yaml", text: `${NAMED.replace("name: http", "name: web")}---\n${ingressPortName("http")}` }]);
      expect(renamed.resources.services[0]!.object.spec?.ports?.[0]?.name).toBe("web");
      expect(renamed.issues[0]!.message).not.toContain("still served");
    });
  });
});

// ---------------------------------------------------------------------------
// formatIssue
// ---------------------------------------------------------------------------

describe("formatIssue", () => {
  it("gives file:line:col: severity: message (field)", () => {
    expect(formatIssue({ severity: "error", code: "schema", message: "must be one of A, B", file: "rules/x.yaml", line: 12, col: 5, field: "spec.rules[0].host" })).toBe(
      "rules/x.yaml:12:5: error: must be one of A, B (spec.rules[0].host)",
    );
  });

  it("leaves out the field when there is none", () => {
    expect(formatIssue({ severity: "warning", code: "yaml-syntax", message: "oops", file: "a.yaml", line: 1, col: 2 })).toBe("a.yaml:1:2: warning: oops");
  });

  it("formats a real issue from parsing", () => {
    const [issue] = syntaxIssues("rules/bad.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n\tnamespace: x\n");
    expect(formatIssue(issue!)).toMatch(/^rules\/bad\.yaml:5:1: error: .*tab/);
  });
});

describe("unknown fields below the top level (issue 11; kubectl's strict field validation)", () => {
  it("a misspelled field is a warning naming its path and the nearest known field; the resource still serves", () => {
    const text = `${SERVICE.replace("spec:\n", "spec:\n  sessionAffinty: ClientIP\n").replace("- port: 80", "- port: 80\n      nmae: http\n      frobnicate: 1")}---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  ingresClassName: ingressd
  rules:
    - host: web.localhost
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: web
                port:
                  number: 80
                  nmae: http
`;
    const r = validate("f.yaml", text);
    expect(ids(r)).toEqual(["Service default/web", "Ingress default/web"]);
    expect(r.issues.map((i) => [i.severity, i.code, i.line, i.col, i.field, i.message])).toEqual([
      ["warning", "unknown-field", 6, 3, "spec.sessionAffinty", "unknown field spec.sessionAffinty (did you mean sessionAffinity?): it is ignored"],
      ["warning", "unknown-field", 9, 7, "spec.ports[0].nmae", "unknown field spec.ports[0].nmae (did you mean name?): it is ignored"],
      ["warning", "unknown-field", 10, 7, "spec.ports[0].frobnicate", "unknown field spec.ports[0].frobnicate: it is ignored"],
      ["warning", "unknown-field", 17, 3, "spec.ingresClassName", "unknown field spec.ingresClassName (did you mean ingressClassName?): it is ignored"],
      ["warning", "unknown-field", 29, 19, "spec.rules[0].http.paths[0].backend.service.port.nmae", "unknown field spec.rules[0].http.paths[0].backend.service.port.nmae (did you mean name?): it is ignored"],
    ]);
  });
});
