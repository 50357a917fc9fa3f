import { bench, describe } from "vitest";
import { originMatcher } from "../src/proxy/filters/originMatcher.js";

// The per-request cost of the CORS origin check (src/proxy/filters/originMatcher.ts),
// against the regex ingress-nginx builds for the same list (buildCorsOriginRegex, here
// anchored). Run with `npx vitest bench test/cors.bench.ts`.

const LIST = ["https://app.example.com", "https://admin.example.com", "http://localhost:3000", "https://*.example.org", "https://*.preview.example.net"];
const matcher = originMatcher(LIST);
const regex = new RegExp(
  `^(${LIST.map((o) => `(${o.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace("\\*", "[A-Za-z0-9\\-]+")})`).join("|")})$`,
  "i",
);

describe("CORS origin check per request", () => {
  bench("exact origin listed", () => {
    matcher("https://admin.example.com");
  });
  bench("wildcard origin", () => {
    matcher("https://pr-1234.preview.example.net");
  });
  bench("origin not allowed", () => {
    matcher("https://evil.example.com.attacker.io");
  });
  bench("the same three with an anchored regex (ingress-nginx's way)", () => {
    regex.test("https://admin.example.com");
    regex.test("https://pr-1234.preview.example.net");
    regex.test("https://evil.example.com.attacker.io");
  });
});
