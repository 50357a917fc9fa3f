import { isIP } from "node:net";
import type { IGateway, IGatewayClass, IHTTPRoute } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1";
import { regexPathProblem } from "../model/regexPath.js";
import { BACKTRACKING_WARNING, mayBacktrackExponentially } from "./backtracking.js";
import { parseGatewayDuration } from "./gatewayDuration.js";

/**
 * The semantic checks of the Gateway API kinds: what the API server's CEL rules (which
 * the v1.0.0 schema package cannot run) and ingressd's own limits say about a resource
 * that already passed the schema. Written against Gateway API v1.5; fields newer than
 * the schema package's types are read defensively (the schema did not check them).
 */

type Path = (string | number)[];

/** Where a check reports (validate.ts's Reporter). */
export interface IssueReporter {
  error(path: Path, code: string, message: string): void;
  warn(path: Path, code: string, message: string): void;
}

const UNSUPPORTED = "unsupported-gateway-field";

/** The API server's limits on HTTPRoute matches: per rule, and across the rules of a route. */
const MAX_RULE_MATCHES = 64;
const MAX_TOTAL_MATCHES = 128;

/** Gateway API SectionName (listener and rule names), as the CRD's pattern writes it. */
const SECTION_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Gateway API Hostname, as the CRD's pattern writes it. */
const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `host` is no Gateway API hostname (a DNS name, optionally `*.` first), or undefined. */
export function gatewayHostnameProblem(host: string): string | undefined {
  const bare = host.startsWith("*.") ? host.slice(2) : host;
  if (isIP(host) !== 0 || isIP(bare) !== 0) return `hostname "${host}" is an IP address; Gateway API hostnames are DNS names (leave it out to match every host)`;
  if (host.includes(":")) return `hostname "${host}" must not have a port or scheme`;
  if (bare.includes("*")) return `hostname "${host}": a wildcard must be the whole first label, as in *.example.com`;
  if (!HOSTNAME.test(host) || host.length > 253) return `hostname "${host}" must be a lowercase DNS name (letters, digits, '-', '.'), optionally starting with "*."`;
  return undefined;
}

function checkHostname(r: IssueReporter, at: Path, host: string): void {
  const problem = gatewayHostnameProblem(host);
  if (problem !== undefined) r.error(at, "invalid-hostname", problem);
}

/**
 * Whether a schema error of the Gateway API v1.0.0 schema package (the newest published)
 * is about something Gateway API v1.5 allows: a v1.5 API server would accept the resource,
 * so ingressd does too, and the semantic checks judge the value instead (accepted, or a
 * warning where ingressd does not support it). The differences, found by comparing the
 * package's schemas with the v1.5 CRDs:
 * - enum values added: filter types CORS and ExternalAuth, redirect statusCode 303, 307, 308;
 * - rules[].matches: at most 8 became at most 64 (and fewer than 128 in the whole route);
 * - Gateway spec.addresses[].value became optional and may be empty.
 */
export function allowedByNewerGatewayApi(
  kind: string,
  error: { keyword: string; params: Record<string, unknown> },
  path: readonly (string | number)[],
  value: unknown,
): boolean {
  const field = path.at(-1);
  if (kind === "HTTPRoute") {
    if (error.keyword === "enum" && field === "statusCode" && path.at(-2) === "requestRedirect") return value === 303 || value === 307 || value === 308;
    if (error.keyword === "enum" && field === "type" && typeof path.at(-2) === "number" && path.at(-3) === "filters") return value === "CORS" || value === "ExternalAuth";
    if (error.keyword === "maxItems" && field === "matches") return true;
  }
  if (kind === "Gateway" && path[0] === "spec" && path[1] === "addresses") {
    return (error.keyword === "required" && error.params.missingProperty === "value") || (error.keyword === "minLength" && field === "value");
  }
  return false;
}

