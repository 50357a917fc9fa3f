import type { ConfigIssue } from "../issues.js";
import { parseRulesFile } from "./parse.js";
import { addToSet, emptyResourceSet, type Loaded, type ResourceSet } from "./resources.js";
import type { ConfigChange } from "./source.js";
import { validateDocuments } from "./validate.js";

export type FileStatus = "ok" | "invalid" | "syntax-error";

export interface FileReport {
  path: string;
  status: FileStatus;
  /** Resources served from this file (its last good version after a syntax error). */
  resources: number;
  /** True when a syntax error left the previous good version serving. */
  servingLastGood: boolean;
}

interface FileState {
  path: string;
  /** Resources of the last version that parsed. */
  resources: Loaded[];
  /** Problems of the last version that parsed. */
  validationIssues: ConfigIssue[];
  /** Syntax errors of the current version, if it does not parse. */
  syntaxIssues: ConfigIssue[];
  everParsed: boolean;
}

/**
 * The per-file memory that makes bad input lose nothing: a file that stops parsing
 * keeps its last good resources serving until it is fixed; a file that parses
 * contributes every valid resource, whatever its neighbours' errors.
 */
export class ConfigStore {
  private readonly files = new Map<string, FileState>();

  apply(changes: readonly ConfigChange[]): void {
    for (const change of changes) {
      if (change.text === null) {
        this.files.delete(change.path);
        continue;
      }
      const parsed = parseRulesFile(change.path, change.text);
      const prev = this.files.get(change.path);
      if (!parsed.ok) {
        this.files.set(change.path, {
          path: change.path,
          resources: prev?.resources ?? [],
          validationIssues: prev?.validationIssues ?? [],
          syntaxIssues: parsed.issues,
          everParsed: prev?.everParsed ?? false,
        });
        continue;
      }
      const result = validateDocuments(parsed.documents);
      this.files.set(change.path, {
        path: change.path,
        resources: result.resources,
        validationIssues: result.issues,
        syntaxIssues: [],
        everParsed: true,
      });
    }
  }

  /** The resources to serve, one per identity, and every current problem. */
  resources(): { resources: ResourceSet; issues: ConfigIssue[] } {
    const set = emptyResourceSet();
    const issues: ConfigIssue[] = [];
    const seen = new Map<string, Loaded>();
    for (const file of [...this.files.values()].sort((a, b) => (a.path < b.path ? -1 : 1))) {
      issues.push(...file.syntaxIssues, ...file.validationIssues);
      for (const res of file.resources) {
        const identity = `${res.kind} ${res.namespace}/${res.name}`;
        const first = seen.get(identity);
        if (first) {
          issues.push({
            severity: "warning",
            code: "duplicate-resource",
            message: `${identity} is also defined at ${first.source.file}:${first.source.line}, which takes precedence; this one is ignored`,
            resource: res.id,
            ...res.source,
          });
          continue;
        }
        seen.set(identity, res);
        addToSet(set, res);
      }
    }
    return { resources: set, issues };
  }

  /**
   * Per-file status. `issues` are every current problem: a file whose resource has a
   * cross-resource error (a backend port its Service lacks) is `invalid` too.
   */
  report(issues: readonly ConfigIssue[] = []): FileReport[] {
    const withErrors = new Set(issues.filter((i) => i.severity === "error").map((i) => i.file));
    return [...this.files.values()]
      .sort((a, b) => (a.path < b.path ? -1 : 1))
      .map((f) => ({
        path: f.path,
        status: f.syntaxIssues.length > 0 ? "syntax-error" : withErrors.has(f.path) || f.validationIssues.some((i) => i.severity === "error") ? "invalid" : "ok",
        resources: f.resources.length,
        servingLastGood: f.syntaxIssues.length > 0 && f.everParsed,
      }));
  }
}
