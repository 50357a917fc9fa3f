/**
 * Support code of test/gatewayConformance.test.ts: replays the Gateway API HTTPRoute
 * conformance scenarios ported as data in test/conformance/gateway/ (README there) against
 * ingressd on loopback. One `CaseRun` per case file: echo upstreams standing in for
 * upstream's echo-basic, and one ingressd per Gateway the case talks to (a cluster gives
 * each Gateway its own address; ingressd has one, so each run serves a single Gateway).
 */
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect as h2Connect, createServer as createH2cServer, type Http2ServerRequest, type Http2ServerResponse, type Http2Server } from "node:http2";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import type { PeerCertificate } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WebSocket, WebSocketServer } from "ws";
import { parseAllDocuments, type Document } from "yaml";
import type { GatewayApiStatus } from "../src/translate/gateway/conditions.js";
import { freePort, nextReload, rulesDir, startProxy, type RulesDir } from "./helpers.js";
import { createTestCa, secretYaml, type TestCa } from "./tlsHelpers.js";

export const CONFORMANCE_DIR = join(import.meta.dirname, "conformance", "gateway");

// ---- the data (README "ConformanceCase format") ----

export interface CaseRequest {
  testCaseName?: string;
  gateway?: string;
  request: { host: string; method: string; path: string; headers?: Record<string, string>; unfollowRedirect?: boolean; protocol?: string };
  response: { status?: number; statuses?: number[]; protocol?: string };
  backend?: string;
  namespace?: string;
  expectedRequest?: { path?: string; host?: string; method?: string; headers?: Record<string, string>; absentHeaders?: string[]; httpPort?: string };
  redirect?: { scheme?: string; host?: string; port?: string; path?: string };
  responseHeaders?: Record<string, string>;
  responseHeaderValidValues?: Record<string, string[]>;
  absentResponseHeaders?: string[];
  backendSetResponseHeaders?: Record<string, string>;
  mirroredTo?: { backend: string; namespace: string; percent?: number }[];
  tls?: { serverName: string; caSecret: string };
  before?: { delete: { kind: string; name: string } };
}

export interface CaseCondition {
  kind: "HTTPRoute" | "Gateway" | "GatewayListener";
  name: string;
  parent?: string;
  type?: string;
  status?: string;
  reason?: string;
  noAcceptedParents?: boolean;
  attachedRoutes?: number;
  exactParents?: { parentRef: { namespace: string; name: string; sectionName?: string; port?: number }; conditions: { type: string; status: string; reason?: string }[] }[];
  listener?: string;
  supportedKinds?: string[];
  listenerConditions?: { type: string; status: string; reason?: string }[];
  latestConditions?: boolean;
  afterMutation?: boolean;
}

export interface WeightedDistribution {
  request: CaseRequest["request"];
  namespace: string;
  expectedWeights: Record<string, number>;
  totalRequests: number;
  concurrency: number;
  tolerance: number;
  maxAttempts: number;
}

/** The WebSocket exchange of HTTPRouteBackendProtocolWebSocket. */
export interface WebSocketCase {
  exchanges: { send: { text?: string; binary?: number[] }; expectReply: { text?: string; binary?: number[] } }[];
}

export interface ConformanceCase {
  file: string;
  name: string;
  features: string[];
  gateway: string | string[];
  routes: string[];
  conditions?: CaseCondition[];
  requests: CaseRequest[];
  weightedDistribution?: WeightedDistribution;
  websocket?: WebSocketCase;
  /** The case file's documents before the ConformanceCase one: what ingressd is given. */
  manifests: Document[];
}

type Obj = Record<string, unknown>;
const keyOf = (d: Obj): string => {
  const m = (d.metadata ?? {}) as Obj;
  return `${String(m.namespace ?? "default")}/${String(m.name)}`;
};

function documents(text: string): Document[] {
  return [...(parseAllDocuments(text) as Iterable<Document>)].filter((d) => d.contents !== null);
}

