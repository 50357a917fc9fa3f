import { bench, describe } from "vitest";
import type { AccessListFilter } from "../src/model/route.js";
import type { Exchange } from "../src/proxy/exchange.js";
import { accessListStep } from "../src/proxy/filters/accessList.js";

// The per-request check of whitelist/denylist-source-range: one BlockList lookup per list,
// the lists built once per route. Run with `npx vitest bench test/accessList.bench.ts`;
// `vitest run` does not include benches.

const env = { httpsPort: undefined };
const route = {} as never;

function exchange(client: string): Exchange {
  return { fwd: { client }, reply: () => undefined } as unknown as Exchange;
}

function step(filter: Omit<AccessListFilter, "type">) {
  return accessListStep({ type: "accessList", ...filter }, route);
}

const many = Array.from({ length: 50 }, (_, i) => `10.${i}.0.0/16`);
const oneAllow = step({ allow: ["127.0.0.1"], deny: [] });
const manyAllow = step({ allow: many, deny: [] });
const denyAndAllow = step({ allow: ["10.0.0.0/8"], deny: many.slice(0, 10) });
const v6 = step({ allow: ["2001:db8::/32", "::1"], deny: [] });

const inside = exchange("127.0.0.1");
const outside = exchange("192.0.2.1");
const lastOfMany = exchange("10.49.3.4");
const v6Client = exchange("2001:db8::1");

describe("access list check", () => {
  bench("one allowed address, client inside", () => {
    oneAllow(inside, env);
  });
  bench("one allowed address, client outside (403)", () => {
    oneAllow(outside, env);
  });
  bench("50 allowed ranges, client in the last", () => {
    manyAllow(lastOfMany, env);
  });
  bench("10 denied + 1 allowed range, client allowed", () => {
    denyAndAllow(lastOfMany, env);
  });
  bench("IPv6 ranges, client inside", () => {
    v6(v6Client, env);
  });
});
