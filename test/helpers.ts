import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import pino from "pino";
import { startIngressd, type Ingressd, type IngressdOptions } from "../src/server/ingressd.js";
import type { Snapshot } from "../src/snapshot/snapshot.js";

/** A real upstream on 127.0.0.1 with an ephemeral port. */
export interface Upstream {
  server: Server;
  port: number;
  /** Requests received, in order. */
  received: IncomingMessage[];
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Default handler: answers `name` and the request line as JSON, after reading the body. */
export function echo(name: string): Handler {
  return (req, res) => {
    let bytes = 0;
    req.on("data", (c: Buffer) => (bytes += c.length));
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json", server: "upstream-server" });
      res.end(JSON.stringify({ name, method: req.method, url: req.url, headers: req.headers, bytes }));
    });
  };
}

/** `port` 0 (the default) is ephemeral; a fixed one lets a test restart an upstream where it was. */
export async function startUpstream(handler: Handler | string, host = "127.0.0.1", port = 0): Promise<Upstream> {
  const h = typeof handler === "string" ? echo(handler) : handler;
  const received: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    received.push(req);
    h(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    received,
    close: () =>
      new Promise<void>((res) => {
        server.closeAllConnections();
        server.close(() => res());
      }),
  };
}

/** A temp directory of rules files, removed by `cleanup`. */
export interface RulesDir {
  dir: string;
  write(name: string, text: string): Promise<string>;
  cleanup(): Promise<void>;
}

export async function rulesDir(): Promise<RulesDir> {
  const dir = await mkdtemp(join(tmpdir(), "ingressd-test-"));
  return {
    dir,
    async write(name, text) {
      const path = join(dir, name);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, text);
      return path;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** ingressd in this process, on ephemeral loopback ports, logging nowhere (or to `logs`). */
export async function startProxy(rules: string[], extra: Partial<IngressdOptions> = {}): Promise<Ingressd & { url: string; admin: string }> {
  const logger = pino({ level: "silent" });
  const d = await startIngressd({
    rules,
    bind: "127.0.0.1",
    httpPort: 0,
    adminBind: "127.0.0.1",
    adminPort: 0,
    ingressClass: "ingressd",
    watch: true,
    logger,
    debounceMs: 30,
    ...extra,
  });
  // Object.assign keeps `httpsPort` a live getter (a spread would copy its value once).
  return Object.assign(d, { url: `http://127.0.0.1:${d.httpPort}`, admin: `http://127.0.0.1:${d.adminPort}` });
}

/** Resolves with the first snapshot published after this call that satisfies `pred`. */
export function nextReload(proxy: Ingressd, pred: (s: Snapshot) => boolean = () => true): Promise<Snapshot> {
  return new Promise((resolve) => {
    const on = (s: Snapshot): void => {
      if (!pred(s)) return;
      proxy.runtime.off("reload", on);
      resolve(s);
    };
    proxy.runtime.on("reload", on);
  });
}

/** YAML for a Service + Endpoints pointing at local ports. */
export function serviceYaml(name: string, ports: number[], opts: { port?: number; namespace?: string } = {}): string {
  const ns = opts.namespace ? `\n  namespace: ${opts.namespace}` : "";
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}${ns}
spec:
  ports:
    - port: ${opts.port ?? 80}
---
apiVersion: v1
kind: Endpoints
metadata:
  name: ${name}${ns}
subsets:
${ports.map((p) => `  - addresses: [{ ip: 127.0.0.1 }]\n    ports: [{ port: ${p} }]`).join("\n")}
`;
}

/** YAML for an Ingress named `fallback` whose only content is a default backend: `service`, port 80. */
export function defaultBackendYaml(service: string): string {
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: fallback
spec:
  defaultBackend:
    service:
      name: ${service}
      port:
        number: 80
`;
}

/** YAML for an Ingress with one rule: host (or none) → paths → service:80, with annotations if given. */
export function ingressYaml(
  name: string,
  host: string | null,
  paths: { path: string; pathType?: string; service: string; port?: number }[],
  annotations: Record<string, string> = {},
): string {
  const hostLine = host === null ? "" : `\n      host: "${host}"`;
  // Short names are ingress-nginx's (`rewrite-target`); a name with a `/` is used as written.
  const lines = Object.entries(annotations).map(([k, v]) => `    ${k.includes("/") ? k : `nginx.ingress.kubernetes.io/${k}`}: ${JSON.stringify(v)}\n`);
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
${lines.length > 0 ? `  annotations:\n${lines.join("")}` : ""}spec:
  rules:
    - http:
        paths:
${paths
  .map(
    (p) => `          - path: ${p.path}
            pathType: ${p.pathType ?? "Prefix"}
            backend:
              service:
                name: ${p.service}
                port:
                  number: ${p.port ?? 80}`,
  )
  .join("\n")}${hostLine}
`;
}

/** A plain HTTP request through a fresh connection (no agent pooling surprises). */
export function get(url: string, headers: Record<string, string> = {}, method = "GET", body?: Buffer | string): Promise<{ status: number; headers: IncomingMessage["headers"]; rawHeaders: string[]; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** A port free right now on 127.0.0.1, for YAML that must name its port (a Gateway listener's). */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  const port = (server.address() as AddressInfo).port;
  await new Promise((res) => server.close(res));
  return port;
}
