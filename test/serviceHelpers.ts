import { request, type IncomingMessage } from "node:http";
import { get, rulesDir, startProxy, startUpstream, type RulesDir, type Upstream } from "./helpers.js";

export type Proxy = Awaited<ReturnType<typeof startProxy>>;

/** A response read in full. */
export interface Reply {
  status: number;
  headers: IncomingMessage["headers"];
  body: string;
}

/**
 * A GET through a fresh connection whose client end is bound to `from` (127.0.0.1,
 * 127.0.0.2, 127.0.0.3…), so the proxy sees that address as the socket peer.
 */
export function getFrom(url: string, from: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "GET", headers, agent: false, localAddress: from }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** Which echo upstream answered (its name); throws with the status and body when it was not a 200. */
export async function whoFrom(proxy: Proxy, host: string, from = "127.0.0.1", headers: Record<string, string> = {}, path = "/"): Promise<string> {
  const res = await getFrom(`${proxy.url}${path}`, from, { host, ...headers });
  if (res.status !== 200) throw new Error(`GET ${host}${path} from ${from} answered ${res.status}: ${res.body.trim()}`);
  return (JSON.parse(res.body) as { name: string }).name;
}

/** The status of a GET through the proxy (for the 404/503 cases). */
export async function statusOf(proxy: Proxy, host: string, path = "/"): Promise<number> {
  return (await get(`${proxy.url}${path}`, { host })).status;
}

/** `n` requests in sequence from `from`; the names of the upstreams that answered, in order. */
export async function sequence(proxy: Proxy, host: string, n: number, from = "127.0.0.1", headers: Record<string, string> = {}, path = "/"): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await whoFrom(proxy, host, from, headers, path));
  return out;
}

/** The JSON of `/api/config`. */
export async function apiConfig(proxy: Proxy): Promise<any> {
  const res = await get(`${proxy.admin}/api/config`);
  if (res.status !== 200) throw new Error(`/api/config answered ${res.status}`);
  return JSON.parse(res.body);
}

/** Multi-document YAML. */
export function docs(...parts: string[]): string {
  return parts.map((p) => p.replace(/\n*$/, "\n")).join("---\n");
}

/** 1-based line of the first occurrence of `needle` in `text` (and its column). */
export function lineOf(text: string, needle: string): { line: number; col: number } {
  const at = text.indexOf(needle);
  if (at < 0) throw new Error(`"${needle}" not in text`);
  const before = text.slice(0, at).split("\n");
  return { line: before.length, col: (before[before.length - 1] ?? "").length + 1 };
}

/** Several named echo upstreams on 127.0.0.1 (or `host`). */
export async function upstreams(names: string[], host = "127.0.0.1"): Promise<Upstream[]> {
  return Promise.all(names.map((n) => startUpstream(n, host)));
}

/**
 * A test's world: upstreams, a rules directory and proxies, all torn down by `close()`
 * (each close tolerates things already closed by the test).
 */
export class World {
  private readonly ups: Upstream[] = [];
  private readonly proxies: Proxy[] = [];
  private readonly dirs: RulesDir[] = [];

  async upstreams(names: string[], host = "127.0.0.1"): Promise<Upstream[]> {
    const ups = await upstreams(names, host);
    this.ups.push(...ups);
    return ups;
  }

  async rules(files: Record<string, string>): Promise<RulesDir & { paths: Record<string, string> }> {
    const dir = await rulesDir();
    this.dirs.push(dir);
    const paths: Record<string, string> = {};
    for (const [name, text] of Object.entries(files)) paths[name] = await dir.write(name, text);
    return { ...dir, paths };
  }

  async proxy(dir: RulesDir, extra: Parameters<typeof startProxy>[1] = {}): Promise<Proxy> {
    const p = await startProxy([dir.dir], extra);
    this.proxies.push(p);
    return p;
  }

  async close(): Promise<void> {
    await Promise.all(this.proxies.splice(0).map((p) => p.close()));
    await Promise.all(this.ups.splice(0).map((u) => (u.server.listening ? u.close() : Promise.resolve())));
    await Promise.all(this.dirs.splice(0).map((d) => d.cleanup()));
  }
}

// ---------------------------------------------------------------------------------------------
// YAML builders
// ---------------------------------------------------------------------------------------------

export interface AffinityOpts {
  /** `spec.sessionAffinity` (omitted when undefined). */
  affinity?: string;
  timeoutSeconds?: number;
  port?: number;
  annotations?: Record<string, string>;
}

/** A single-port Service (no targetPort) with optional session affinity. */
export function affinityService(name: string, opts: AffinityOpts = {}): string {
  const ann = opts.annotations
    ? `\n  annotations:\n${Object.entries(opts.annotations)
        .map(([k, v]) => `    ${k}: "${v}"`)
        .join("\n")}`
    : "";
  const aff = opts.affinity === undefined ? "" : `\n  sessionAffinity: ${opts.affinity}`;
  const cfg = opts.timeoutSeconds === undefined ? "" : `\n  sessionAffinityConfig:\n    clientIP:\n      timeoutSeconds: ${opts.timeoutSeconds}`;
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}${ann}
spec:${aff}${cfg}
  ports:
    - port: ${opts.port ?? 80}
`;
}

/** Endpoints of `name`: one subset per upstream port, all on 127.0.0.1, ports unnamed. */
export function endpointsYaml(name: string, ports: number[]): string {
  return `apiVersion: v1
kind: Endpoints
metadata:
  name: ${name}
subsets:
${ports.map((p) => `  - addresses: [{ ip: 127.0.0.1 }]\n    ports: [{ port: ${p} }]`).join("\n")}
`;
}

export interface PathSpec {
  path: string;
  service: string;
  /** `port.number`, or `port.name` when a string. */
  port: number | string;
}

/** An Ingress with one rule for `host`, each path naming its port by number or by name. */
export function ingressFor(name: string, host: string, paths: PathSpec[]): string {
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
spec:
  rules:
    - host: ${host}
      http:
        paths:
${paths
  .map(
    (p) => `          - path: ${p.path}
            pathType: Prefix
            backend:
              service:
                name: ${p.service}
                port:
                  ${typeof p.port === "number" ? `number: ${p.port}` : `name: ${p.port}`}`,
  )
  .join("\n")}
`;
}