export async function loadCases(): Promise<ConformanceCase[]> {
  const files = (await readdir(CONFORMANCE_DIR)).filter((f) => f.endsWith(".yaml") && f !== "base.yaml").sort();
  return Promise.all(
    files.map(async (file) => {
      const docs = documents(await readFile(join(CONFORMANCE_DIR, file), "utf8"));
      const last = docs.at(-1)!.toJS() as Omit<ConformanceCase, "file" | "manifests">;
      return { ...last, file, manifests: docs.slice(0, -1) };
    }),
  );
}

export async function loadBase(): Promise<Document[]> {
  return documents(await readFile(join(CONFORMANCE_DIR, "base.yaml"), "utf8"));
}

export const gatewaysOf = (c: ConformanceCase): string[] => (Array.isArray(c.gateway) ? c.gateway : [c.gateway]);

/** The Gateway a request goes to: its own, or the case's only one. */
export const gatewayOfRequest = (c: ConformanceCase, r: CaseRequest): string => r.gateway ?? gatewaysOf(c)[0]!;

// ---- echo upstreams (upstream's echo-basic) ----

/** Lower-case name → values in order (several lines of a name kept apart, as Go's http.Header). */
function collectRaw(raw: string[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    const list = m.get(k) ?? [];
    list.push(raw[i + 1]!);
    m.set(k, list);
  }
  return m;
}


/** What an echo upstream received and answered: the facts upstream's echo-basic reports. */
export interface Echoed {
  path: string;
  host: string;
  method: string;
  proto: string;
  headers: Record<string, string[]>;
  namespace: string;
  pod: string;
  httpPort: string;
}

/** The echo upstreams of one case: one per backend app (a Service's `app` selector, else its name). */
export class EchoFleet extends EventEmitter {
  private readonly servers: (Server | Http2Server)[] = [];
  /** app key `namespace/app` → port of its HTTP/1.1 echo and of its h2c echo. */
  readonly ports = new Map<string, { http: number; h2c: number }>();
  readonly received: Echoed[] = [];

  async start(namespace: string, app: string): Promise<{ http: number; h2c: number }> {
    const key = `${namespace}/${app}`;
    const known = this.ports.get(key);
    if (known) return known;
    const pod = `${app}-echo`;
    const handler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void => this.answer(namespace, pod, req, res);
    const http = await listen(createServer(handler));
    // echo-basic echoes WebSocket messages too (the kubernetes.io/ws port shares the HTTP target port).
    const sockets = new WebSocketServer({ noServer: true });
    http.server.on("upgrade", (req, socket, head) => sockets.handleUpgrade(req, socket, head, (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }))));
    const h2c = await listen(createH2cServer(handler));
    this.servers.push(http.server, h2c.server);
    const ports = { http: http.port, h2c: h2c.port };
    this.ports.set(key, ports);
    return ports;
  }

  private answer(namespace: string, pod: string, req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void {
    req.resume();
    req.on("end", () => {
      const headers: Record<string, string[]> = {};
      for (const [name, values] of collectRaw(req.rawHeaders)) if (!name.startsWith(":")) headers[name] = values;
      const url = new URL(req.url ?? "/", "http://echo");
      const echoed: Echoed = {
        path: req.url ?? "",
        host: String(req.headers.host ?? req.headers[":authority"] ?? ""),
        method: req.method ?? "",
        proto: `HTTP/${req.httpVersion}`,
        headers,
        namespace,
        pod,
        httpPort: String(req.socket?.localPort),
      };
      this.received.push(echoed);
      this.emit("received", echoed);
      const out: Record<string, string[]> = { "content-type": ["application/json"] };
      // echo-basic: each `X-Echo-Set-Header: Name: value` becomes a response header.
      for (const line of headers["x-echo-set-header"] ?? [])
        for (const item of line.split(/,\s*(?=[^,:]+:)/)) {
          const i = item.indexOf(":");
          if (i > 0) (out[item.slice(0, i).trim().toLowerCase()] ??= []).push(item.slice(i + 1).trim());
        }
      // echo-basic: `?delay=<duration>` answers that late (the timeout cases).
      const delay = durationMs(url.searchParams.get("delay"));
      setTimeout(() => {
        if (res.destroyed) return;
        (res as ServerResponse).writeHead(200, out);
        res.end(JSON.stringify(echoed));
      }, delay);
    });
  }

  /** Resolves once an echo upstream of `pod` prefix received `path`, or rejects after `ms`. */
  waitFor(backend: string, namespace: string, path: string, ms: number): Promise<Echoed> {
    const hit = (e: Echoed): boolean => e.pod.startsWith(backend) && e.namespace === namespace && e.path === path;
    const seen = this.received.find(hit);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const on = (e: Echoed): void => {
        if (!hit(e)) return;
        clearTimeout(timer);
        this.off("received", on);
        resolve(e);
      };
      const timer = setTimeout(() => {
        this.off("received", on);
        reject(new Error(`${namespace}/${backend} did not receive ${path} within ${ms} ms`));
      }, ms);
      this.on("received", on);
    });
  }

  async close(): Promise<void> {
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            if ("closeAllConnections" in s) s.closeAllConnections();
            s.close(() => resolve());
          }),
      ),
    );
  }
}