/** A friendlier message for a schema `pattern` error on a Gateway API field, or undefined. */
export function gatewayPatternMessage(kind: string, path: readonly (string | number)[], value: unknown): string | undefined {
  if (typeof value !== "string" || (kind !== "Gateway" && kind !== "HTTPRoute")) return undefined;
  const field = path.at(-1);
  if (field === "hostname" || path.at(-2) === "hostnames") return gatewayHostnameProblem(value);
  if (path.at(-2) === "timeouts" || field === "absoluteTimeout") {
    return `"${value}" is not a Gateway API duration: one to four parts of a number (at most 5 digits) and a unit h, m, s or ms, as in 10s, 500ms or 1m30s`;
  }
  return undefined;
}

export function checkGatewayClass(r: IssueReporter, gc: IGatewayClass): void {
  if (gc.spec.parametersRef) r.warn(["spec", "parametersRef"], UNSUPPORTED, "GatewayClass parametersRef is not supported by ingressd: it is ignored");
}

/** Listener protocols ingressd serves; TLS, TCP, UDP and custom ones are not. */
const SERVED_PROTOCOLS = new Set(["HTTP", "HTTPS"]);

export function checkGateway(r: IssueReporter, gw: IGateway): void {
  const spec = gw.spec as IGateway["spec"] & Record<string, unknown>;
  const ignored: [string, string][] = [
    ["addresses", "spec.addresses is not supported by ingressd: it listens on its own addresses"],
    ["infrastructure", "spec.infrastructure is not supported by ingressd: it is ignored"],
    ["tls", "spec.tls (client certificate validation, backend client certificates) is not supported by ingressd: it is ignored"],
    ["allowedListeners", "spec.allowedListeners (ListenerSets) is not supported by ingressd: it is ignored"],
    ["defaultScope", "spec.defaultScope is not supported by ingressd: it is ignored"],
  ];
  for (const [field, message] of ignored) if (spec[field] !== undefined) r.warn(["spec", field], UNSUPPORTED, message);

  const names = new Set<string>();
  const combinations = new Set<string>();
  spec.listeners.forEach((l, i) => {
    const at: Path = ["spec", "listeners", i];
    if (names.has(l.name)) r.error([...at, "name"], "duplicate-listener", `listener name "${l.name}" is used twice; listener names must be unique within a Gateway`);
    names.add(l.name);
    const combination = `${l.port}/${l.protocol}/${l.hostname ?? ""}`;
    if (combinations.has(combination)) {
      r.error(at, "duplicate-listener", `another listener has the same port ${l.port}, protocol ${l.protocol} and hostname ${l.hostname ?? "(none)"}; the combination must be unique`);
    }
    combinations.add(combination);
    if (l.hostname !== undefined) {
      if (l.protocol === "TCP" || l.protocol === "UDP") r.error([...at, "hostname"], "invalid-listener", `hostname must not be set for protocol ${l.protocol}`);
      else checkHostname(r, [...at, "hostname"], l.hostname);
    }
    checkListenerTls(r, at, l);
  });
}

function checkListenerTls(r: IssueReporter, at: Path, l: IGateway["spec"]["listeners"][number]): void {
  const tls = l.tls as (NonNullable<typeof l.tls> & { options?: unknown }) | undefined;
  const mode = tls?.mode ?? "Terminate";
  if (tls === undefined) {
    if (l.protocol === "HTTPS" || l.protocol === "TLS") r.error([...at, "tls"], "missing-listener-tls", `a listener of protocol ${l.protocol} needs tls`);
  } else if (l.protocol === "HTTP" || l.protocol === "TCP" || l.protocol === "UDP") {
    r.error([...at, "tls"], "invalid-listener", `tls must not be set for protocol ${l.protocol}`);
    return;
  }
  if (l.protocol === "HTTPS" && mode !== "Terminate") {
    r.error([...at, "tls", "mode"], "invalid-listener", `tls mode must be Terminate for protocol HTTPS (${mode} is for protocol TLS)`);
  } else if (l.protocol === "TLS" && mode === "Passthrough") {
    r.warn([...at, "tls", "mode"], "unsupported-listener", "TLS Passthrough is not supported by ingressd: this listener is not served");
  } else if (!SERVED_PROTOCOLS.has(l.protocol)) {
    r.warn([...at, "protocol"], "unsupported-listener", `protocol ${l.protocol} is not supported by ingressd, which serves only HTTP and HTTPS listeners: this listener is not served`);
  }
  if (tls?.options !== undefined) r.warn([...at, "tls", "options"], UNSUPPORTED, "listener tls.options are not supported by ingressd: they are ignored");
  // The spec lets implementation-specific options stand in for certificateRefs; ingressd has
  // none, so an HTTPS listener it serves needs certificateRefs either way.
  if (tls !== undefined && mode === "Terminate" && (tls.certificateRefs ?? []).length === 0 && (tls.options === undefined || l.protocol === "HTTPS")) {
    r.error([...at, "tls", "certificateRefs"], "missing-certificate", `a listener of protocol ${l.protocol} terminating TLS needs tls.certificateRefs naming a kubernetes.io/tls Secret`);
  }
}

