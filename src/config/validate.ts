import { isIP } from "node:net";
import { Endpoints as EndpointsModel, Secret as SecretModel, Service as ServiceModel } from "kubernetes-models/v1";
import { EndpointSlice as EndpointSliceModel } from "kubernetes-models/discovery.k8s.io/v1";
import { Ingress as IngressModel, IngressClass as IngressClassModel } from "kubernetes-models/networking.k8s.io/v1";
import { Namespace as NamespaceModel } from "kubernetes-models/v1";
import { Gateway as GatewayModel, GatewayClass as GatewayClassModel, HTTPRoute as HTTPRouteModel } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1";
import {
  Gateway as GatewayV1beta1Model,
  GatewayClass as GatewayClassV1beta1Model,
  HTTPRoute as HTTPRouteV1beta1Model,
  ReferenceGrant as ReferenceGrantModel,
} from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1beta1";
import { fieldPath, type ConfigIssue, type SourceLocation } from "../model/issues.js";
import { regexPathProblem } from "../model/regexPath.js";
import { checkCertificatePair, secretField } from "./certificates.js";
import { checkServiceAnnotations } from "./annotations.js";
import { unknownFields } from "./knownFields.js";
import { allowedByNewerGatewayApi, checkGateway, checkGatewayClass, checkHTTPRoute, gatewayPatternMessage } from "./gatewayChecks.js";
import { BACKTRACKING_WARNING, mayBacktrackExponentially } from "./backtracking.js";
import { isRegexPath } from "./nginx/rewrite.js";
import { readNginxSettings } from "./nginx/settings.js";
import { rulesOfRawIngress } from "./ingressRules.js";
import { NODE_PORT_MAX, NODE_PORT_MIN } from "../model/nodePorts.js";
import type { ParsedDocument } from "./parse.js";
import type { KindMap, KindName, Loaded } from "./resources.js";

type Path = (string | number)[];

/** Collects the problems of one resource, each located in its file. */
class Reporter {
  readonly issues: ConfigIssue[] = [];
  constructor(
    private readonly doc: ParsedDocument,
    private readonly base: Path,
    public resource?: string,
  ) {}
  error(path: Path, code: string, message: string): void {
    this.add("error", path, code, message);
  }
  warn(path: Path, code: string, message: string): void {
    this.add("warning", path, code, message);
  }
  get failed(): boolean {
    return this.issues.some((i) => i.severity === "error");
  }
  private add(severity: "error" | "warning", path: Path, code: string, message: string): void {
    const full = [...this.base, ...path];
    const issue: ConfigIssue = { severity, code, message, ...this.doc.locate(full) };
    if (full.length > 0) issue.field = fieldPath(full);
    if (this.resource) issue.resource = this.resource;
    this.issues.push(issue);
  }
}

interface SchemaError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}
interface Model {
  validate(): void;
}

/** The v1beta1 schema judging a v1 ReferenceGrant: apart from apiVersion the two versions are the same. */
class ReferenceGrantV1Model implements Model {
  constructor(private readonly data: Record<string, unknown>) {}
  validate(): void {
    new ReferenceGrantModel({ ...this.data, apiVersion: "gateway.networking.k8s.io/v1beta1" } as never).validate();
  }
}

