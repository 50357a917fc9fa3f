import { relative } from "node:path";
import { compileConfig, type CompiledConfig } from "../snapshot/compileConfig.js";
import { FileSource } from "../config/fileSource.js";
import { ConfigStore, type FileReport } from "../config/store.js";
import { missingRulesPaths } from "../config/missingRulesPaths.js";
import { resourceCount as countResources } from "../config/resources.js";
import { nothingServedIssue } from "../config/nothingServed.js";
import type { ConfigIssue } from "../model/issues.js";
import type { ConfigChange } from "../config/source.js";

export interface LoadedRules {
  files: FileReport[];
  resourceCount: number;
  issues: ConfigIssue[];
  compiled: CompiledConfig;
}

/** The classes served: `--ingress-class` and `--gateway-class`. */
export interface RuleClasses {
  ingressClass: string;
  gatewayClass?: string;
}

/** Reads, validates and compiles rules exactly as the server does, once, without serving. */
export async function loadRules(paths: string[], classes: RuleClasses, bind = "0.0.0.0", inline: ConfigChange[] = []): Promise<LoadedRules> {
  const store = new ConfigStore();
  store.apply([...(await new FileSource({ paths }).readAll()), ...inline]);
  const { resources, compiled, issues, files } = store.serve((set) => compileConfig(set, { ...classes, bind }));
  const resourceCount = countResources(resources);
  // A mistyped path in CI must not pass as an empty, valid folder; an existing but empty one is a warning.
  const missing = missingRulesPaths(paths);
  const empty = missing.length === 0 ? nothingServedIssue(paths, resources) : undefined;
  return { files, resourceCount, issues: [...missing, ...issues, ...(empty ? [empty] : [])], compiled };
}

/** Paths shown relative to where the command runs, as compilers print them. */
export function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel.startsWith("..") ? path : rel;
}
