import { bench, describe } from "vitest";
import { DEFAULT_CHECK_INTERVAL_MS, DEFAULT_FAIL_TIMEOUT_MS, DEFAULT_MAX_FAILS, type BackendSpec } from "../src/upstream/backendSpec.js";
import { reconcilePools, type ReconcileResult } from "../src/upstream/pools.js";

// reconcilePools runs once per reload, over every Service port of the configuration: the
// cost of a reload that changes nothing, or one Service, should stay small beside
// parsing. Every spec is compared (JSON of both), so it grows with the Services.
// Run with `npx vitest bench --run test/reconcilePools.bench.ts`.

const timeouts = { connectMs: 1_000, readMs: 1_000 };
const noHealthEvents = (): void => undefined;

/** `count` Services of 2 endpoints each (10.0.x.y:8080), keyed as resolveBackends keys them. */
function specs(count: number, changed = -1): Map<string, BackendSpec> {
  const out = new Map<string, BackendSpec>();
  for (let i = 0; i < count; i++) {
    const key = `default/svc-${i}:80`;
    out.set(key, {
      key,
      namespace: "default",
      service: `svc-${i}`,
      port: 80,
      type: "ClusterIP",
      endpoints: [0, 1].map((e) => ({ host: `10.0.${i >> 7}.${((i & 127) << 1) + e}`, port: 8080 })),
      affinity: { kind: "None" },
      health: { maxFails: DEFAULT_MAX_FAILS, failTimeoutMs: i === changed ? 5_000 : DEFAULT_FAIL_TIMEOUT_MS, checkIntervalMs: DEFAULT_CHECK_INTERVAL_MS },
    });
  }
  return out;
}

function reconcile(next: Map<string, BackendSpec>, previous?: ReconcileResult): ReconcileResult {
  return reconcilePools(previous?.pools ?? new Map(), previous?.endpoints ?? new Map(), next, timeouts, noHealthEvents);
}

for (const count of [1, 100, 1000]) {
  const first = reconcile(specs(count));
  // Fresh spec objects, as each reload resolves them anew: equal values, not the same objects.
  const unchanged = specs(count);
  const oneChanged = specs(count, count >> 1);

  describe(`reconcilePools, ${count} Service${count === 1 ? "" : "s"} × 2 endpoints`, () => {
    bench("first generation (everything new)", () => {
      reconcile(unchanged);
    });

    bench("reload, nothing changed (every pool kept)", () => {
      reconcile(unchanged, first);
    });

    bench("reload, one Service changed (one pool rebuilt)", () => {
      reconcile(oneChanged, first);
    });
  });
}