function durationMs(v: string | null): number {
  if (!v) return 0;
  const m = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(v);
  return m ? Number(m[1]) * (m[2] === "s" ? 1000 : 1) : 0;
}

async function listen<S extends Server | Http2Server>(server: S): Promise<{ server: S; port: number }> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

// ---- the folder ingressd reads ----

/** No GatewayClass of this name exists: a Gateway given it is nobody's, so another run's Gateways stay out of this one. */
export const UNSERVED_CLASS = "served-by-another-run";

/**
 * Endpoints for every Service of the folder, pointing each port at its app's echo upstream (the
 * h2c echo for `appProtocol: kubernetes.io/h2c`), matched by port name as kube-proxy does; the
 * case's EndpointSlices (no endpoints upstream until the Go test patches in infra-backend-v1's
 * Pods) get infra-backend-v1's echo the same way.
 */
async function endpointsFor(docs: Document[], fleet: EchoFleet): Promise<string[]> {
  const out: string[] = [];
  const sliced = new Set<string>();
  for (const d of docs) {
    const o = d.toJS() as Obj;
    if (o.kind !== "EndpointSlice") continue;
    const ns = keyOf(o).split("/")[0]!;
    const labels = ((o.metadata as Obj).labels ?? {}) as Obj;
    sliced.add(`${ns}/${String(labels["kubernetes.io/service-name"])}`);
    const ports = await fleet.start("gateway-conformance-infra", "infra-backend-v1");
    if (o.addressType === "IPv4") d.set("endpoints", [{ addresses: ["127.0.0.1"], conditions: { ready: true } }]);
    d.set("ports", ((o.ports ?? []) as Obj[]).map((p) => ({ ...p, port: ports.http })));
  }
  for (const d of docs) {
    const o = d.toJS() as Obj;
    if (o.kind !== "Service" || sliced.has(keyOf(o))) continue;
    const [ns, name] = keyOf(o).split("/") as [string, string];
    const spec = (o.spec ?? {}) as Obj;
    const app = String(((spec.selector ?? {}) as Obj).app ?? name);
    const echo = await fleet.start(ns, app);
    const ports = ((spec.ports ?? []) as Obj[]).map((p) => ({
      ...(p.name !== undefined ? { name: p.name } : {}),
      port: p.appProtocol === "kubernetes.io/h2c" ? echo.h2c : echo.http,
      ...(p.appProtocol !== undefined ? { appProtocol: p.appProtocol } : {}),
    }));
    out.push(JSON.stringify({ apiVersion: "v1", kind: "Endpoints", metadata: { name, namespace: ns }, subsets: [{ addresses: [{ ip: "127.0.0.1" }], ports }] }));
  }
  return out;
}

/** The Secret every HTTPS listener of the base refers to (README "Secrets / CA"). */
export interface ListenerCertificate {
  ca: TestCa;
  secret: string;
}