// ---------------------------------------------------------------------------
// HTTPRoute
// ---------------------------------------------------------------------------

type Rule = NonNullable<IHTTPRoute["spec"]["rules"]>[number];
type Match = NonNullable<Rule["matches"]>[number];
/** A filter as v1.5 writes it: the v1.0 fields plus cors and externalAuth (not schema-checked). */
type Filter = NonNullable<Rule["filters"]>[number] & { cors?: unknown; externalAuth?: unknown };
type HeaderModifier = NonNullable<Filter["requestHeaderModifier"]>;
type PathModifier = NonNullable<NonNullable<Filter["urlRewrite"]>["path"]>;
/** Fields of a rule newer than the schema package (not schema-checked). */
interface NewerRuleFields {
  name?: unknown;
  retry?: unknown;
  sessionPersistence?: unknown;
}

/** Each filter type and the field holding its settings. */
const FILTER_FIELDS: Record<string, string> = {
  RequestHeaderModifier: "requestHeaderModifier",
  ResponseHeaderModifier: "responseHeaderModifier",
  RequestMirror: "requestMirror",
  RequestRedirect: "requestRedirect",
  URLRewrite: "urlRewrite",
  ExtensionRef: "extensionRef",
  CORS: "cors",
  ExternalAuth: "externalAuth",
};
/** Filter types a list may hold at most once (RequestMirror may repeat; ExtensionRef too). */
const SINGLE_FILTERS = new Set(["RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite", "CORS"]);
/** Filter types ingressd does not apply, and why that matters. */
const UNSUPPORTED_FILTERS: Record<string, string> = {
  CORS: "the CORS filter is not supported by ingressd yet: no CORS headers are added",
  ExtensionRef: "ExtensionRef filters are not supported by ingressd: the spec says a request to a rule whose filter cannot be applied gets a 500",
  ExternalAuth: "the ExternalAuth filter is not supported by ingressd yet: requests are not authorized by it",
};