/** apiVersion/kind → the official schema's model, so what we accept an API server accepts. */
const KINDS: Record<string, { kind: KindName; model: new (data: never) => Model }> = {
  "v1/Service": { kind: "Service", model: ServiceModel as never },
  "v1/Endpoints": { kind: "Endpoints", model: EndpointsModel as never },
  "v1/Secret": { kind: "Secret", model: SecretModel as never },
  "discovery.k8s.io/v1/EndpointSlice": { kind: "EndpointSlice", model: EndpointSliceModel as never },
  "networking.k8s.io/v1/Ingress": { kind: "Ingress", model: IngressModel as never },
  "networking.k8s.io/v1/IngressClass": { kind: "IngressClass", model: IngressClassModel as never },
  "v1/Namespace": { kind: "Namespace", model: NamespaceModel as never },
  "gateway.networking.k8s.io/v1/GatewayClass": { kind: "GatewayClass", model: GatewayClassModel as never },
  "gateway.networking.k8s.io/v1/Gateway": { kind: "Gateway", model: GatewayModel as never },
  "gateway.networking.k8s.io/v1/HTTPRoute": { kind: "HTTPRoute", model: HTTPRouteModel as never },
  "gateway.networking.k8s.io/v1beta1/GatewayClass": { kind: "GatewayClass", model: GatewayClassV1beta1Model as never },
  "gateway.networking.k8s.io/v1beta1/Gateway": { kind: "Gateway", model: GatewayV1beta1Model as never },
  "gateway.networking.k8s.io/v1beta1/HTTPRoute": { kind: "HTTPRoute", model: HTTPRouteV1beta1Model as never },
  "gateway.networking.k8s.io/v1beta1/ReferenceGrant": { kind: "ReferenceGrant", model: ReferenceGrantModel as never },
  // Gateway API v1.5 serves ReferenceGrant as v1 with the v1beta1 spec unchanged; the schema package has only v1beta1.
  "gateway.networking.k8s.io/v1/ReferenceGrant": { kind: "ReferenceGrant", model: ReferenceGrantV1Model as never },
};

/** Where an Ingress of a removed beta API differs from networking.k8s.io/v1. */
const INGRESS_V1_CHANGES =
  "backend serviceName and servicePort become service.name and service.port.number (service.port.name for a named port), spec.backend becomes spec.defaultBackend, and every path needs a pathType (Prefix, Exact or ImplementationSpecific)";

/**
 * API versions Kubernetes has removed, of the kinds ingressd reads. A cluster no longer
 * accepts them, so neither does ingressd: an error, never an ignored document that
 * leaves its routes silently unserved.
 */
const REMOVED: Record<string, { kind: KindName; removedIn: string; use: string; changes: string }> = {
  "extensions/v1beta1/Ingress": { kind: "Ingress", removedIn: "1.22", use: "networking.k8s.io/v1", changes: INGRESS_V1_CHANGES },
  "networking.k8s.io/v1beta1/Ingress": { kind: "Ingress", removedIn: "1.22", use: "networking.k8s.io/v1", changes: INGRESS_V1_CHANGES },
  "networking.k8s.io/v1beta1/IngressClass": { kind: "IngressClass", removedIn: "1.22", use: "networking.k8s.io/v1", changes: "the spec is unchanged" },
  "discovery.k8s.io/v1beta1/EndpointSlice": {
    kind: "EndpointSlice",
    removedIn: "1.25",
    use: "discovery.k8s.io/v1",
    changes: 'endpoints[].topology["kubernetes.io/hostname"] becomes endpoints[].nodeName and topology["topology.kubernetes.io/zone"] becomes endpoints[].zone; the rest is unchanged',
  },
};

/** A resource of a kind ingressd reads that failed validation. */
export interface Rejected {
  kind: KindName;
  /** `Kind namespace/name`; undefined when metadata.name is missing. */
  id: string | undefined;
  docIndex: number;
  /** Its problems (also in `ValidationResult.issues`). */
  issues: ConfigIssue[];
}

export interface ValidationResult {
  resources: Loaded[];
  rejected: Rejected[];
  issues: ConfigIssue[];
}

/** Validates every document of a parsed file. One bad resource never rejects its neighbours. */
export function validateDocuments(docs: readonly ParsedDocument[]): ValidationResult {
  const out: ValidationResult = { resources: [], rejected: [], issues: [] };
  for (const doc of docs) validateValue(doc, doc.value, [], out);
  return out;
}