export async function listenerCertificate(): Promise<ListenerCertificate> {
  // A test CA issues it (upstream's is self-signed): the client trusts that CA instead of the leaf.
  const ca = await createTestCa("gateway conformance CA");
  const pem = await ca.issue(["*", "*.org", "*.wildcard.org"]);
  return { ca, secret: secretYaml("tls-validity-checks-certificate", pem, { namespace: "gateway-conformance-infra" }) };
}

/** One ingressd serving one Gateway of a case. */
export interface GatewayRun {
  gateway: string;
  rules: RulesDir;
  proxy: Awaited<ReturnType<typeof startProxy>>;
  dataDir: string;
  httpsPort: number | undefined;
  /**
   * Listener ports other than 80 and 443 (8080, 8090…) → the free port the run gives them:
   * a fixed port on a shared machine may be taken, so each is moved (in the Gateway and in
   * the routes' parentRefs) and mapped back in what is compared.
   */
  ports: ReadonlyMap<number, number>;
  /** The case's manifests as written (documents removed by `before.delete` are gone). */
  caseDocs: Document[];
  status(): GatewayApiStatus;
  deleteObject(kind: string, name: string): Promise<void>;
  close(): Promise<void>;
}

function docsFor(gateway: string, docs: Document[]): Document[] {
  return docs.map((d) => {
    const copy = d.clone();
    const o = copy.toJS() as Obj;
    if (o.kind === "Gateway" && keyOf(o) !== gateway) copy.setIn(["spec", "gatewayClassName"], UNSERVED_CLASS);
    return copy;
  });
}

const yamlOf = (docs: (Document | string)[]): string => docs.map((d) => String(d)).join("\n---\n");

/** Moves the served Gateway's listeners on ports other than 80 and 443 to free ports, and the parentRefs naming them; returns the moves. */
async function movePorts(gateway: string, docs: Document[]): Promise<Map<number, number>> {
  const moves = new Map<number, number>();
  for (const d of docs) {
    const o = d.toJS() as Obj;
    if (o.kind !== "Gateway" || keyOf(o) !== gateway) continue;
    const listeners = (o.spec as { listeners: { port: number }[] }).listeners;
    for (const [i, l] of listeners.entries()) {
      if (l.port === 80 || l.port === 443) continue;
      if (!moves.has(l.port)) moves.set(l.port, await freePort());
      d.setIn(["spec", "listeners", i, "port"], moves.get(l.port));
    }
  }
  for (const d of docs) {
    const o = d.toJS() as Obj;
    if (o.kind !== "HTTPRoute") continue;
    const refs = (o.spec as { parentRefs?: { port?: number }[] }).parentRefs ?? [];
    refs.forEach((r, i) => {
      if (r.port !== undefined && moves.has(r.port)) d.setIn(["spec", "parentRefs", i, "port"], moves.get(r.port));
    });
  }
  return moves;
}