export function checkHTTPRoute(r: IssueReporter, route: IHTTPRoute): void {
  const spec = route.spec as IHTTPRoute["spec"] & { useDefaultGateways?: unknown };
  (spec.hostnames ?? []).forEach((h, i) => checkHostname(r, ["spec", "hostnames", i], h));
  checkParentRefs(r, spec.parentRefs ?? []);
  if (spec.useDefaultGateways !== undefined) r.warn(["spec", "useDefaultGateways"], UNSUPPORTED, "spec.useDefaultGateways is not supported by ingressd: name the Gateway in parentRefs");
  const rules = spec.rules ?? [];
  const ruleNames = new Set<string>();
  let totalMatches = 0;
  rules.forEach((rule, i) => {
    const at: Path = ["spec", "rules", i];
    const newer = rule as Rule & NewerRuleFields;
    if (newer.name !== undefined) {
      // Newer than the schema package, so its format (a SectionName) is checked here.
      if (typeof newer.name !== "string" || !SECTION_NAME.test(newer.name) || newer.name.length > 253) {
        r.error([...at, "name"], "invalid-rule-name", `rule name ${JSON.stringify(newer.name)} must be a lowercase DNS name (letters, digits, '-', '.'), at most 253 characters`);
      } else if (ruleNames.has(newer.name)) {
        r.error([...at, "name"], "duplicate-rule-name", `rule name "${newer.name}" is used twice; rule names must be unique within the route`);
      }
      ruleNames.add(String(newer.name));
    }
    if (newer.retry !== undefined) r.warn([...at, "retry"], UNSUPPORTED, "retry is not supported by ingressd yet: failed requests are not retried");
    if (newer.sessionPersistence !== undefined) {
      r.warn([...at, "sessionPersistence"], UNSUPPORTED, "sessionPersistence is not supported by ingressd yet: requests are balanced without it");
    }
    const matches = rule.matches ?? [];
    totalMatches += matches.length;
    if (matches.length > MAX_RULE_MATCHES) r.error([...at, "matches"], "too-many-matches", `the rule has ${matches.length} matches; a rule may have at most ${MAX_RULE_MATCHES}`);
    matches.forEach((m, j) => checkMatch(r, [...at, "matches", j], m));
    checkFilters(r, [...at, "filters"], rule.filters ?? [], rule);
    (rule.backendRefs ?? []).forEach((b, j) => checkFilters(r, [...at, "backendRefs", j, "filters"], (b.filters ?? []) as Filter[], rule));
    if ((rule.backendRefs ?? []).length > 0) {
      (rule.filters ?? []).forEach((f, j) => {
        if (f.type === "RequestRedirect") r.error([...at, "filters", j], "invalid-filter", "a RequestRedirect filter must not be used together with backendRefs: the rule answers the redirect itself");
      });
    }
    checkTimeouts(r, [...at, "timeouts"], rule.timeouts);
  });
  if (totalMatches >= MAX_TOTAL_MATCHES) {
    r.error(["spec", "rules"], "too-many-matches", `the route has ${totalMatches} matches across its rules; there must be fewer than ${MAX_TOTAL_MATCHES}`);
  }
}

/**
 * The spec's rules for a route that names one parent several times (one reference per
 * listener, say): every such reference says which part of the parent it means (sectionName
 * or port, the same of the two in each), and no two mean the same part.
 */
function checkParentRefs(r: IssueReporter, refs: NonNullable<IHTTPRoute["spec"]["parentRefs"]>): void {
  const byParent = new Map<string, { part: string; shape: string }[]>();
  refs.forEach((ref, i) => {
    const parent = `${ref.group ?? "gateway.networking.k8s.io"}/${ref.kind ?? "Gateway"}/${ref.namespace ?? ""}/${ref.name}`;
    const seen = byParent.get(parent) ?? [];
    byParent.set(parent, seen);
    const port = (ref as { port?: unknown }).port;
    const part = `${ref.sectionName ?? ""}:${port === undefined || port === 0 ? "" : String(port)}`;
    const shape = `${ref.sectionName ? "sectionName" : ""}+${port ? "port" : ""}`;
    const at: Path = ["spec", "parentRefs", i];
    if (seen.some((s) => s.part === part)) {
      r.error(at, "duplicate-parent-ref", `parent ${ref.name} is referenced twice with the same sectionName and port; each reference to it must name a different part`);
    } else if (seen.some((s) => s.shape !== shape)) {
      r.error(at, "ambiguous-parent-ref", `parent ${ref.name} is referenced more than once: every reference to it needs a sectionName (or port), as the others have`);
    }
    seen.push({ part, shape });
  });
}

function checkMatch(r: IssueReporter, at: Path, m: Match): void {
  if (m.path?.value !== undefined) {
    const type = m.path.type ?? "PathPrefix";
    const value = m.path.value;
    const where = [...at, "path", "value"];
    if (type === "RegularExpression") checkRegex(r, where, "path", value);
    else {
      const problem = literalPathProblem(value);
      if (problem !== undefined) r.error(where, "invalid-path", `${type} path "${value}" ${problem}`);
    }
  }
  (m.headers ?? []).forEach((h, k) => {
    if (h.type === "RegularExpression") checkRegex(r, [...at, "headers", k, "value"], `header ${h.name} value`, h.value);
  });
  (m.queryParams ?? []).forEach((q, k) => {
    if (q.type === "RegularExpression") checkRegex(r, [...at, "queryParams", k, "value"], `query parameter ${q.name} value`, q.value);
  });
}

