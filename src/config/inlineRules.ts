import { isIP } from "node:net";
import { stringify } from "yaml";

/** Where `--to` sends requests: an address and port, spoken over HTTP or HTTPS. */
export interface InlineTarget {
  scheme: "http" | "https";
  /** An IP address (written as Endpoints) or a DNS name (an ExternalName Service). */
  host: string;
  port: number;
}

/** One `--from HOST[/PATH]` with the `--to` targets after it (several: balanced between). */
export interface InlineRoute {
  host: string;
  path: string;
  targets: InlineTarget[];
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * `app.localhost`, `*.app.localhost`, `app.localhost/api`, optionally with `http://` or
 * `https://` in front (as copied from a browser). Returns a message when it is not a host.
 */
export function parseFrom(value: string): { host: string; path: string } | string {
  const bare = value.replace(/^https?:\/\//i, "");
  const slash = bare.indexOf("/");
  const host = (slash < 0 ? bare : bare.slice(0, slash)).toLowerCase();
  const path = slash < 0 ? "/" : bare.slice(slash);
  if (host.includes(":")) return `--from takes a host name (and a path), not a port: "${value}" (the port is --http-port / --https-port)`;
  const labels = host.startsWith("*.") ? host.slice(2).split(".") : host.split(".");
  if (host === "" || !labels.every((l) => LABEL.test(l))) return `--from must be a host name such as app.localhost or *.app.localhost, not "${value}"`;
  if (/[\s?#]/.test(path)) return `--from's path must be a plain path such as /api, not "${path}"`;
  return { host, path };
}

/**
 * `:3000`, `3000`, `127.0.0.1:3000`, `localhost:3000`, `[::1]:3000`, `api.internal:8080`,
 * `http://127.0.0.1:3000`, `https://api.example.test` (443). `localhost` becomes 127.0.0.1:
 * Endpoints hold addresses, and dev servers listen on IPv4 loopback more often than on ::1.
 */
export function parseTo(value: string): InlineTarget | string {
  const scheme = /^(https?):\/\//i.exec(value)?.[1]?.toLowerCase() as "http" | "https" | undefined;
  const rest = scheme ? value.slice(scheme.length + 3).replace(/\/$/, "") : value;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:/[\]]*))(?::(\d+))?$/.exec(rest);
  const bad = `--to must be a port or an address such as :3000, 127.0.0.1:3000, [::1]:3000 or https://api.internal:8443, not "${value}"`;
  if (!m) return bad;
  const onlyPort = m[1] === undefined && m[3] === undefined && /^\d+$/.test(m[2] ?? "");
  const portText = onlyPort ? m[2] : m[3];
  const host = onlyPort ? "" : (m[1] ?? m[2] ?? "").toLowerCase();
  const port = portText !== undefined ? Number(portText) : scheme === "https" ? 443 : scheme === "http" ? 80 : NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) return portText === undefined ? `--to needs a port: "${value}" (e.g. ${value}:3000)` : bad;
  if (m[1] !== undefined && isIP(m[1]) !== 6) return bad;
  if (host !== "" && !isIP(host) && !host.split(".").every((l) => LABEL.test(l))) return bad;
  return { scheme: scheme ?? "http", host: host === "" || host === "localhost" ? "127.0.0.1" : host, port };
}

/** The Kubernetes name a route's resources share: `app.localhost/api` → `app-localhost-api`. */
export function inlineName(route: Pick<InlineRoute, "host" | "path">): string {
  const words = `${route.host.replace(/^\*\./, "wildcard.")}${route.path}`.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
  const name = words.join("-").slice(0, 63).replace(/-+$/, "");
  return /^[a-z]/.test(name) ? name : `h-${name}`.slice(0, 63);
}

/** Says why the targets of one `--from` cannot be one Service, or undefined when they can. */
export function targetsProblem(route: InlineRoute): string | undefined {
  const schemes = new Set(route.targets.map((t) => t.scheme));
  if (schemes.size > 1) return `the --to targets of --from ${route.host} mix http:// and https://; a Service speaks one protocol`;
  const names = route.targets.filter((t) => isIP(t.host) === 0);
  if (names.length > 0 && route.targets.length > 1) return `--from ${route.host} has a DNS name among several --to targets; balance between IP addresses, or give the one name`;
  return undefined;
}

/**
 * The Service, Endpoints and Ingress that one route stands for, as YAML a user can save
 * into a rules folder (`ingressd proxy --print`). The host gets HTTPS from the local CA and
 * keeps answering plain HTTP (ssl-redirect off), as the one-command form promises both.
 */
export function inlineRulesYaml(route: InlineRoute, name: string, comment: string): string {
  const metadata = { name, namespace: "default" };
  const [first] = route.targets;
  const external = first !== undefined && isIP(first.host) === 0;
  const samePort = route.targets.every((t) => t.port === first?.port);
  const service = external
    ? { apiVersion: "v1", kind: "Service", metadata, spec: { type: "ExternalName", externalName: first.host, ports: [{ name: "http", port: first.port }] } }
    : { apiVersion: "v1", kind: "Service", metadata, spec: { ports: [{ name: "http", port: 80, targetPort: samePort && first ? first.port : "http" }] } };
  const byPort = new Map<number, string[]>();
  for (const t of route.targets) byPort.set(t.port, [...(byPort.get(t.port) ?? []), t.host]);
  const endpoints = {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata,
    subsets: [...byPort].map(([port, ips]) => ({ addresses: ips.map((ip) => ({ ip })), ports: [{ name: "http", port }] })),
  };
  const annotations: Record<string, string> = { "nginx.ingress.kubernetes.io/ssl-redirect": "false" };
  if (first?.scheme === "https") annotations["nginx.ingress.kubernetes.io/backend-protocol"] = "HTTPS";
  const ingress = {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { ...metadata, annotations },
    spec: {
      tls: [{ hosts: [route.host] }],
      rules: [
        {
          host: route.host,
          http: { paths: [{ path: route.path, pathType: "Prefix", backend: { service: { name, port: external && first ? { number: first.port } : { name: "http" } } } }] },
        },
      ],
    },
  };
  const docs = external ? [service, ingress] : [service, endpoints, ingress];
  return `# ${comment}\n` + docs.map((d) => stringify(d, { lineWidth: 0 })).join("---\n");
}
