import { bench, describe } from "vitest";
import type { Route, RouteMatch } from "../src/model/route.js";
import { PathMatcher } from "../src/routing/pathMatcher.js";
import type { RequestFacts } from "../src/routing/requestFacts.js";

// The per-request route lookup of one host: a path without canary against one whose
// slot holds canary routes (header and cookie conditions tried first). Run with
// `npx vitest bench`; `vitest run` does not include benches.

const backend = (service: string) => ({ backend: { key: `default/${service}:80`, namespace: "default", service, port: 80 }, weight: 1 });
const origin = { kind: "Ingress", name: "default/bench", resource: "Ingress default/bench", field: "spec", source: { file: "bench.yaml", line: 1, col: 1 }, locate: () => ({ file: "bench.yaml", line: 1, col: 1 }) } as const;
const route = (match: RouteMatch, service = "main"): Route => ({ match, filters: [], backends: [backend(service)], origin });

const matcher = new PathMatcher();
for (let i = 0; i < 50; i++) matcher.add(route({ host: "bench.test", path: `/svc${i}/api`, pathType: "Prefix" }));
matcher.add(route({ host: "bench.test", path: "/plain", pathType: "Prefix" }));
const canaryPath = { host: "bench.test", path: "/canary", pathType: "Prefix" } as const;
matcher.add(route({ ...canaryPath, headers: [{ name: "x-canary", type: "Exact", value: "always" }] }, "canary"));
matcher.add(route({ ...canaryPath, headers: [{ name: "x-canary", type: "Exact", value: "never" }] }));
matcher.add(route({ ...canaryPath, cookies: [{ name: "use_canary", value: "always" }] }, "canary"));
matcher.add(route({ ...canaryPath, cookies: [{ name: "use_canary", value: "never" }] }));
matcher.add(route(canaryPath));
const patternPath = { host: "bench.test", path: "/pattern", pathType: "Prefix" } as const;
matcher.add(route({ ...patternPath, headers: [{ name: "x-canary", type: "Regex", value: "^(beta|gamma)$" }] }, "canary"));
matcher.add(route(patternPath));

const facts = (headers: Record<string, string>, cookies: Record<string, string> = {}): RequestFacts => ({ header: (n) => headers[n], cookie: (n) => cookies[n] });
const none = facts({});
const always = facts({ "x-canary": "always" });
const cookie = facts({}, { use_canary: "always" });
const gamma = facts({ "x-canary": "gamma" });

describe("PathMatcher.match", () => {
  bench("a path without conditions", () => {
    matcher.match("/plain/a/b", none);
  });
  bench("a canary path, no header or cookie (falls through to the main route)", () => {
    matcher.match("/canary/a/b", none);
  });
  bench("a canary path, header always (first rule)", () => {
    matcher.match("/canary/a/b", always);
  });
  bench("a canary path, cookie always (third rule)", () => {
    matcher.match("/canary/a/b", cookie);
  });
  bench("a canary path by header pattern, matching", () => {
    matcher.match("/pattern/a", gamma);
  });
});
