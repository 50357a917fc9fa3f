import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseRulesFile } from "../src/config/parse.js";
import { ConfigStore } from "../src/config/store.js";
import { validateDocuments, type ValidationResult } from "../src/config/validate.js";
import { parseGatewayDuration } from "../src/config/gatewayDuration.js";
import { formatIssue, type ConfigIssue } from "../src/model/issues.js";
import { positionOf } from "./reloadHelpers.js";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

function validate(file: string, text: string): ValidationResult {
  const parsed = parseRulesFile(file, text);
  if (!parsed.ok) throw new Error(`unexpected syntax error: ${parsed.issues.map(formatIssue).join("; ")}`);
  return validateDocuments(parsed.documents);
}

const ids = (r: ValidationResult): string[] => r.resources.map((x) => x.id);

interface Expected {
  severity: "error" | "warning";
  code: string;
  field: string;
  /** Text the issue must point at: its first occurrence in the file gives line:col. */
  at: string;
  message: string | RegExp;
}

/** The one issue of `text` with `expected.field` and code, located where `expected.at` is written. */
function expectIssue(text: string, expected: Expected): ConfigIssue {
  const r = validate("gw.yaml", text);
  const found = r.issues.filter((i) => i.field === expected.field && i.code === expected.code);
  expect(found, `issues were: ${r.issues.map(formatIssue).join("\n")}`).toHaveLength(1);
  const issue = found[0]!;
  expect(issue).toMatchObject({ severity: expected.severity, file: "gw.yaml", ...positionOf(text, expected.at) });
  if (typeof expected.message === "string") expect(issue.message).toContain(expected.message);
  else expect(issue.message).toMatch(expected.message);
  // An error rejects the resource (and only it); a warning leaves it served.
  expect(r.resources.some((x) => x.id === issue.resource)).toBe(expected.severity === "warning");
  return issue;
}

const GATEWAY_CLASS = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: ingressd
spec:
  controllerName: ingressd.io/gateway-controller
`;

/** A Gateway whose listeners (indented list items) vary; `extra` goes under spec. */
function gateway(listeners: string, extra = ""): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
  namespace: apps
spec:
  gatewayClassName: ingressd
${extra}  listeners:
${listeners}`;
}

const GOOD_LISTENERS = `    - name: http
      port: 80
      protocol: HTTP
      hostname: "*.example.com"
      allowedRoutes:
        namespaces:
          from: All
    - name: https
      port: 443
      protocol: HTTPS
      hostname: www.example.com
      tls:
        mode: Terminate
        certificateRefs:
          - name: www-cert
`;

/** An HTTPRoute whose rules (indented list items) vary; `extra` goes under spec. */
function route(rules: string, extra = ""): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: web
  namespace: apps
spec:
  parentRefs:
    - name: gw
      sectionName: http
${extra}  rules:
${rules}`;
}

const GOOD_RULES = `    - matches:
        - path:
            type: PathPrefix
            value: /api
          headers:
            - name: x-version
              type: RegularExpression
              value: "^v[0-9]+$"
          queryParams:
            - name: debug
              value: "1"
          method: GET
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set:
              - name: x-a
                value: "1"
            add:
              - name: x-b
                value: "2"
            remove: [x-c]
        - type: URLRewrite
          urlRewrite:
            path:
              type: ReplacePrefixMatch
              replacePrefixMatch: /v2
      backendRefs:
        - name: web
          port: 80
          weight: 3
        - name: web-canary
          port: 80
          weight: 1
      timeouts:
        request: 10s
        backendRequest: 500ms
    - matches:
        - path:
            type: RegularExpression
            value: "/users/[0-9]+"
      filters:
        - type: RequestRedirect
          requestRedirect:
            scheme: https
            statusCode: 301
`;

const REFERENCE_GRANT = `apiVersion: gateway.networking.k8s.io/v1
kind: ReferenceGrant
metadata:
  name: from-apps
  namespace: backends
spec:
  from:
    - group: gateway.networking.k8s.io
      kind: HTTPRoute
      namespace: apps
  to:
    - group: ""
      kind: Service
`;

// ---------------------------------------------------------------------------

describe("good Gateway API resources load without issues", () => {
  it("GatewayClass, Gateway, HTTPRoute, ReferenceGrant (v1 and v1beta1), Namespace", () => {
    const text = [
      GATEWAY_CLASS,
      gateway(GOOD_LISTENERS),
      route(GOOD_RULES, "  hostnames:\n    - www.example.com\n    - \"*.example.com\"\n"),
      REFERENCE_GRANT,
      REFERENCE_GRANT.replace("gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1").replace("from-apps", "from-apps-beta"),
      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n  labels: { team: a }\nspec:\n  finalizers: [kubernetes]\n",
    ].join("---\n");
    const r = validate("gw.yaml", text);
    expect(r.issues.map(formatIssue)).toEqual([]);
    expect(ids(r)).toEqual([
      "GatewayClass default/ingressd",
      "Gateway apps/gw",
      "HTTPRoute apps/web",
      "ReferenceGrant backends/from-apps",
      "ReferenceGrant backends/from-apps-beta",
      "Namespace default/apps",
    ]);
  });

  it("fields of Gateway API v1.5 newer than the schema package are known fields, not 'unknown field' warnings", () => {
    const listeners = `    - name: http
      port: 80
      protocol: HTTP