export async function startGatewayRun(gateway: string, base: Document[], manifests: Document[], fleet: EchoFleet, cert: ListenerCertificate): Promise<GatewayRun> {
  const rules = await rulesDir();
  const dataDir = await mkdtemp(join(tmpdir(), "ingressd-gwconf-data-"));
  const caseDocs = docsFor(gateway, manifests);
  const baseDocs = docsFor(gateway, base);
  const ports = await movePorts(gateway, [...baseDocs, ...caseDocs]);
  const endpoints = await endpointsFor([...baseDocs, ...caseDocs], fleet);
  await rules.write("base.yaml", yamlOf(baseDocs));
  await rules.write("case.yaml", yamlOf(caseDocs));
  await rules.write("endpoints.yaml", yamlOf(endpoints));
  await rules.write("secret.yaml", cert.secret);
  const proxy = await startProxy([rules.dir], { httpsPort: 0, dataDir });
  const hasHttps = baseDocs.concat(caseDocs).some((d) => {
    const o = d.toJS() as Obj;
    return o.kind === "Gateway" && keyOf(o) === gateway && JSON.stringify(o).includes('"protocol":"HTTPS"');
  });
  const httpsPort = hasHttps ? await proxy.httpsReady() : undefined;
  // The moved ports open after the first load (as L4 listeners): wait until each listens.
  const deadline = Date.now() + 10_000;
  while ([...ports.values()].some((p) => proxy.gatewayPorts.status().find((s) => s.port === p)?.state !== "listening")) {
    if (Date.now() > deadline) throw new Error(`${gateway}: Gateway listener ports ${[...ports.values()].join(", ")} did not open`);
    await new Promise((res) => setTimeout(res, 20));
  }
  return {
    gateway,
    rules,
    proxy,
    dataDir,
    httpsPort,
    ports,
    caseDocs,
    status: () => proxy.runtime.current.gatewayApi,
    async deleteObject(kind, name) {
      const i = caseDocs.findIndex((d) => {
        const o = d.toJS() as Obj;
        return o.kind === kind && keyOf(o) === name;
      });
      if (i < 0) throw new Error(`${kind} ${name} is not in the case`);
      caseDocs.splice(i, 1);
      const reloaded = nextReload(proxy);
      await rules.write("case.yaml", yamlOf(caseDocs));
      await reloaded;
    },
    async close() {
      await proxy.close();
      await rules.cleanup();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

// ---- requests ----

export interface Reply {
  status: number;
  protocol: string;
  /** Lower-case name → values in order (several lines of a name kept apart). */
  headers: Map<string, string[]>;
  body: string;
  /** The echo upstream's account of the request, when an echo upstream answered. */
  echoed?: Echoed;
}


/**
 * Where a plain-HTTP request goes: the listener port its Host names (`foo.com:8080`, as
 * the Go test sends it to the gateway address on that port), else the Gateway's port 80
 * (ingressd's HTTP port), or its only other port when it has no port 80 listener.
 */
function listenerPort(run: GatewayRun, host: string): number {
  const named = /:(\d+)$/.exec(host)?.[1];
  if (named !== undefined && run.ports.has(Number(named))) return run.ports.get(Number(named))!;
  const status = run.status().gateways.find((g) => g.name === run.gateway);
  const onlyOther = status && !status.listeners.some((l) => l.port === 80) && run.ports.size === 1 ? [...run.ports.values()][0] : undefined;
  return onlyOther ?? run.proxy.httpPort;
}

function parseEcho(body: string): Echoed | undefined {
  try {
    const e = JSON.parse(body) as Echoed;
    return typeof e.pod === "string" && typeof e.namespace === "string" ? e : undefined;
  } catch {
    return undefined;
  }
}

/** Sends one case request to a run (HTTP/1.1, HTTPS with SNI, h2 over TLS or h2c prior knowledge). */
export function send(run: GatewayRun, r: CaseRequest, ca: string, path: string, extraHeaders: Record<string, string> = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...r.request.headers, ...extraHeaders };
  const port = r.tls ? run.httpsPort : listenerPort(run, r.request.host);
  if (port === undefined) throw new Error(`${run.gateway} has no HTTPS port`);
  const protocol = r.request.protocol;
  if (protocol === "H2" || protocol === "H2C_PRIOR_KNOWLEDGE") {
    return new Promise((resolve, reject) => {
      const origin = protocol === "H2" ? `https://127.0.0.1:${port}` : `http://127.0.0.1:${port}`;
      const session = h2Connect(origin, r.tls ? { servername: r.tls.serverName, ca, checkServerIdentity: goServerIdentity } : {});
      session.on("error", reject);
      const req = session.request({ ":method": r.request.method, ":path": path, ":authority": r.request.host || `127.0.0.1:${port}`, ...lower(headers) });
      const chunks: Buffer[] = [];
      let status = 0;
      const got = new Map<string, string[]>();
      req.on("response", (h) => {
        status = Number(h[":status"]);
        for (const [k, v] of Object.entries(h)) if (!k.startsWith(":") && v !== undefined) got.set(k, Array.isArray(v) ? v : [String(v)]);
      });
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        session.close();
        const body = Buffer.concat(chunks).toString();
        resolve({ status, protocol: "HTTP/2.0", headers: got, body, echoed: parseEcho(body) });
      });
      req.on("error", reject);
      req.end();
    });
  }
  return new Promise((resolve, reject) => {
    const options = { host: "127.0.0.1", port, path, method: r.request.method, headers: { ...(r.request.host ? { host: r.request.host } : {}), ...headers }, agent: false as const };
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, protocol: `HTTP/${res.httpVersion}`, headers: collectRaw(res.rawHeaders), body, echoed: parseEcho(body) });
      });
      res.on("error", reject);
    };
    const req = r.tls ? httpsRequest({ ...options, servername: r.tls.serverName, ca, checkServerIdentity: goServerIdentity }, onResponse) : httpRequest(options, onResponse);
    req.on("error", reject);
    req.end();
  });
}

