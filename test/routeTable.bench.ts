import { bench, describe } from "vitest";
import type { PathType, Route } from "../src/model/route.js";
import { buildRouteTable } from "../src/routing/buildTable.js";
import { requestPath } from "../src/routing/requestPath.js";
import type { RouteTable } from "../src/routing/routeTable.js";

// Route lookup runs on every request: a hash probe per host group and one per path
// element, so its cost must not grow with the number of hosts. Each case below runs
// against tables of 1, 100 and 10,000 hosts: the three figures should match.
// Run with `npx vitest bench --run test/routeTable.bench.ts`.

const source = { file: "bench.yaml", line: 1, col: 1 };

function route(host: string | null, path: string, pathType: PathType, service: string, gateway?: Partial<Route["match"]>): Route {
  return {
    match: { host, path, pathType, ...gateway },
    ...(gateway ? { isolatesHost: true as const } : {}),
    filters: [],
    backends: [{ backend: { key: `default/${service}:80`, namespace: "default", service, port: 80 }, weight: 1 }],
    origin: { kind: "Ingress", name: `default/${service}`, resource: `Ingress/default/${service}`, field: "spec.rules[0]", source, locate: () => source },
  };
}

/** Per host i: `app-i.example.com` with six paths, `*.wild-i.example.com` with one; and one host-less rule. */
function table(hosts: number): RouteTable {
  const routes: Route[] = [];
  for (let i = 0; i < hosts; i++) {
    const host = `app-${i}.example.com`;
    routes.push(
      route(host, "/", "Prefix", `web-${i}`),
      route(host, "/healthz", "Exact", `web-${i}`),
      route(host, "/login", "Exact", `auth-${i}`),
      route(host, "/api", "Prefix", `api-${i}`),
      route(host, "/api/v1", "Prefix", `api-v1-${i}`),
      route(host, "/static", "Prefix", `static-${i}`),
      route(`*.wild-${i}.example.com`, "/api", "Prefix", `wild-${i}`),
      // Gateway API: a suffix wildcard, and a method match beside a plain route on one path.
      route(`*.gw-${i}.example.com`, "/api", "Prefix", `gw-${i}`, { hostSuffix: true }),
      route(`*.gw-${i}.example.com`, "/api", "Prefix", `gw-post-${i}`, { hostSuffix: true, method: "POST" }),
    );
  }
  routes.push(route(null, "/shared", "Prefix", "shared"));
  return buildRouteTable(routes).table;
}

const sizes = [1, 100, 10_000];
const tables = sizes.map((n) => ({ n, table: table(n), i: n >> 1 }));

/** One describe per request, one bench per table size, so the summary compares sizes. */
function lookupCase(name: string, host: (i: number) => string | undefined, path: string): void {
  describe(`lookup: ${name}`, () => {
    for (const { n, table, i } of tables) {
      const h = host(i);
      if (table.lookup(h, path) === undefined && !name.includes("404")) throw new Error(`bench setup: ${name} finds no route`);
      bench(`${n.toLocaleString("en")} host${n === 1 ? "" : "s"}`, () => {
        table.lookup(h, path);
      });
    }
  });
}

lookupCase("exact host, Exact /healthz", (i) => `app-${i}.example.com`, "/healthz");
lookupCase("exact host, Prefix /api/v1/users/42 (3 probes)", (i) => `app-${i}.example.com`, "/api/v1/users/42");
lookupCase("exact host with port and capitals", (i) => `App-${i}.Example.com:8443`, "/api/v1/users/42");
lookupCase("deep path, 16 segments, Prefix /static", (i) => `app-${i}.example.com`, "/static/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o.css");
lookupCase("wildcard host (exact group misses)", (i) => `tenant.wild-${i}.example.com`, "/api/items");
lookupCase("Gateway API suffix wildcard, three labels deep, past a method match", (i) => `a.b.gw-${i}.example.com`, "/api/items");
lookupCase("host-less rule (exact and wildcard groups miss)", () => "unknown.example.org", "/shared/file.txt");
lookupCase("404: unknown host, no host-less path", () => "unknown.example.org", "/nothing/here");

describe("requestPath (the path a request is routed by)", () => {
  bench("/api/v1/users/42?page=2&sort=name (no normalization)", () => {
    requestPath("/api/v1/users/42?page=2&sort=name");
  });
  bench("/static/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o.css (deep, no normalization)", () => {
    requestPath("/static/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o.css");
  });
  bench("/public/../api//v1/./users?x=1 (dot segments, double slash)", () => {
    requestPath("/public/../api//v1/./users?x=1");
  });
  bench("/a/%2e%2E/api/v1 (encoded dots)", () => {
    requestPath("/a/%2e%2E/api/v1");
  });
  bench("http://app.example.com:8080/api/v1?x=1 (absolute form)", () => {
    requestPath("http://app.example.com:8080/api/v1?x=1");
  });
});
