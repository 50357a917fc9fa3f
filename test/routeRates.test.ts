import { describe, expect, it } from "vitest";
import type { PathType, Route } from "../src/model/route.js";
import { DEFAULT_BACKEND_KEY, RATE_WINDOW_SECONDS, RouteRates, routeKey } from "../src/telemetry/routeRates.js";

const source = { file: "r.yaml", line: 1, col: 1 };

function route(host: string | null, path: string, pathType: PathType = "Prefix", field = "spec.rules[0].http.paths[0]"): Route {
  return {
    match: { host, path, pathType },
    filters: [],
    backends: [{ backend: { key: "default/web:80", namespace: "default", service: "web", port: 80 }, weight: 1 }],
    origin: { kind: "Ingress", name: "default/web", resource: "Ingress default/web", field, source, locate: () => source },
  };
}

describe("per-route rates over the server's own window (dashboard, issue 11)", () => {
  it("counts requests and 5xx per route, keyed host path (pathType); no route is 'unmatched'; the total sums them", () => {
    const rates = new RouteRates(0);
    const v1 = route("api.localhost", "/v1");
    const health = route("api.localhost", "/healthz", "Exact");
    for (let i = 0; i < 3; i++) rates.count(v1, 200);
    rates.count(v1, 502);
    rates.count(health, 200);
    rates.count(undefined, 404);
    const read = rates.read(2_000);
    expect(Object.keys(read.routes).sort()).toEqual(["api.localhost /healthz (Exact)", "api.localhost /v1 (Prefix)"]);
    expect(read.routes["api.localhost /v1 (Prefix)"]).toEqual({ requests: 4, errors: 1, requestsPerSecond: 2, errorsPerSecond: 0.5 });
    expect(read.unmatched).toMatchObject({ requests: 1, errors: 0 });
    expect(read.total).toEqual({ requests: 6, errors: 1, requestsPerSecond: 3, errorsPerSecond: 0.5 });
    expect(read.windowSeconds).toBe(2);
  });

  it("has rates at the first reading, over at least a second right after start", () => {
    const rates = new RouteRates(10_000);
    rates.count(route("a.localhost", "/"), 200);
    rates.count(route("a.localhost", "/"), 200);
    // 100 ms after start: 2 requests are 2 per second, not 20.
    expect(rates.read(10_100).total.requestsPerSecond).toBe(2);
  });

  it("slides: requests older than the window no longer count in the rate, only in the totals", () => {
    const rates = new RouteRates(0);
    const r = route("a.localhost", "/");
    for (let i = 0; i < 50; i++) rates.count(r, 200);
    for (let s = 1; s <= RATE_WINDOW_SECONDS; s++) rates.sample(s * 1000);
    // The window still starts at 0: the 50 are in it.
    expect(rates.read(RATE_WINDOW_SECONDS * 1000).routes["a.localhost / (Prefix)"]!.requestsPerSecond).toBe(50 / RATE_WINDOW_SECONDS);
    rates.sample((RATE_WINDOW_SECONDS + 1) * 1000);
    for (let i = 0; i < 10; i++) rates.count(r, 500);
    const read = rates.read((RATE_WINDOW_SECONDS + 1) * 1000);
    expect(read.windowSeconds).toBe(RATE_WINDOW_SECONDS);
    expect(read.routes["a.localhost / (Prefix)"]).toEqual({ requests: 60, errors: 10, requestsPerSecond: 1, errorsPerSecond: 1 });
  });

  it("keeps a route's counts across a reload (a new route object, the same key); prune forgets routes no longer served", () => {
    const rates = new RouteRates(0);
    rates.count(route("a.localhost", "/"), 200);
    rates.count(route("a.localhost", "/"), 200); // another object: what a reload builds
    rates.count(route("gone.localhost", "/"), 200);
    const asked: (string | null)[] = [];
    rates.prune((host) => {
      asked.push(host);
      return host === "a.localhost" ? [route("a.localhost", "/")] : [];
    });
    expect(asked.sort()).toEqual(["a.localhost", "gone.localhost"]); // only the hosts it counted, each once
    const read = rates.read(1_000);
    expect(Object.keys(read.routes)).toEqual(["a.localhost / (Prefix)"]);
    expect(read.routes["a.localhost / (Prefix)"]!.requests).toBe(2);
  });

  it("names the default backend's route apart from a rule for every host, and canary rules by their conditions", () => {
    expect(routeKey(route(null, "/"))).toBe("* / (Prefix)");
    expect(routeKey(route(null, "/", "Prefix", "spec.defaultBackend"))).toBe(DEFAULT_BACKEND_KEY);
    const canary: Route = { ...route("a.localhost", "/"), match: { host: "a.localhost", path: "/", pathType: "Prefix", headers: [{ name: "x-canary", type: "Exact", value: "always" }] } };
    expect(routeKey(canary)).toMatch(/^a\.localhost \/ \(Prefix\) when .*x-canary/i);
  });
});