/**
 * Go's certificate name check (crypto/x509 VerifyHostname), which upstream's client runs: a
 * `*` label matches one whole leftmost label, so `*.org` covers example.org (Node refuses
 * wildcards of fewer than three labels). The chain is still verified against the CA.
 */
function goServerIdentity(host: string, cert: PeerCertificate): Error | undefined {
  const names = (cert.subjectaltname ?? "").split(", ").flatMap((s) => (s.startsWith("DNS:") ? [s.slice(4).toLowerCase()] : []));
  const labels = host.toLowerCase().split(".");
  const ok = names.some((n) => {
    const p = n.split(".");
    return p.length === labels.length && p.every((x, i) => x === labels[i] || (i === 0 && x === "*"));
  });
  return ok ? undefined : new Error(`${host} is not among the certificate's names (${names.join(", ")})`);
}

const lower = (h: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));

// ---- comparison (upstream conformance/utils/http/http.go CompareRoundTrip) ----

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** What differs between a reply and the case's expectation; empty when it matches. */
export function compare(run: GatewayRun, r: CaseRequest, path: string, reply: Reply, expectedPath: string | undefined): string[] {
  const problems: string[] = [];
  const statuses = r.response.statuses ?? [r.response.status ?? 200];
  if (!statuses.includes(reply.status)) return [`status ${reply.status}, expected ${statuses.join(" or ")} (body ${reply.body.slice(0, 200)})`];
  if (r.response.protocol && r.response.protocol !== reply.protocol) problems.push(`protocol ${reply.protocol}, expected ${r.response.protocol}`);
  if (reply.status === 200 || reply.status === 204) {
    const e = reply.echoed;
    if (r.namespace !== undefined && (e?.namespace ?? "") !== r.namespace) problems.push(`answered by namespace "${e?.namespace ?? ""}", expected "${r.namespace}"`);
    if (r.backend !== undefined && !(e?.pod ?? "").startsWith(r.backend)) problems.push(`answered by ${e?.pod ?? "no echo upstream"}, expected ${r.backend}`);
    const x = r.expectedRequest;
    const want = { path: expectedPath ?? path, method: x ? (x.method ?? "GET") : r.request.method, host: x ? x.host : r.request.host, headers: x ? x.headers : r.request.headers };
    if (e) {
      if (want.host && e.host !== want.host) problems.push(`upstream saw host ${e.host}, expected ${want.host}`);
      if (e.path !== want.path) problems.push(`upstream saw path ${e.path}, expected ${want.path}`);
      if (e.method !== want.method) problems.push(`upstream saw method ${e.method}, expected ${want.method}`);
      for (const [name, value] of Object.entries(want.headers ?? {})) {
        const got = e.headers[name.toLowerCase()];
        if (got === undefined) problems.push(`upstream did not get header ${name}`);
        else if (got.join(",") !== value) problems.push(`upstream got ${name}: ${got.join(",")}, expected ${value}`);
      }
      for (const name of x?.absentHeaders ?? []) if (e.headers[name.toLowerCase()]) problems.push(`upstream got header ${name}, expected none`);
      if (x?.httpPort && e.httpPort !== x.httpPort) problems.push(`upstream reached on port ${e.httpPort}, expected ${x.httpPort}`);
    } else if (r.backend || (x && r.namespace !== "")) problems.push("no echo upstream answered");
    for (const [name, value] of Object.entries(r.responseHeaders ?? {})) {
      const got = reply.headers.get(name.toLowerCase());
      if (!got) problems.push(`no response header ${name}`);
      else if (got.join(",") !== value) problems.push(`response header ${name}: ${got.join(",")}, expected ${value}`);
    }
    for (const [name, values] of Object.entries(r.responseHeaderValidValues ?? {})) {
      const got = reply.headers.get(name.toLowerCase());
      if (!got || !values.includes(got.join(","))) problems.push(`response header ${name}: ${got?.join(",")}, expected one of ${values.join(" | ")}`);
    }
    for (const name of r.absentResponseHeaders ?? []) if (reply.headers.has(name.toLowerCase())) problems.push(`response header ${name} present, expected absent`);
  } else if (REDIRECTS.has(reply.status) && r.redirect) {
    const location = reply.headers.get("location")?.[0];
    if (!location) return ["no Location"];
    const u = new URL(location, "http://relative.invalid");
    const scheme = u.protocol.slice(0, -1);
    // ingressd's HTTP and HTTPS ports stand for the Gateway's 80 and 443.
    const moved = [...run.ports].find(([, actual]) => String(actual) === u.port)?.[0];
    const port = u.port === String(run.proxy.httpPort) ? "80" : u.port === String(run.httpsPort) ? "443" : moved !== undefined ? String(moved) : u.port;
    const want = r.redirect;
    if (want.host !== undefined && u.hostname !== want.host) problems.push(`redirect host ${u.hostname}, expected ${want.host}`);
    if (want.port === undefined || want.port === "") {
      if (scheme === "http" && port !== "" && port !== "80") problems.push(`redirect port ${port}, expected 80 or none`);
      if (scheme === "https" && port !== "" && port !== "443") problems.push(`redirect port ${port}, expected 443 or none`);
    } else if (port !== want.port) problems.push(`redirect port ${port || "(none)"}, expected ${want.port}`);
    const requestScheme = r.tls ? "https" : "http";
    if (scheme !== (want.scheme ?? requestScheme)) problems.push(`redirect scheme ${scheme}, expected ${want.scheme ?? requestScheme}`);
    const requestPath = new URL(path, "http://x").pathname;
    if (u.pathname !== (want.path ?? requestPath)) problems.push(`redirect path ${u.pathname}, expected ${want.path ?? requestPath}`);
  }
  return problems;
}