function validateValue(doc: ParsedDocument, value: unknown, base: Path, out: ValidationResult): void {
  const r = new Reporter(doc, base);
  if (!isObject(value)) {
    r.error([], "not-a-resource", "expected a Kubernetes resource (a mapping with apiVersion and kind)");
    out.issues.push(...r.issues);
    return;
  }
  const { apiVersion, kind } = value;
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    r.error(typeof apiVersion !== "string" ? ["apiVersion"] : ["kind"], "not-a-resource", "a resource needs string fields apiVersion and kind");
    out.issues.push(...r.issues);
    return;
  }
  // `kubectl get -o yaml` writes several resources as a v1 List.
  if (apiVersion === "v1" && kind === "List" && Array.isArray(value.items)) {
    value.items.forEach((item, i) => validateValue(doc, item, [...base, "items", i], out));
    return;
  }
  const known = KINDS[`${apiVersion}/${kind}`];
  const removed = REMOVED[`${apiVersion}/${kind}`];
  if (!known && !removed) {
    const hint = Object.values(KINDS).find((k) => k.kind === kind)
      ? `; ingressd reads ${kind} as apiVersion ${Object.keys(KINDS).find((k) => k.endsWith(`/${kind}`))!.replace(`/${kind}`, "")}`
      : "";
    r.warn(["kind"], "unknown-kind", `${kind} (${apiVersion}) is not used by ingressd and is ignored${hint}`);
    out.issues.push(...r.issues);
    return;
  }
  // The identity is known even when the rest is wrong, so a rejected version can leave
  // the last good version of the same resource serving.
  const metadata = isObject(value.metadata) ? value.metadata : {};
  const name = typeof metadata.name === "string" ? metadata.name : "";
  const namespace = typeof metadata.namespace === "string" && metadata.namespace !== "" ? metadata.namespace : "default";
  const kindName = (known ?? removed)!.kind;
  const id = `${kindName} ${namespace}/${name || "<unnamed>"}`;
  r.resource = id;
  if (!known) {
    r.error(["apiVersion"], "removed-api", `${kind} ${apiVersion} was removed in Kubernetes ${removed!.removedIn} and is not served: use apiVersion ${removed!.use}, where ${removed!.changes}`);
  } else {
    dropNullFields(value);
    // The API server accepts an EndpointSlice without endpoints (one with no addresses yet,
    // as Gateway API's conformance suite writes them) and decodes it as an empty list; the
    // OpenAPI schema, stricter than the server, calls the field required.
    if (known.kind === "EndpointSlice" && value.endpoints === undefined) value.endpoints = [];
    try {
      try {
        new known.model(value as never).validate();
      } catch (err) {
        const errors = (err as { errors?: SchemaError[] }).errors;
        if (!Array.isArray(errors)) throw err;
        for (const e of errors) reportSchemaError(r, e, value, known.kind);
      }
      checkMetadata(r, known.kind, metadata);
      checkKnownFields(r, known.kind, value, metadata);
      if (!r.failed) SEMANTIC[known.kind](r, value as never);
    } catch (err) {
      // A check that throws is ingressd's bug, never the input's fault: the resource is
      // rejected with an error where it starts, and every other resource still loads.
      r.error([], "internal-error", `ingressd could not check this ${kind} (${(err as Error).message}); it is not served — please report this with the resource`);
    }
  }

  if (kindName === "Ingress" && (!known || r.failed)) {
    // Every rule of it is dropped: the dashboard says where their requests go now.
    const dropped = rulesOfRawIngress(value);
    for (const issue of r.issues) if (issue.severity === "error" && dropped.length > 0) issue.dropped = dropped;
  }
  out.issues.push(...r.issues);
  if (!known || r.failed) {
    out.rejected.push({ kind: kindName, id: name !== "" ? id : undefined, docIndex: doc.index, issues: r.issues });
    return;
  }
  let source: SourceLocation | undefined;
  out.resources.push({
    kind: known.kind,
    object: value as unknown as KindMap[typeof known.kind],
    namespace,
    name,
    id,
    file: doc.file,
    get source() {
      return (source ??= doc.locate(base));
    },
    docIndex: doc.index,
    locate: (path) => doc.locate([...base, ...path]),
  });
}

