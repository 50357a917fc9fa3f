import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { ConfigIssue } from "../model/issues.js";

/**
 * A rules path that does not exist, as an error: a mistyped path must not pass as an
 * empty, valid folder. The server and `ingressd check` report the same issue (the server
 * keeps watching the path and loads it when it appears).
 */
export function missingRulesPaths(paths: readonly string[]): ConfigIssue[] {
  return paths
    .filter((p) => !existsSync(p))
    .map((p) => ({ severity: "error", code: "missing-rules-path", message: `rules path ${p} does not exist`, file: resolve(p), line: 1, col: 1 }));
}