/** A unique marker upstream adds to a request's path when it checks mirrors (ExpectMirroredRequest). */
export const newRequestId = (): string => randomUUID();

export function withRequestId(path: string, id: string): string {
  return `${path}${path.includes("?") ? "&" : "?"}gateway-api-conformance-request-id=${id}`;
}

// ---- status (upstream conformance/utils/kubernetes/helpers.go) ----

const sameRef = (ref: { namespace: string; name: string }, name: string): boolean => `${ref.namespace}/${ref.name}` === name;

/** What differs between a run's status and one `conditions` entry; empty when it holds. */
export function checkCondition(status: GatewayApiStatus, c: CaseCondition): string[] {
  if (c.kind === "Gateway") {
    const g = status.gateways.find((x) => x.name === c.name);
    if (!g) return [`Gateway ${c.name} is not served`];
    return g.listeners.filter((l) => l.attachedRoutes !== c.attachedRoutes).map((l) => `listener ${l.name} has ${l.attachedRoutes} attached routes, expected ${c.attachedRoutes}`);
  }
  if (c.kind === "GatewayListener") {
    const g = status.gateways.find((x) => x.name === c.name);
    const l = g?.listeners.find((x) => x.name === c.listener);
    if (!l) return [`listener ${c.name} ${c.listener} is not in the status`];
    const problems: string[] = [];
    const kinds = (c.supportedKinds ?? []).map((k) => k.split("/").at(-1)!);
    if (JSON.stringify([...l.supportedKinds].sort()) !== JSON.stringify(kinds.sort())) problems.push(`supportedKinds ${l.supportedKinds.join(",")}, expected ${kinds.join(",")}`);
    if (c.attachedRoutes !== undefined && l.attachedRoutes !== c.attachedRoutes) problems.push(`attachedRoutes ${l.attachedRoutes}, expected ${c.attachedRoutes}`);
    problems.push(...missingConditions(l.conditions, c.listenerConditions ?? []));
    return problems;
  }
  const route = status.httpRoutes.find((x) => x.name === c.name);
  const parents = route?.parents ?? [];
  if (c.noAcceptedParents) {
    return parents.filter((p) => p.conditions.some((x) => x.type === "Accepted" && x.status === "True")).map((p) => `parent ${p.parentRef.namespace}/${p.parentRef.name} accepted the route`);
  }
  if (c.exactParents) {
    const problems: string[] = [];
    if (parents.length !== c.exactParents.length) problems.push(`${parents.length} parents, expected ${c.exactParents.length}`);
    for (const want of c.exactParents) {
      const p = parents.find((x) => sameRef(x.parentRef, `${want.parentRef.namespace}/${want.parentRef.name}`) && x.parentRef.sectionName === want.parentRef.sectionName);
      if (!p) problems.push(`no parent ${want.parentRef.namespace}/${want.parentRef.name}`);
      else problems.push(...missingConditions(p.conditions, want.conditions));
    }
    return problems;
  }
  if (!route) return [`HTTPRoute ${c.name} is not in the status`];
  const ofParent = parents.filter((p) => sameRef(p.parentRef, c.parent!));
  if (ofParent.length === 0) return [`HTTPRoute ${c.name} has no parent ${c.parent}`];
  return ofParent.flatMap((p) => missingConditions(p.conditions, [{ type: c.type!, status: c.status!, ...(c.reason ? { reason: c.reason } : {}) }]));
}

