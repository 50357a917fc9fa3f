import { bench, describe } from "vitest";
import { compileRewrite } from "../src/proxy/filters/rewriteTarget.js";

// The per-request part of rewrite-target: one regex match and the target's parts joined.
// Run with `npx vitest bench`; `vitest run` does not include benches.

const docsExample = compileRewrite("/something(/|$)(.*)", "/$2");
const withQuery = compileRewrite("/v1/(.*)", "/v2/$1?from=v1");

describe("rewrite-target substitution", () => {
  bench("/something(/|$)(.*) → /$2, no query", () => {
    docsExample("/something/new/deeper/path", "/something/new/deeper/path");
  });
  bench("/something(/|$)(.*) → /$2, query kept", () => {
    docsExample("/something/new", "/something/new?a=1&b=2");
  });
  bench("/v1/(.*) → /v2/$1?from=v1, query after &", () => {
    withQuery("/v1/items", "/v1/items?page=2");
  });
});