`;
    const rules = `    - name: api
      matches:
        - path: { type: PathPrefix, value: /api }
      backendRefs:
        - name: web
          port: 80
`;
    const parentRef = "  parentRefs:\n    - name: gw\n      port: 80\n";
    const r = validate("gw.yaml", [gateway(listeners), route(rules).replace("  parentRefs:\n    - name: gw\n      sectionName: http\n", parentRef)].join("---\n"));
    expect(r.issues.map(formatIssue)).toEqual([]);
    expect(r.resources).toHaveLength(2);
  });
});

describe("known fields: a misspelled Gateway API field is an unknown-field warning at its line", () => {
  it.each([
    ["HTTPRoute spec.hostname (did you mean hostnames?)", route(GOOD_RULES, "  hostname: [a.example.com]\n"), "spec.hostname", "hostname: [a", "did you mean hostnames?"],
    ["HTTPRoute backendRefs[].wieght", route(GOOD_RULES.replace("weight: 3", "wieght: 3")), "spec.rules[0].backendRefs[0].wieght", "wieght", "did you mean weight?"],
    ["HTTPRoute header modifier remov", route(GOOD_RULES.replace("remove: [x-c]", "remov: [x-c]")), "spec.rules[0].filters[0].requestHeaderModifier.remov", "remov:", "did you mean remove?"],
    ["HTTPRoute timeouts.backendrequest", route(GOOD_RULES.replace("backendRequest: 500ms", "backendrequest: 500ms")), "spec.rules[0].timeouts.backendrequest", "backendrequest", "did you mean backendRequest?"],
    ["Gateway listener protcol", gateway(GOOD_LISTENERS.replace("      protocol: HTTP\n", "      protocol: HTTP\n      protcol: HTTP\n")), "spec.listeners[0].protcol", "protcol", "did you mean protocol?"],
    ["Gateway listener tls.certificateRef", gateway(GOOD_LISTENERS.replace("certificateRefs:", "certificateRef:\n          - name: x\n        certificateRefs:")), "spec.listeners[1].tls.certificateRef", "certificateRef:", "did you mean certificateRefs?"],
    ["GatewayClass controller", GATEWAY_CLASS + "  controller: x\n", "spec.controller", "controller: x", "unknown field spec.controller"],
    ["ReferenceGrant to[].nmae", REFERENCE_GRANT + "      nmae: web\n", "spec.to[0].nmae", "nmae", "did you mean name?"],
  ])("%s", (_name, text, field, at, message) => {
    expectIssue(text, { severity: "warning", code: "unknown-field", field, at, message });
  });
});

describe("schema versions: what Gateway API v1.5 accepts and the v1.0.0 schema package rejects", () => {
  it.each([303, 307, 308])("redirect statusCode %i loads (v1.5 allows it)", (code) => {
    const r = validate("gw.yaml", route(GOOD_RULES.replace("statusCode: 301", `statusCode: ${code}`)));
    expect(r.issues.map(formatIssue)).toEqual([]);
    expect(ids(r)).toEqual(["HTTPRoute apps/web"]);
  });

  it("redirect statusCode 304 is still refused by the schema", () => {
    const text = route(GOOD_RULES.replace("statusCode: 301", "statusCode: 304"));
    expectIssue(text, { severity: "error", code: "schema", field: "spec.rules[1].filters[0].requestRedirect.statusCode", at: "statusCode: 304", message: "must be one of 301, 302" });
  });

  it("a CORS filter loads with a warning that ingressd does not support it yet", () => {
    const text = route(`    - filters:
        - type: CORS
          cors:
            allowOrigins: ["https://a.example.com"]
      backendRefs:
        - name: web
          port: 80