function missingConditions(have: { type: string; status: string; reason: string }[], want: { type: string; status: string; reason?: string }[]): string[] {
  return want
    .filter((w) => !have.some((h) => h.type === w.type && h.status === w.status && (!w.reason || h.reason === w.reason)))
    .map((w) => `no condition ${w.type}=${w.status}${w.reason ? ` (${w.reason})` : ""}; have ${have.map((h) => `${h.type}=${h.status} (${h.reason})`).join(", ")}`);
}

/** Dials a WebSocket to the run's HTTP port at `path` and plays the exchanges; what differs. */
export async function playWebSocket(run: GatewayRun, path: string, origin: string, exchanges: WebSocketCase["exchanges"]): Promise<string[]> {
  const ws = new WebSocket(`ws://127.0.0.1:${run.proxy.httpPort}${path}`, { origin });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const problems: string[] = [];
  try {
    for (const { send: out, expectReply } of exchanges) {
      const reply = new Promise<{ data: Buffer; binary: boolean }>((resolve, reject) => {
        ws.once("message", (data: Buffer, binary: boolean) => resolve({ data, binary }));
        ws.once("close", () => reject(new Error("closed before the reply")));
      });
      ws.send(out.binary ? Buffer.from(out.binary) : out.text!, { binary: out.binary !== undefined });
      const got = await reply;
      const want = expectReply.binary ? Buffer.from(expectReply.binary) : Buffer.from(expectReply.text!);
      if (got.binary !== (expectReply.binary !== undefined) || !got.data.equals(want)) problems.push(`reply ${got.binary ? `binary [${[...got.data].join(",")}]` : `text ${got.data.toString()}`}, expected ${JSON.stringify(expectReply)}`);
    }
  } finally {
    ws.close();
  }
  return problems;
}

/** Upstream's GatewayAndHTTPRoutesMustBeAccepted for one Gateway: each of the route's parentRefs to it has Accepted True. */
export function routeAccepted(status: GatewayApiStatus, route: string, gateway: string): string[] {
  const r = status.httpRoutes.find((x) => x.name === route);
  if (!r) return [`HTTPRoute ${route} is not in the status`];
  const parents = r.parents.filter((p) => sameRef(p.parentRef, gateway));
  if (parents.length === 0) return [`HTTPRoute ${route} has no parent ${gateway}`];
  return parents.flatMap((p) => missingConditions(p.conditions, [{ type: "Accepted", status: "True" }]));
}