/**
 * An explicit `null` (`host:` with nothing after it) is how YAML writes "absent", and the
 * API server decodes it so: optional fields fall back to their defaults and required ones
 * are reported missing. Dropped in place (the value was just parsed) before any check
 * reads a field, so no check meets a null where the types promise a string.
 */
function dropNullFields(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) dropNullFields(item);
  } else if (isObject(value)) {
    for (const key of Object.keys(value)) {
      if (value[key] === null) delete value[key];
      else dropNullFields(value[key]);
    }
  }
}

function reportSchemaError(r: Reporter, e: SchemaError, resource: Record<string, unknown>, kind: KindName): void {
  const path: Path = e.instancePath
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  const value = valueAt(resource, path);
  // The Gateway API schema package is v1.0.0: what v1.5 allows is left to the semantic checks.
  if (allowedByNewerGatewayApi(kind, e, path, value)) return;
  switch (e.keyword) {
    case "required":
      r.error([...path, String(e.params.missingProperty)], "schema", `required field ${String(e.params.missingProperty)} is missing`);
      return;
    case "pattern": {
      const message = gatewayPatternMessage(kind, path, value);
      r.error(path, "schema", message ?? e.message ?? "fails schema check pattern");
      return;
    }
    case "enum": {
      const allowed = (e.params.allowedValues as unknown[]).map(String);
      let message = `must be one of ${allowed.join(", ")}`;
      if (path.join(".") === "spec.sessionAffinity") {
        message = "spec.sessionAffinity must be None or ClientIP (ClusterIP is a Service type, not an affinity: did you mean ClientIP?)";
      }
      r.error(path, "schema", message);
      return;
    }
    case "type":
      r.error(path, "schema", `must be of type ${String(e.params.type)}`);
      return;
    default:
      r.error(path, "schema", e.message ?? `fails schema check ${e.keyword}`);
  }
}

