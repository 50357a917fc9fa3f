import { bench, describe } from "vitest";
import type { Route } from "../src/model/route.js";
import { RouteRates } from "../src/telemetry/routeRates.js";

// Per request the metrics count the matched route for the dashboard's rates: one lookup
// by the route object and two additions. The baseline is the per-host count the
// metrics already kept (a Map by a string the route table holds).
// Run with `npx vitest bench --run test/routeRates.bench.ts`.

const source = { file: "bench.yaml", line: 1, col: 1 };
const routes: Route[] = Array.from({ length: 1_000 }, (_, i) => ({
  match: { host: `app-${i}.example.com`, path: "/", pathType: "Prefix" },
  filters: [],
  backends: [{ backend: { key: `default/web-${i}:80`, namespace: "default", service: `web-${i}`, port: 80 }, weight: 1 }],
  origin: { kind: "Ingress", name: `default/web-${i}`, resource: `Ingress default/web-${i}`, field: "spec.rules[0].http.paths[0]", source, locate: () => source },
}));

describe("counting a request", () => {
  const rates = new RouteRates(Date.now());
  const byHost = new Map<string, { requests: number; errors: number }>();
  for (const r of routes) {
    rates.count(r, 200);
    byHost.set(r.match.host!, { requests: 0, errors: 0 });
  }
  let i = 0;
  bench("RouteRates.count (by route object)", () => {
    rates.count(routes[i++ % routes.length]!, 200);
  });
  bench("baseline: per-host Map by string", () => {
    const s = byHost.get(routes[i++ % routes.length]!.match.host!)!;
    s.requests++;
  });
});

describe("once a second / per dashboard poll, 1,000 routes", () => {
  const rates = new RouteRates(Date.now());
  for (const r of routes) rates.count(r, 200);
  bench("sample", () => rates.sample(Date.now()));
  bench("read", () => void rates.read(Date.now()));
});
