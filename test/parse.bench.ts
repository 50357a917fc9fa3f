import { LineCounter, parseAllDocuments, stringify } from "yaml";
import { bench, describe } from "vitest";
import { parseRulesFile } from "../src/config/parse.js";

// Parsing runs on every reload, for every changed file. parseRulesFile reads values with
// js-yaml and builds `yaml`'s position-carrying tree only when a position is asked for;
// the second bench is what building that tree up front would cost.
// Run with `npx vitest bench --run test/parse.bench.ts`.

/** 1,000 Ingresses, one host and two paths each, in one file. */
const text = Array.from({ length: 1000 }, (_, h) =>
  stringify({
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: `ing-${h}`, namespace: "default" },
    spec: {
      rules: [
        {
          host: `h${h}.bench.localhost`,
          http: {
            paths: [
              { path: "/", pathType: "Prefix", backend: { service: { name: `svc-${h}`, port: { number: 80 } } } },
              { path: "/api", pathType: "Exact", backend: { service: { name: `svc-${h}`, port: { name: "api" } } } },
            ],
          },
        },
      ],
    },
  }),
).join("---\n");

// A few runs each: one takes tens of milliseconds.
const few = { iterations: 5, time: 500, warmupIterations: 2 };

describe("parsing a file of 1,000 Ingresses", () => {
  bench("parseRulesFile (js-yaml values, positions on demand)", () => {
    parseRulesFile("bench.yaml", text);
  }, few);
  bench("yaml parseAllDocuments with positions (the tree parseRulesFile defers)", () => {
    parseAllDocuments(text, { lineCounter: new LineCounter() });
  }, few);
});