/** The CEL rules of an Exact or PathPrefix path, as the API server words them. */
const LITERAL_PATH_CHARS = /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$/;
function literalPathProblem(value: string): string | undefined {
  if (!value.startsWith("/")) return 'must be an absolute path starting with "/"';
  for (const bad of ["//", "/./", "/../", "%2f", "%2F", "#"]) if (value.includes(bad)) return `must not contain '${bad}'`;
  for (const end of ["/..", "/."]) if (value.endsWith(end)) return `must not end with '${end}'`;
  if (!LITERAL_PATH_CHARS.test(value)) return "has characters a path may not hold unescaped (percent-encode them)";
  return undefined;
}

function checkRegex(r: IssueReporter, at: Path, what: string, source: string): void {
  const problem = regexPathProblem(source);
  if (problem !== undefined) r.error(at, "invalid-regex", `${what} "${source}" is not a valid regular expression (${problem})`);
  else if (mayBacktrackExponentially(source)) r.warn(at, "slow-regex", `${what} "${source}" ${BACKTRACKING_WARNING}`);
}

function checkFilters(r: IssueReporter, at: Path, filters: readonly Filter[], rule: Rule): void {
  const seen = new Set<string>();
  filters.forEach((f, i) => {
    const here: Path = [...at, i];
    const own = FILTER_FIELDS[f.type];
    for (const [type, field] of Object.entries(FILTER_FIELDS)) {
      const present = (f as unknown as Record<string, unknown>)[field] !== undefined;
      if (type === f.type && !present) r.error([...here, field], "invalid-filter", `a ${type} filter needs its settings in ${field}`);
      else if (type !== f.type && present) r.error([...here, field], "invalid-filter", `${field} is set but the filter's type is ${f.type}${own ? ` (its settings go in ${own})` : ""}`);
    }
    if (SINGLE_FILTERS.has(f.type) && seen.has(f.type)) r.error([...here, "type"], "invalid-filter", `the ${f.type} filter is listed twice; it may appear once per list`);
    seen.add(f.type);
    const unsupported = UNSUPPORTED_FILTERS[f.type];
    if (unsupported !== undefined) r.warn([...here, "type"], UNSUPPORTED, unsupported);
    if (f.requestHeaderModifier) checkHeaderModifier(r, [...here, "requestHeaderModifier"], f.requestHeaderModifier);
    if (f.responseHeaderModifier) checkHeaderModifier(r, [...here, "responseHeaderModifier"], f.responseHeaderModifier);
    if (f.requestRedirect?.path) checkPathModifier(r, [...here, "requestRedirect", "path"], f.requestRedirect.path, rule);
    if (f.urlRewrite?.path) checkPathModifier(r, [...here, "urlRewrite", "path"], f.urlRewrite.path, rule);
    if (f.requestRedirect?.hostname !== undefined) checkHostname(r, [...here, "requestRedirect", "hostname"], f.requestRedirect.hostname);
    if (f.urlRewrite?.hostname !== undefined) checkHostname(r, [...here, "urlRewrite", "hostname"], f.urlRewrite.hostname);
    if (f.requestMirror) checkMirror(r, [...here, "requestMirror"], f.requestMirror as MirrorFields);
  });
  if (seen.has("RequestRedirect") && seen.has("URLRewrite")) {
    r.error(at, "invalid-filter", "a RequestRedirect and a URLRewrite filter cannot be in the same list: a redirected request is not forwarded");
  }
}

/** A header modifier names each header at most once across set, add and remove (case-insensitive). */
function checkHeaderModifier(r: IssueReporter, at: Path, m: HeaderModifier): void {
  const seen = new Map<string, string>();
  const note = (where: Path, list: string, name: string): void => {
    const key = name.toLowerCase();
    const earlier = seen.get(key);
    if (earlier !== undefined) r.error(where, "duplicate-header", `header ${name} is already in ${earlier} of this modifier; name each header once`);
    else seen.set(key, list);
  };
  (m.set ?? []).forEach((h, i) => note([...at, "set", i, "name"], "set", h.name));
  (m.add ?? []).forEach((h, i) => note([...at, "add", i, "name"], "add", h.name));
  (m.remove ?? []).forEach((name, i) => note([...at, "remove", i], "remove", name));
}