`);
    expectIssue(text, { severity: "warning", code: "unsupported-gateway-field", field: "spec.rules[0].filters[0].type", at: "type: CORS", message: "the CORS filter is not supported by ingressd yet" });
  });

  it("a rule with more than 8 matches loads (v1.5 allows 64); 65 in a rule, or 128 in a route, is an error", () => {
    const matches = (n: number, from = 0): string => Array.from({ length: n }, (_, i) => `        - path: { type: PathPrefix, value: /p${from + i} }\n`).join("");
    const rule = (n: number, from = 0): string => `    - matches:\n${matches(n, from)}      backendRefs:\n        - { name: web, port: 80 }\n`;
    const nine = validate("gw.yaml", route(rule(9)));
    expect(nine.issues.map(formatIssue)).toEqual([]);
    expect(ids(nine)).toEqual(["HTTPRoute apps/web"]);
    const sixtyFive = route(rule(65));
    expectIssue(sixtyFive, { severity: "error", code: "too-many-matches", field: "spec.rules[0].matches", at: "matches:", message: "at most 64" });
    const total = route(rule(64) + rule(64, 64));
    expectIssue(total, { severity: "error", code: "too-many-matches", field: "spec.rules", at: "rules:", message: "128 matches across its rules; there must be fewer than 128" });
  });

  it("a Gateway address without a value is allowed by v1.5: only the warning that addresses are not supported", () => {
    const r = validate("gw.yaml", gateway(GOOD_LISTENERS, "  addresses:\n    - type: IPAddress\n"));
    expect(r.issues).toMatchObject([{ severity: "warning", code: "unsupported-gateway-field", field: "spec.addresses" }]);
    expect(ids(r)).toEqual(["Gateway apps/gw"]);
  });

  it("an unknown filter type is still a schema error", () => {
    const text = route(GOOD_RULES.replace("type: URLRewrite", "type: URLRewrites"));
    expectIssue(text, { severity: "error", code: "schema", field: "spec.rules[0].filters[1].type", at: "type: URLRewrites", message: "must be one of" });
  });
});

// ---------------------------------------------------------------------------
// Semantic checks
// ---------------------------------------------------------------------------

describe("Gateway checks", () => {
  const http = (name: string, port: number | string, more = ""): string => `    - name: ${name}\n      port: ${port}\n      protocol: HTTP\n${more}`;

  it.each([
    // An IP passes the CRD's hostname pattern: the semantic check catches it; the schema's
    // pattern error for the others says what is wrong in the same words.
    ["an IP", "10.0.0.1", "invalid-hostname", "is an IP address"],
    ["a port", "www.example.com:80", "schema", "must not have a port"],
    ["a wildcard not first", "www.*.example.com", "schema", "a wildcard must be the whole first label"],
    ["uppercase", "WWW.example.com", "schema", "lowercase DNS name"],
  ])("listener hostname with %s is an error at it", (_name, host, code, message) => {
    const text = gateway(http("http", 80, `      hostname: "${host}"\n`));
    expectIssue(text, { severity: "error", code, field: "spec.listeners[0].hostname", at: "hostname:", message });
  });

  it("listener names are unique within a Gateway", () => {
    const text = gateway(http("web", 80) + http("web", 8080));
    expectIssue(text, { severity: "error", code: "duplicate-listener", field: "spec.listeners[1].name", at: "name: web\n      port: 8080", message: 'listener name "web" is used twice' });
  });

  it("port, protocol and hostname are unique per listener", () => {
    const text = gateway(http("a", 80) + http("b", 80));
    expectIssue(text, { severity: "error", code: "duplicate-listener", field: "spec.listeners[1]", at: "name: b", message: "same port 80, protocol HTTP" });
  });

  it.each([0, 65536])("listener port %i is out of range", (port) => {
    const text = gateway(http("http", port));
    expectIssue(text, { severity: "error", code: "schema", field: "spec.listeners[0].port", at: `port: ${port}`, message: /must be [<>]=/ });
  });

  it("an HTTPS listener without tls, or without certificateRefs, is an error", () => {
    const noTls = gateway("    - name: https\n      port: 443\n      protocol: HTTPS\n");
    expectIssue(noTls, { severity: "error", code: "missing-listener-tls", field: "spec.listeners[0].tls", at: "name: https", message: "a listener of protocol HTTPS needs tls" });
    const noRefs = gateway("    - name: https\n      port: 443\n      protocol: HTTPS\n      tls:\n        mode: Terminate\n");
    expectIssue(noRefs, { severity: "error", code: "missing-certificate", field: "spec.listeners[0].tls.certificateRefs", at: "tls:", message: "needs tls.certificateRefs" });
  });

  it("tls on an HTTP listener is an error; HTTPS with Passthrough is an error", () => {
    const httpTls = gateway(http("http", 80, "      tls:\n        certificateRefs: [{ name: c }]\n"));
    expectIssue(httpTls, { severity: "error", code: "invalid-listener", field: "spec.listeners[0].tls", at: "tls:", message: "tls must not be set for protocol HTTP" });
    const httpsPassthrough = gateway("    - name: https\n      port: 443\n      protocol: HTTPS\n      tls:\n        mode: Passthrough\n");
    expectIssue(httpsPassthrough, { severity: "error", code: "invalid-listener", field: "spec.listeners[0].tls.mode", at: "mode:", message: "tls mode must be Terminate for protocol HTTPS" });
  });

  it("a TLS Passthrough listener is a warning: not supported, listener not served", () => {
    const text = gateway("    - name: tls\n      port: 8443\n      protocol: TLS\n      tls:\n        mode: Passthrough\n");
    expectIssue(text, { severity: "warning", code: "unsupported-listener", field: "spec.listeners[0].tls.mode", at: "mode: Passthrough", message: "not supported by ingressd: this listener is not served" });
  });

  it.each(["TCP", "UDP", "example.com/custom"])("a %s listener is a warning: ingressd serves only HTTP and HTTPS listeners", (protocol) => {
    const text = gateway(`    - name: other\n      port: 9000\n      protocol: ${protocol}\n`);
    expectIssue(text, { severity: "warning", code: "unsupported-listener", field: "spec.listeners[0].protocol", at: "protocol:", message: "serves only HTTP and HTTPS listeners" });
  });

  it.each([
    ["addresses", "  addresses:\n    - type: IPAddress\n      value: 10.0.0.1\n", "spec.addresses", "addresses:"],
    ["infrastructure", "  infrastructure:\n    labels: { a: b }\n", "spec.infrastructure", "infrastructure:"],
    ["tls", "  tls:\n    backend:\n      clientCertificateRef: { name: c }\n", "spec.tls", "tls:\n    backend"],
    ["allowedListeners", "  allowedListeners:\n    namespaces: { from: Same }\n", "spec.allowedListeners", "allowedListeners:"],
    ["defaultScope", "  defaultScope: All\n", "spec.defaultScope", "defaultScope:"],
  ])("spec.%s is a warning that ingressd does not support it", (_name, extra, field, at) => {
    const text = gateway(http("http", 80), extra);
    expectIssue(text, { severity: "warning", code: "unsupported-gateway-field", field, at, message: "not supported by ingressd" });
  });

  it("tls.options do not stand in for certificateRefs on an HTTPS listener (ingressd has no such options)", () => {
    const text = gateway("    - name: https\n      port: 443\n      protocol: HTTPS\n      tls:\n        options: { example.com/cert: x }\n");
    expectIssue(text, { severity: "error", code: "missing-certificate", field: "spec.listeners[0].tls.certificateRefs", at: "tls:", message: "needs tls.certificateRefs" });
  });

  it("a hostname on a TCP listener is an error", () => {
    const text = gateway("    - name: tcp\n      port: 9000\n      protocol: TCP\n      hostname: a.example.com\n");
    expectIssue(text, { severity: "error", code: "invalid-listener", field: "spec.listeners[0].hostname", at: "hostname:", message: "hostname must not be set for protocol TCP" });
  });

  it("listener tls.options is a warning", () => {
    const text = gateway(GOOD_LISTENERS.replace("        mode: Terminate\n", "        mode: Terminate\n        options: { example.com/ciphers: x }\n"));
    expectIssue(text, { severity: "warning", code: "unsupported-gateway-field", field: "spec.listeners[1].tls.options", at: "options:", message: "tls.options are not supported" });
  });

  it("GatewayClass parametersRef is a warning", () => {
    const text = GATEWAY_CLASS + "  parametersRef:\n    group: example.com\n    kind: Config\n    name: c\n";
    expectIssue(text, { severity: "warning", code: "unsupported-gateway-field", field: "spec.parametersRef", at: "parametersRef:", message: "parametersRef is not supported" });
  });
});

describe("HTTPRoute checks", () => {
  /** One rule: matches, filters and backendRefs as given (each an indented block or ""). */
  const rule = (matches: string, filters = "", backendRefs = "      backendRefs:\n        - name: web\n          port: 80\n"): string =>
    `    - matches:\n${matches}${filters}${backendRefs}`;
  const pathMatch = (type: string, value: string): string => `        - path:\n            type: ${type}\n            value: "${value}"\n`;

  it.each([
    ["an IP", "10.0.0.1", "invalid-hostname", "is an IP address"],
    ["a port", "www.example.com:8080", "schema", "must not have a port"],
  ])("a hostname with %s is an error", (_name, host, code, message) => {
    const text = route(GOOD_RULES, `  hostnames:\n    - ok.example.com\n    - "${host}"\n`);
    expectIssue(text, { severity: "error", code, field: "spec.hostnames[1]", at: `"${host}"`, message });
  });

  it.each([
    ["Exact", "api", 'must be an absolute path starting with "/"'],
    ["PathPrefix", "api/v1", 'must be an absolute path starting with "/"'],
    ["PathPrefix", "/a//b", "must not contain '//'"],
    ["Exact", "/a/..", "must not end with '/..'"],
    ["PathPrefix", "/a b", "percent-encode"],
  ])("a %s path %j is an error at its value", (type, value, message) => {
    const text = route(rule(pathMatch(type, value)));
    expectIssue(text, { severity: "error", code: "invalid-path", field: "spec.rules[0].matches[0].path.value", at: "value:", message });
  });

  it("a RegularExpression path that does not compile is an error naming the engine's problem", () => {
    const text = route(rule(pathMatch("RegularExpression", "/users/(")));
    expectIssue(text, { severity: "error", code: "invalid-regex", field: "spec.rules[0].matches[0].path.value", at: "value:", message: /path "\/users\/\(" is not a valid regular expression \(.+\)/ });
  });

  it("a RegularExpression path with nested quantifiers is the backtracking warning", () => {
    const text = route(rule(pathMatch("RegularExpression", "/(a+)+$")));
    expectIssue(text, { severity: "warning", code: "slow-regex", field: "spec.rules[0].matches[0].path.value", at: "value:", message: "nested quantifiers" });
  });

  it("header and query parameter RegularExpression values must compile", () => {
    const header = route(rule("        - headers:\n            - name: x-v\n              type: RegularExpression\n              value: \"[v\"\n"));
    expectIssue(header, { severity: "error", code: "invalid-regex", field: "spec.rules[0].matches[0].headers[0].value", at: "value:", message: 'header x-v value "[v" is not a valid regular expression' });
    const query = route(rule("        - queryParams:\n            - name: q\n              type: RegularExpression\n              value: \"a**\"\n"));
    expectIssue(query, { severity: "error", code: "invalid-regex", field: "spec.rules[0].matches[0].queryParams[0].value", at: "value:", message: 'query parameter q value "a**" is not a valid regular expression' });
  });

  const rewritePrefix = "      filters:\n        - type: URLRewrite\n          urlRewrite:\n            path:\n              type: ReplacePrefixMatch\n              replacePrefixMatch: /v2\n";

  it("ReplacePrefixMatch needs exactly one PathPrefix match", () => {
    const text = route(rule(pathMatch("Exact", "/api"), rewritePrefix));
    expectIssue(text, { severity: "error", code: "invalid-filter", field: "spec.rules[0].filters[0].urlRewrite.path.replacePrefixMatch", at: "replacePrefixMatch:", message: "exactly one match, of path type PathPrefix" });
    const two = route(rule(pathMatch("PathPrefix", "/a") + pathMatch("PathPrefix", "/b"), rewritePrefix));
    expectIssue(two, { severity: "error", code: "invalid-filter", field: "spec.rules[0].filters[0].urlRewrite.path.replacePrefixMatch", at: "replacePrefixMatch:", message: "exactly one match" });
  });

  it("a path modifier's type and its value agree", () => {
    const text = route(rule(pathMatch("PathPrefix", "/a"), "      filters:\n        - type: URLRewrite\n          urlRewrite:\n            path:\n              type: ReplaceFullPath\n              replacePrefixMatch: /v2\n"));
    const r = validate("gw.yaml", text);
    expect(r.issues.filter((i) => i.code === "invalid-filter").map((i) => i.field).sort()).toEqual([
      "spec.rules[0].filters[0].urlRewrite.path.replaceFullPath",
      "spec.rules[0].filters[0].urlRewrite.path.replacePrefixMatch",
    ]);
  });

  it("RequestRedirect and URLRewrite in one rule is an error", () => {
    const filters = "      filters:\n        - type: RequestRedirect\n          requestRedirect: { scheme: https }\n        - type: URLRewrite\n          urlRewrite: { hostname: a.example.com }\n";
    const text = route(rule(pathMatch("PathPrefix", "/"), filters, ""));
    expectIssue(text, { severity: "error", code: "invalid-filter", field: "spec.rules[0].filters", at: "filters:", message: "a RequestRedirect and a URLRewrite filter cannot be in the same list" });
  });

  it("RequestRedirect with backendRefs is an error; a redirect inside a backendRef is not", () => {
    const redirect = "      filters:\n        - type: RequestRedirect\n          requestRedirect: { scheme: https }\n";
    const text = route(rule(pathMatch("PathPrefix", "/"), redirect));
    expectIssue(text, { severity: "error", code: "invalid-filter", field: "spec.rules[0].filters[0]", at: "type: RequestRedirect", message: "must not be used together with backendRefs" });
    const inBackend = route(rule(pathMatch("PathPrefix", "/"), "", "      backendRefs:\n        - name: web\n          port: 80\n          filters:\n            - type: RequestRedirect\n              requestRedirect: { scheme: https }\n"));
    expect(validate("gw.yaml", inBackend).issues).toEqual([]);
  });

  it("a filter needs its own settings field and no other type's", () => {
    const missing = route(rule(pathMatch("PathPrefix", "/"), "      filters:\n        - type: RequestHeaderModifier\n"));
    expectIssue(missing, { severity: "error", code: "invalid-filter", field: "spec.rules[0].filters[0].requestHeaderModifier", at: "type: RequestHeaderModifier", message: "needs its settings in requestHeaderModifier" });
    const other = route(rule(pathMatch("PathPrefix", "/"), "      filters:\n        - type: RequestHeaderModifier\n          requestHeaderModifier: { set: [{ name: a, value: b }] }\n          responseHeaderModifier: { set: [{ name: a, value: b }] }\n"));
    expectIssue(other, { severity: "error", code: "invalid-filter", field: "spec.rules[0].filters[0].responseHeaderModifier", at: "responseHeaderModifier:", message: "the filter's type is RequestHeaderModifier" });
  });

  it("ReplacePrefixMatch in a backendRef's filter needs the rule's one PathPrefix match too", () => {
    const backend = "      backendRefs:\n        - name: web\n          port: 80\n          filters:\n            - type: URLRewrite\n              urlRewrite:\n                path: { type: ReplacePrefixMatch, replacePrefixMatch: /v2 }\n";
    const text = route(rule(pathMatch("Exact", "/api"), "", backend));
    expectIssue(text, { severity: "error", code: "invalid-filter", field: "spec.rules[0].backendRefs[0].filters[0].urlRewrite.path.replacePrefixMatch", at: "replacePrefixMatch:", message: "exactly one match" });
  });

  it.each([
    ["percent and fraction", "percent: 50\n            fraction: { numerator: 1, denominator: 2 }\n", "fraction", "only one of percent or fraction"],
    ["numerator over denominator", "fraction: { numerator: 3, denominator: 2 }\n", "fraction", "0 ≤ numerator ≤ denominator"],
    ["percent over 100", "percent: 150\n", "percent", "from 0 to 100"],
  ])("a RequestMirror with %s is an error", (_name, body, field, message) => {
    const filters = `      filters:\n        - type: RequestMirror\n          requestMirror:\n            backendRef: { name: mirror, port: 80 }\n            ${body}`;
    const text = route(rule(pathMatch("PathPrefix", "/"), filters));
    expectIssue(text, { severity: "error", code: "invalid-filter", field: `spec.rules[0].filters[0].requestMirror.${field}`, at: `${field}:`, message });
  });

  it("a RequestMirror of a fraction or percent loads", () => {
    const filters = "      filters:\n        - type: RequestMirror\n          requestMirror:\n            backendRef: { name: mirror, port: 80 }\n            fraction: { numerator: 1, denominator: 3 }\n";
    expect(validate("gw.yaml", route(rule(pathMatch("PathPrefix", "/"), filters))).issues).toEqual([]);
  });

  it("spec.useDefaultGateways is a warning", () => {
    const text = route(GOOD_RULES, "  useDefaultGateways: All\n");
    expectIssue(text, { severity: "warning", code: "unsupported-gateway-field", field: "spec.useDefaultGateways", at: "useDefaultGateways:", message: "not supported by ingressd" });
  });

  it("a filter type listed twice is an error", () => {
    const f = "        - type: ResponseHeaderModifier\n          responseHeaderModifier: { remove: [x] }\n";
    const text = route(rule(pathMatch("PathPrefix", "/"), `      filters:\n${f}${f}`));
    const r = validate("gw.yaml", text);
    const issue = r.issues.find((i) => i.code === "invalid-filter")!;
    expect(issue).toMatchObject({ field: "spec.rules[0].filters[1].type", line: positionOf(text, "responseHeaderModifier: { remove").line + 1 });
    expect(issue.message).toContain("listed twice");
  });

  it.each([
    ["set twice", "set:\n              - { name: X-A, value: '1' }\n              - { name: x-a, value: '2' }\n", "spec.rules[0].filters[0].requestHeaderModifier.set[1].name", "name: x-a, value: '2'"],
    ["set and added", "set: [{ name: x-a, value: '1' }]\n            add: [{ name: x-a, value: '2' }]\n", "spec.rules[0].filters[0].requestHeaderModifier.add[0].name", "name: x-a, value: '2'"],
    ["set and removed", "set: [{ name: x-a, value: '1' }]\n            remove: [X-A]\n", "spec.rules[0].filters[0].requestHeaderModifier.remove[0]", "X-A]"],
  ])("a header %s in one modifier is an error", (_name, body, field, at) => {
    const text = route(rule(pathMatch("PathPrefix", "/"), `      filters:\n        - type: RequestHeaderModifier\n          requestHeaderModifier:\n            ${body}`));
    expectIssue(text, { severity: "error", code: "duplicate-header", field, at, message: "name each header once" });
  });

  it.each([[-1], [1000001]])("weight %i is out of range 0..1000000", (weight) => {
    const text = route(GOOD_RULES.replace("weight: 3", `weight: ${weight}`));
    expectIssue(text, { severity: "error", code: "schema", field: "spec.rules[0].backendRefs[0].weight", at: `weight: ${weight}`, message: /must be [<>]= (0|1000000)/ });
  });

  it.each(["10", "1.5s", "10 s", "1d"])("timeout %j is not a Gateway API duration", (value) => {
    const text = route(GOOD_RULES.replace("request: 10s", `request: "${value}"`));
    expectIssue(text, { severity: "error", code: "schema", field: "spec.rules[0].timeouts.request", at: "request:", message: "is not a Gateway API duration" });
  });

  it("backendRequest longer than request is an error; request 0s (no timeout) takes any", () => {
    const text = route(GOOD_RULES.replace("backendRequest: 500ms", "backendRequest: 1m"));
    expectIssue(text, { severity: "error", code: "invalid-timeout", field: "spec.rules[0].timeouts.backendRequest", at: "backendRequest:", message: "backendRequest timeout 1m is longer than the request timeout 10s" });
    const unlimited = route(GOOD_RULES.replace("request: 10s", "request: 0s").replace("backendRequest: 500ms", "backendRequest: 1m"));
    expect(validate("gw.yaml", unlimited).issues).toEqual([]);
  });

  it("a parent named twice: each reference needs a sectionName, and a different one", () => {
    const refs = (a: string, b: string): string => `  parentRefs:\n    - name: gw\n${a}    - name: gw\n${b}`;
    const withRefs = (parentRefs: string): string => route(GOOD_RULES).replace("  parentRefs:\n    - name: gw\n      sectionName: http\n", parentRefs);
    const same = withRefs(refs("      sectionName: http\n", "      sectionName: http\n"));
    expectIssue(same, { severity: "error", code: "duplicate-parent-ref", field: "spec.parentRefs[1]", at: "name: gw\n      sectionName: http\n  rules", message: "referenced twice with the same sectionName and port" });
    const oneWithout = withRefs(refs("      sectionName: http\n", ""));
    expectIssue(oneWithout, { severity: "error", code: "ambiguous-parent-ref", field: "spec.parentRefs[1]", at: "name: gw\n  rules", message: "every reference to it needs a sectionName" });
    const distinct = withRefs(refs("      sectionName: http\n", "      sectionName: https\n"));
    expect(validate("gw.yaml", distinct).issues).toEqual([]);
    const otherGateways = withRefs("  parentRefs:\n    - name: gw\n    - name: gw2\n");
    expect(validate("gw.yaml", otherGateways).issues).toEqual([]);
  });

  it.each([["Api"], ["a_b"], [7]])("rule name %j is not a SectionName", (name) => {
    const text = route(rule(pathMatch("PathPrefix", "/")).replace("    - matches:", `    - name: ${name}\n      matches:`));
    expectIssue(text, { severity: "error", code: "invalid-rule-name", field: "spec.rules[0].name", at: `name: ${name}`, message: "must be a lowercase DNS name" });
  });

  it("rule names are unique within the route", () => {
    const named = (path: string): string => rule(pathMatch("PathPrefix", path)).replace("    - matches:", "    - name: a\n      matches:");
    const text = route(named("/a") + named("/b"));
    // The second rule's name: the needle runs on to its path "/b".
    const second = 'name: a\n      matches:\n        - path:\n            type: PathPrefix\n            value: "/b"';
    expectIssue(text, { severity: "error", code: "duplicate-rule-name", field: "spec.rules[1].name", at: second, message: 'rule name "a" is used twice' });
  });

  it.each([
    ["retry", "      retry:\n        attempts: 2\n", "spec.rules[0].retry", "retry:", "retry is not supported"],
    ["sessionPersistence", "      sessionPersistence:\n        type: Cookie\n        cookie: { name: s }\n", "spec.rules[0].sessionPersistence", "sessionPersistence:", "sessionPersistence is not supported"],
    ["ExternalAuth", "      filters:\n        - type: ExternalAuth\n          externalAuth: { protocol: HTTP, backendRef: { name: auth, port: 80 }, http: {} }\n", "spec.rules[0].filters[0].type", "type: ExternalAuth", "ExternalAuth filter is not supported"],
    ["ExtensionRef", "      filters:\n        - type: ExtensionRef\n          extensionRef: { group: example.com, kind: F, name: f }\n", "spec.rules[0].filters[0].type", "type: ExtensionRef", "ExtensionRef filters are not supported"],
  ])("%s is a warning that ingressd does not support it", (_name, block, field, at, message) => {
    const text = route(rule(pathMatch("PathPrefix", "/"), block));
    expectIssue(text, { severity: "warning", code: "unsupported-gateway-field", field, at, message });
  });
});

describe("parseGatewayDuration", () => {
  it.each([
    ["10s", 10_000],
    ["500ms", 500],
    ["1h2m3s4ms", 3_723_004],
    ["0s", 0],
    ["99999ms", 99_999],
  ])("%s is %i ms", (s, ms) => expect(parseGatewayDuration(s)).toBe(ms));

  it.each(["", "10", "1.5s", "-1s", "1d", "100000s", "1s1s1s1s1s", "10 s"])("%j is not a duration", (s) => expect(parseGatewayDuration(s)).toBeUndefined());
});

// ---------------------------------------------------------------------------
// A folder: one broken resource never rejects its neighbours
// ---------------------------------------------------------------------------

describe("a folder of Gateway API resources", () => {
  it("one broken HTTPRoute is rejected; the others, and the Gateway, still load", () => {
    const store = new ConfigStore();
    const good = (name: string): string => route(GOOD_RULES).replace("name: web\n  namespace", `name: ${name}\n  namespace`);
    const broken = good("broken").replace("type: Exact", "type: Exact").replace("value: /api", "value: api");
    store.apply([
      { path: "gateway.yaml", text: `${GATEWAY_CLASS}---\n${gateway(GOOD_LISTENERS)}` },
      { path: "routes.yaml", text: `${good("one")}---\n${broken}---\n${good("two")}` },
      { path: "three.yaml", text: good("three") },
    ]);
    const { resources, issues } = store.resources();
    expect(resources.httpRoutes.map((x) => x.name).sort()).toEqual(["one", "three", "two"]);
    expect(resources.gateways.map((x) => x.name)).toEqual(["gw"]);
    expect(issues.filter((i) => i.severity === "error")).toMatchObject([{ file: "routes.yaml", resource: "HTTPRoute apps/broken", field: "spec.rules[0].matches[0].path.value" }]);
  });

  it("no input crashes validation: every value of every document (conformance and the good ones here) replaced by other types", () => {
    // Fields newer than the schema package (rule names, retry, CORS, mirror fractions) are
    // checked by nothing before the semantic checks, so they are the likeliest to crash one.
    const sources = ["httproute-request-header-modifier.yaml", "httproute-named-rule.yaml", "httproute-retry.yaml", "httproute-cors.yaml", "httproute-request-percentage-mirror.yaml"];
    const text = [...sources.map(conformanceManifests), route(GOOD_RULES), gateway(GOOD_LISTENERS)].join("---\n");
    const docs = (parseRulesFile("f.yaml", text) as { documents: { value: unknown }[] }).documents.map((d) => d.value);
    const replacements: unknown[] = [null, 7, -1, "x", "", true, [], {}, ["a"], { a: 1 }];
    let checked = 0;
    for (const doc of docs) {
      for (const path of valuePaths(doc)) {
        for (const replacement of replacements) {
          const copy = structuredClone(doc);
          setAt(copy, path, replacement);
          const r = validateDocuments([{ file: "f.yaml", index: 0, value: copy, locate: () => ({ file: "f.yaml", line: 1, col: 1 }) }]);
          const crash = r.issues.find((i) => i.code === "internal-error");
          if (crash) throw new Error(`${path.join(".")} = ${JSON.stringify(replacement)}: ${crash.message}`);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });
});

// ---------------------------------------------------------------------------
// The conformance folder
// ---------------------------------------------------------------------------

const CONFORMANCE = join(import.meta.dirname, "conformance", "gateway");

/** A conformance file's manifests: its last document (`kind: ConformanceCase`, test data) stripped. */
function conformanceManifests(file: string): string {
  const text = readFileSync(join(CONFORMANCE, file), "utf8");
  if (file === "base.yaml") return text;
  const last = text.lastIndexOf("\n---\n");
  expect(text.slice(last)).toContain("kind: ConformanceCase");
  return text.slice(0, last + 1);
}

describe("the Gateway API conformance folder loads", () => {
  const files = readdirSync(CONFORMANCE).filter((f) => f.endsWith(".yaml") && f !== "base.yaml").sort();

  it("has the scenarios", () => expect(files.length).toBeGreaterThan(50));

  it.each(files)("%s with base.yaml: no error, every resource loads", (file) => {
    const store = new ConfigStore();
    const manifests = conformanceManifests(file);
    store.apply([
      { path: "base.yaml", text: conformanceManifests("base.yaml") },
      { path: file, text: manifests },
    ]);
    const { resources, issues } = store.resources();
    expect(issues.filter((i) => i.severity === "error").map(formatIssue)).toEqual([]);
    const parsed = parseRulesFile(file, manifests);
    const written = parsed.ok ? parsed.documents.length : -1;
    const loaded = Object.values(resources).filter(Array.isArray).flat().filter((x) => (x as { file: string }).file === file).length;
    expect(loaded).toBe(written);
    // Whatever ingressd does not support is said, never silently ignored.
    for (const w of issues.filter((i) => i.severity === "warning")) expect(w.message).toMatch(/not supported by ingressd/);
  });
});

/** The path of every value below the top of `value`: mappings, lists and scalars. */
function valuePaths(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  const own = path.length > 0 ? [path] : [];
  if (Array.isArray(value)) return [...own, ...value.flatMap((v, i) => valuePaths(v, [...path, i]))];
  if (typeof value === "object" && value !== null) return [...own, ...Object.entries(value).flatMap(([k, v]) => valuePaths(v, [...path, k]))];
  return own;
}

function setAt(root: unknown, path: (string | number)[], replacement: unknown): void {
  let at = root as Record<string | number, unknown>;
  for (const part of path.slice(0, -1)) at = at[part] as Record<string | number, unknown>;
  at[path.at(-1)!] = replacement;
}
