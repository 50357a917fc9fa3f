import { resolve } from "node:path";
import type { ConfigIssue } from "../model/issues.js";
import { resourceCount, type ResourceSet } from "./resources.js";

/**
 * A rules folder with no resource in it (no YAML/JSON file, or files holding none)
 * passes every check yet serves nothing: the first thing a user wants to hear about
 * a wrong `--rules`. Shared by `check` and the server so both say it alike.
 */
export function nothingServedIssue(paths: readonly string[], resources: ResourceSet): ConfigIssue | undefined {
  if (paths.length === 0 || resourceCount(resources) > 0) return undefined;
  return {
    severity: "warning",
    code: "no-resources",
    message: `no Kubernetes resources found in ${paths.join(", ")}: nothing is served`,
    file: resolve(paths[0]!),
    line: 1,
    col: 1,
  };
}