function checkPathModifier(r: IssueReporter, at: Path, p: PathModifier, rule: Rule): void {
  if (p.type === "ReplaceFullPath" && p.replaceFullPath === undefined) r.error([...at, "replaceFullPath"], "invalid-filter", "replaceFullPath is required when type is ReplaceFullPath");
  if (p.type !== "ReplaceFullPath" && p.replaceFullPath !== undefined) r.error([...at, "replaceFullPath"], "invalid-filter", `replaceFullPath needs type ReplaceFullPath (the type is ${p.type})`);
  if (p.type === "ReplacePrefixMatch" && p.replacePrefixMatch === undefined) r.error([...at, "replacePrefixMatch"], "invalid-filter", "replacePrefixMatch is required when type is ReplacePrefixMatch");
  if (p.type !== "ReplacePrefixMatch" && p.replacePrefixMatch !== undefined) r.error([...at, "replacePrefixMatch"], "invalid-filter", `replacePrefixMatch needs type ReplacePrefixMatch (the type is ${p.type})`);
  if (p.type === "ReplacePrefixMatch" && p.replacePrefixMatch !== undefined) {
    // Absent matches default to one PathPrefix "/" match, and an absent path type to PathPrefix.
    const matches = rule.matches ?? [{}];
    if (matches.length !== 1 || (matches[0]!.path?.type ?? "PathPrefix") !== "PathPrefix") {
      r.error([...at, "replacePrefixMatch"], "invalid-filter", "ReplacePrefixMatch needs the rule to have exactly one match, of path type PathPrefix: it replaces that prefix");
    }
  }
}

interface MirrorFields {
  percent?: unknown;
  fraction?: { numerator?: unknown; denominator?: unknown };
}

function checkMirror(r: IssueReporter, at: Path, m: MirrorFields): void {
  if (m.percent !== undefined && m.fraction !== undefined) r.error([...at, "fraction"], "invalid-filter", "only one of percent or fraction may be set");
  if (m.percent !== undefined && (typeof m.percent !== "number" || !Number.isInteger(m.percent) || m.percent < 0 || m.percent > 100)) {
    r.error([...at, "percent"], "invalid-filter", `percent must be a whole number from 0 to 100, not ${String(m.percent)}`);
  }
  if (m.fraction !== undefined) {
    const { numerator, denominator = 100 } = m.fraction;
    if (typeof numerator !== "number" || typeof denominator !== "number" || !Number.isInteger(numerator) || !Number.isInteger(denominator) || numerator < 0 || denominator < 1 || numerator > denominator) {
      r.error([...at, "fraction"], "invalid-filter", "fraction needs whole numbers 0 ≤ numerator ≤ denominator, denominator at least 1");
    }
  }
}

function checkTimeouts(r: IssueReporter, at: Path, timeouts: Rule["timeouts"]): void {
  if (!timeouts) return;
  const parsed: Record<string, number | undefined> = {};
  for (const field of ["request", "backendRequest"] as const) {
    const value = timeouts[field];
    if (value === undefined) continue;
    parsed[field] = parseGatewayDuration(value);
    if (parsed[field] === undefined) r.error([...at, field], "invalid-duration", gatewayPatternMessage("HTTPRoute", ["timeouts", field], value)!);
  }
  const { request, backendRequest } = parsed;
  // A request timeout of 0 means none, so any backendRequest timeout fits in it.
  if (request !== undefined && backendRequest !== undefined && request !== 0 && backendRequest > request) {
    r.error([...at, "backendRequest"], "invalid-timeout", `backendRequest timeout ${timeouts.backendRequest} is longer than the request timeout ${timeouts.request}, which includes it`);
  }
}