function valueAt(value: unknown, path: Path): unknown {
  let at = value;
  for (const part of path) at = isObject(at) || Array.isArray(at) ? (at as Record<string | number, unknown>)[part] : undefined;
  return at;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

function checkMetadata(r: Reporter, kind: KindName, metadata: Record<string, unknown>): void {
  const name = metadata.name;
  if (typeof name !== "string" || name === "") {
    r.error(["metadata", "name"], "missing-name", "metadata.name is required");
    return;
  }
  // Service names become DNS labels, so Kubernetes holds them to the stricter RFC 1035 form.
  if (kind === "Service") {
    if (!DNS1035_LABEL.test(name) || name.length > 63) {
      r.error(["metadata", "name"], "invalid-name", `Service name "${name}" must be a DNS-1035 label: lowercase letters, digits and '-', starting with a letter, at most 63 characters`);
    }
  } else if (!DNS1123_SUBDOMAIN.test(name) || name.length > 253) {
    r.error(["metadata", "name"], "invalid-name", `name "${name}" must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.'`);
  }
  const ns = metadata.namespace;
  if (ns !== undefined && (typeof ns !== "string" || !DNS1123_LABEL.test(ns))) {
    r.error(["metadata", "namespace"], "invalid-namespace", `namespace "${String(ns)}" must be a DNS-1123 label`);
  }
}

/**
 * The fields of metadata (ObjectMeta) and of each kind's top level. These have been
 * stable for years, so any other key there is a mistake — most often a block indented
 * under the wrong parent (`spec` under `metadata`), which would otherwise leave a
 * valid but empty resource. An API server rejects unknown fields too.
 */
const METADATA_FIELDS = new Set([
  "name", "namespace", "labels", "annotations", "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
  "deletionGracePeriodSeconds", "generateName", "finalizers", "ownerReferences", "managedFields", "selfLink",
]);
const TOP_LEVEL_FIELDS: Record<KindName, readonly string[]> = {
  Service: ["spec", "status"],
  Endpoints: ["subsets"],
  EndpointSlice: ["addressType", "endpoints", "ports"],
  Ingress: ["spec", "status"],
  IngressClass: ["spec"],
  Secret: ["data", "stringData", "type", "immutable"],
  Namespace: ["spec", "status"],
  GatewayClass: ["spec", "status"],
  Gateway: ["spec", "status"],
  HTTPRoute: ["spec", "status"],
  ReferenceGrant: ["spec"],
};

function checkKnownFields(r: Reporter, kind: KindName, value: Record<string, unknown>, metadata: Record<string, unknown>): void {
  const unknown = (path: Path, parent: string): void =>
    r.error(path, "unknown-field", `${parent} has no field ${String(path.at(-1))}: is it indented under the wrong parent, or misspelled?`);
  for (const key of Object.keys(value)) {
    if (key !== "apiVersion" && key !== "kind" && key !== "metadata" && !TOP_LEVEL_FIELDS[kind].includes(key)) unknown([key], kind);
  }
  for (const key of Object.keys(metadata)) if (!METADATA_FIELDS.has(key)) unknown(["metadata", key], "metadata");
  // Deeper, as kubectl's strict field validation: a misspelled field is dropped, so say so.
  for (const { path, nearest } of unknownFields(kind, value)) {
    r.warn(path, "unknown-field", `unknown field ${fieldPath(path)}${nearest ? ` (did you mean ${nearest}?)` : ""}: it is ignored`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function validPort(n: unknown): boolean {
  return typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 65535;
}

/** IANA service name: what a named targetPort or container port may be called. */
export function isPortName(s: string): boolean {
  return s.length >= 1 && s.length <= 15 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s) && /[a-z]/.test(s) && !s.includes("--");
}

const SEMANTIC: { [K in KindName]: (r: Reporter, obj: KindMap[K]) => void } = {
  Service(r, svc) {
    const spec = svc.spec ?? {};
    const type = spec.type ?? "ClusterIP";
    for (const p of checkServiceAnnotations(svc.metadata?.annotations)) {
      r.error(["metadata", "annotations", p.annotation], "invalid-annotation", p.message);
    }
    const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
    if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < 1 || timeout > 86400)) {
      r.error(["spec", "sessionAffinityConfig", "clientIP", "timeoutSeconds"], "invalid-affinity-timeout", `timeoutSeconds must be a whole number from 1 to 86400, not ${timeout}`);
    }
    if (type === "NodePort" || type === "LoadBalancer") {
      (spec.ports ?? []).forEach((p, i) => {
        if (p.nodePort !== undefined && (!Number.isInteger(p.nodePort) || p.nodePort < NODE_PORT_MIN || p.nodePort > NODE_PORT_MAX)) {
          r.error(["spec", "ports", i, "nodePort"], "invalid-node-port", `nodePort ${p.nodePort} is outside the NodePort range ${NODE_PORT_MIN}-${NODE_PORT_MAX}`);
        }
      });
    } else {
      (spec.ports ?? []).forEach((p, i) => {
        if (p.nodePort !== undefined) r.warn(["spec", "ports", i, "nodePort"], "ignored-node-port", `nodePort is only used by Services of type NodePort or LoadBalancer (this one is ${type})`);
      });
    }
    if (spec.loadBalancerIP !== undefined && isIP(spec.loadBalancerIP) === 0) {
      r.error(["spec", "loadBalancerIP"], "invalid-ip", `loadBalancerIP "${spec.loadBalancerIP}" is not an IP address`);
    }
    if (!["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"].includes(type)) {
      r.error(["spec", "type"], "invalid-service-type", `spec.type must be ClusterIP, NodePort, LoadBalancer or ExternalName, not "${type}"`);
    }
    if (type === "ExternalName" && !spec.externalName) {
      r.error(["spec", "externalName"], "missing-external-name", "a Service of type ExternalName needs spec.externalName (a DNS name such as localhost)");
    }
    const ports = spec.ports ?? [];
    if (ports.length === 0 && type !== "ExternalName") {
      r.error(["spec", "ports"], "missing-ports", "a Service needs at least one entry in spec.ports");
    }
    const names = new Set<string>();
    const numbers = new Set<number>();
    ports.forEach((p, i) => {
      const at: Path = ["spec", "ports", i];
      if (!validPort(p.port)) r.error([...at, "port"], "invalid-port", `port ${String(p.port)} is out of range 1-65535`);
      else if (numbers.has(p.port)) r.error([...at, "port"], "duplicate-port", `port ${p.port} is listed twice; each Service port needs its own number`);
      numbers.add(p.port);
      if (ports.length > 1 && !p.name) r.error([...at, "name"], "missing-port-name", "every port needs a name when a Service has several ports");
      if (p.name !== undefined) {
        if (!DNS1123_LABEL.test(p.name) || p.name.length > 63) r.error([...at, "name"], "invalid-port-name", `port name "${p.name}" must be a DNS-1123 label (lowercase letters, digits, '-'; at most 63 characters)`);
        if (names.has(p.name)) r.error([...at, "name"], "duplicate-port-name", `port name "${p.name}" is used twice`);
        names.add(p.name);
      }
      const protocol = p.protocol ?? "TCP";
      if (protocol !== "TCP") r.error([...at, "protocol"], "unsupported-protocol", `protocol ${protocol} is not supported by ingressd: only TCP`);
      const target = p.targetPort;
      if (typeof target === "number" && !validPort(target)) {
        r.error([...at, "targetPort"], "invalid-port", `targetPort ${target} is out of range 1-65535`);
      } else if (typeof target === "string" && !/^\d+$/.test(target) && !isPortName(target)) {
        r.error([...at, "targetPort"], "invalid-port-name", `targetPort "${target}" is neither a port number nor a valid port name (IANA service name: 1-15 lowercase letters, digits, '-')`);
      }
    });
  },

  Endpoints(r, ep) {
    (ep.subsets ?? []).forEach((subset, s) => {
      const addrs = [...(subset.addresses ?? []).map((a, i) => ({ a, at: ["subsets", s, "addresses", i] as Path })),
        ...(subset.notReadyAddresses ?? []).map((a, i) => ({ a, at: ["subsets", s, "notReadyAddresses", i] as Path }))];
      for (const { a, at } of addrs) {
        if (isIP(a.ip) === 0) {
          r.error([...at, "ip"], "invalid-ip", `"${a.ip}" is not an IP address (for a DNS name such as localhost, use a Service of type ExternalName)`);
        }
      }
      (subset.ports ?? []).forEach((p, i) => {
        if (!validPort(p.port)) r.error(["subsets", s, "ports", i, "port"], "invalid-port", `port ${String(p.port)} is out of range 1-65535`);
      });
    });
  },

  EndpointSlice(r, slice) {
    if (!slice.metadata?.labels?.["kubernetes.io/service-name"]) {
      r.error(["metadata", "labels"], "missing-service-name", "an EndpointSlice needs the label kubernetes.io/service-name naming its Service");
    }
    slice.endpoints.forEach((e, i) => {
      e.addresses.forEach((a, j) => {
        if (slice.addressType !== "FQDN" && isIP(a) === 0) {
          r.error(["endpoints", i, "addresses", j], "invalid-ip", `"${a}" is not an IP address (addressType is ${slice.addressType})`);
        }
      });
    });
    (slice.ports ?? []).forEach((p, i) => {
      if (p.port !== undefined && !validPort(p.port)) r.error(["ports", i, "port"], "invalid-port", `port ${String(p.port)} is out of range 1-65535`);
    });
  },

  Ingress(r, ing) {
    const spec = ing.spec ?? {};
    const { settings, problems } = readNginxSettings(ing.metadata?.annotations);
    for (const p of problems) {
      const at: Path = ["metadata", "annotations", p.annotation];
      if (p.severity === "error") r.error(at, p.code, p.message);
      else r.warn(at, p.code, p.message);
    }
    if (spec.defaultBackend) checkBackend(r, ["spec", "defaultBackend"], spec.defaultBackend);
    (spec.rules ?? []).forEach((rule, i) => {
      if (rule.host !== undefined) checkHost(r, ["spec", "rules", i, "host"], rule.host);
      (rule.http?.paths ?? []).forEach((p, j) => {
        const at: Path = ["spec", "rules", i, "http", "paths", j];
        if (p.path === undefined || p.path === "") {
          if (p.pathType !== "ImplementationSpecific") r.error([...at, "path"], "missing-path", `path is required for pathType ${p.pathType}`);
        } else if (!p.path.startsWith("/")) {
          r.error([...at, "path"], "invalid-path", `path "${p.path}" must start with "/"`);
        } else if (isRegexPath(settings, p.path)) {
          const problem = regexPathProblem(p.path);
          if (problem !== undefined) r.error([...at, "path"], "invalid-regex-path", `path "${p.path}" is not a valid regular expression (${problem}); use-regex or rewrite-target makes it one`);
          else if (mayBacktrackExponentially(p.path)) r.warn([...at, "path"], "slow-regex-path", `path "${p.path}" ${BACKTRACKING_WARNING}`);
        }
        checkBackend(r, [...at, "backend"], p.backend);
      });
    });
    (spec.tls ?? []).forEach((tls, i) => {
      (tls.hosts ?? []).forEach((h, j) => checkHost(r, ["spec", "tls", i, "hosts", j], h));
    });
  },

  IngressClass() {},
  Namespace() {},
  GatewayClass: checkGatewayClass,
  Gateway: checkGateway,
  HTTPRoute: checkHTTPRoute,
  ReferenceGrant() {},

  Secret(r, secret) {
    if (secret.type !== "kubernetes.io/tls") return;
    const where = (name: string): Path => (secret.stringData?.[name] !== undefined ? ["stringData", name] : ["data", name]);
    const crt = secretField(secret, "tls.crt");
    const key = secretField(secret, "tls.key");
    if (crt === undefined || key === undefined) {
      r.error(crt === undefined ? ["data", "tls.crt"] : ["data", "tls.key"], "missing-tls-data", "a kubernetes.io/tls Secret needs data (base64) or stringData entries tls.crt and tls.key");
      return;
    }
    const check = checkCertificatePair(crt, key);
    if (!check.ok) {
      r.error(where(check.field), "invalid-certificate", check.message);
      return;
    }
    for (const w of check.warnings) r.warn(where("tls.crt"), "expired-certificate", w);
  },
};

function checkHost(r: Reporter, at: Path, host: string): void {
  const bare = host.startsWith("*.") ? host.slice(2) : host;
  if (isIP(host) !== 0) {
    r.error(at, "invalid-host", `host "${host}" is an IP address; Ingress hosts must be DNS names (leave host out to match every host)`);
  } else if (bare.includes("*")) {
    r.error(at, "invalid-host", `host "${host}": a wildcard must be the whole first label, as in *.example.com`);
  } else if (!DNS1123_SUBDOMAIN.test(bare) || host.length > 253) {
    r.error(at, "invalid-host", `host "${host}" must be a lowercase DNS name (letters, digits, '-', '.'), without port or scheme`);
  }
}

function checkBackend(r: Reporter, at: Path, backend: NonNullable<KindMap["Ingress"]["spec"]>["defaultBackend"]): void {
  if (!backend) return;
  if (backend.resource) {
    r.error([...at, "resource"], "unsupported-backend", "backend.resource is not supported by ingressd: name a Service with backend.service");
    return;
  }
  if (!backend.service) {
    r.error([...at, "service"], "missing-backend", "backend.service is required");
    return;
  }
  const port = backend.service.port;
  const hasNumber = port?.number !== undefined;
  const hasName = port?.name !== undefined && port.name !== "";
  if (hasNumber === hasName) {
    r.error([...at, "service", "port"], "invalid-backend-port", "backend.service.port needs exactly one of number or name");
  } else if (hasNumber && !validPort(port!.number)) {
    r.error([...at, "service", "port", "number"], "invalid-port", `port ${String(port!.number)} is out of range 1-65535`);
  }
}
