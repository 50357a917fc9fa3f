import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Benches (`npm run bench:unit`) are separate: `vitest run` never times anything.
    include: ["test/**/*.test.ts"],
    benchmark: { include: ["test/**/*.bench.ts"] },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
  },
});
