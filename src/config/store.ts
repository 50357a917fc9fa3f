import type { ConfigIssue } from "../model/issues.js";
import { parseRulesFile } from "./parse.js";
import { addToSet, emptyResourceSet, type KindName, type Loaded, type ResourceSet } from "./resources.js";
import type { ConfigChange } from "./source.js";
import { validateDocuments, type Rejected } from "./validate.js";

export type FileStatus = "ok" | "invalid" | "syntax-error";

export interface FileReport {
  path: string;
  status: FileStatus;
  /** Resources served from this file, last good versions included. */
  resources: number;
  /** True when a mistake in this file left a previous good version serving. */
  servingLastGood: boolean;
}

interface FileState {
  path: string;
  /** Resources of the last version that parsed. */
  resources: Loaded[];
  /** Identities of the resources that version defines but were rejected. */
  rejected: { id: string; kind: KindName; docIndex: number }[];
  /** Problems of the last version that parsed. */
  validationIssues: ConfigIssue[];
  /** Syntax errors of the current version, if it does not parse. */
  syntaxIssues: ConfigIssue[];
  everParsed: boolean;
}

/** What to serve, as compiled by the caller, with every problem and each file's status. */
export interface Served<C> {
  resources: ResourceSet;
  compiled: C;
  /** The files' problems, then the compile's. */
  issues: ConfigIssue[];
  files: FileReport[];
}

interface Pick {
  set: ResourceSet;
  issues: ConfigIssue[];
  /** Per identity, the version picked. */
  served: Map<string, Loaded>;
  /** Identities served by their last good version. */
  kept: Set<string>;
}

/**
 * The memory that makes bad input lose nothing, as an API server does: a rejected
 * new version of a resource (kind, namespace, name) leaves its last good version
 * serving, and a file that stops parsing keeps all of its last good resources. A
 * resource that was never valid is not served; one that is no longer defined
 * anywhere (its file deleted, the resource removed or renamed) is gone.
 */
export class ConfigStore {
  private readonly files = new Map<string, FileState>();
  /**
   * Per identity, the version last served (it passed validation), and whether it
   * served without an error of its own.
   */
  private lastGood = new Map<string, { version: Loaded; clean: boolean }>();

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
          rejected: prev?.rejected ?? [],
          validationIssues: prev?.validationIssues ?? [],
          syntaxIssues: parsed.issues,
          everParsed: prev?.everParsed ?? false,
        });
        continue;
      }
      const result = validateDocuments(parsed.documents);
      const rejected: FileState["rejected"] = [];
      /** The issues of a nameless document, under the identity it was found to have. */
      const renamed = new Map<ConfigIssue, ConfigIssue>();
      for (const r of result.rejected) {
        const id = r.id ?? (prev && sameDocument(prev, r));
        if (!id) continue;
        rejected.push({ id, kind: r.kind, docIndex: r.docIndex });
        if (r.id === undefined) for (const issue of r.issues) renamed.set(issue, { ...issue, resource: id });
      }
      this.files.set(change.path, {
        path: change.path,
        resources: result.resources,
        rejected,
        validationIssues: result.issues.map((i) => renamed.get(i) ?? i),
        syntaxIssues: [],
        everParsed: true,
      });
    }
  }

  /** The resources to serve, one per identity, and the files' problems (without remembering them as good). */
  resources(): { resources: ResourceSet; issues: ConfigIssue[] } {
    const { set, issues } = this.pick(new Set());
    return { resources: set, issues };
  }

  /**
   * Picks what to serve, compiles it with `compile` and remembers what is served as
   * the last good versions. Some mistakes show only against other resources (a
   * backend port its Service lacks, a targetPort no endpoint names): `compile` reports
   * them on the resource that makes the reference, and a new version with such an
   * error yields to its last good version when that one served cleanly. A change
   * that breaks a resource left unchanged (a Service dropping a port an Ingress uses)
   * is applied, as a cluster would: the unchanged resource reports the error.
   */
  serve<C extends { issues: readonly ConfigIssue[] }>(compile: (resources: ResourceSet) => C): Served<C> {
    let pick = this.pick(new Set());
    let compiled = compile(pick.set);
    const late = compiled.issues.filter((i) => {
      const good = i.severity === "error" && i.resource !== undefined ? this.lastGood.get(i.resource) : undefined;
      const current = good?.clean ? pick.served.get(i.resource!) : undefined;
      return current !== undefined && !sameVersion(current, good!.version);
    });
    let lateIssues: ConfigIssue[] = [];
    const lateFiles = new Set<string>();
    if (late.length > 0) {
      const replaced = new Set(late.map((i) => i.resource!));
      for (const id of replaced) lateFiles.add(pick.served.get(id)!.file);
      lateIssues = late.map((i) => this.stillServed(i));
      pick = this.pick(replaced);
      compiled = compile(pick.set);
    }
    const issues = [...pick.issues, ...lateIssues, ...compiled.issues];
    this.remember(pick, compiled.issues);
    return { resources: pick.set, compiled, issues, files: this.report(issues, pick.kept, lateFiles) };
  }

  /**
   * One version per identity: every valid resource (the first file by path wins a
   * duplicate), then the last good version of each identity in `replaced` or whose
   * current versions were all rejected.
   */
  private pick(replaced: ReadonlySet<string>): Pick {
    const set = emptyResourceSet();
    const issues: ConfigIssue[] = [];
    const served = new Map<string, Loaded>();
    const kept = new Set<string>();
    const files = [...this.files.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
    for (const file of files) {
      issues.push(...file.syntaxIssues);
      for (const res of file.resources) {
        if (replaced.has(res.id)) continue;
        const first = served.get(res.id);
        if (first) {
          issues.push({
            severity: "warning",
            code: "duplicate-resource",
            message: `${res.id} is also defined at ${first.source.file}:${first.source.line}, which takes precedence; this one is ignored`,
            resource: res.id,
            ...res.source,
          });
          continue;
        }
        served.set(res.id, res);
        addToSet(set, res);
      }
    }
    for (const id of [...replaced, ...files.flatMap((f) => f.rejected.map((r) => r.id))]) {
      const good = this.lastGood.get(id)?.version;
      if (!good || served.has(id)) continue;
      served.set(id, good);
      addToSet(set, good);
      kept.add(id);
    }
    set.rejected = new Map();
    for (const file of files) {
      for (const issue of file.validationIssues) issues.push(issue.resource !== undefined && kept.has(issue.resource) ? this.stillServed(issue) : issue);
      for (const r of file.rejected) {
        if (served.has(r.id) || set.rejected.has(r.id)) continue;
        const error = file.validationIssues.find((i) => i.resource === r.id && i.severity === "error");
        if (error) set.rejected.set(r.id, { file: error.file, line: error.line, col: error.col });
      }
    }
    return { set, issues, served, kept };
  }

  /** What is served now is the last good version; what is no longer defined is forgotten. */
  private remember(pick: Pick, compileIssues: readonly ConfigIssue[]): void {
    const faulty = new Set(compileIssues.filter((i) => i.severity === "error").map((i) => i.resource));
    const next = new Map<string, { version: Loaded; clean: boolean }>();
    for (const [id, version] of pick.served) next.set(id, pick.kept.has(id) ? this.lastGood.get(id)! : { version, clean: !faulty.has(id) });
    this.lastGood = next;
  }

  private stillServed(issue: ConfigIssue): ConfigIssue {
    if (issue.severity !== "error") return issue;
    const good = this.lastGood.get(issue.resource!)!.version;
    return { ...issue, message: `${issue.message}; the last good version of ${good.id} (${good.source.file}:${good.source.line}) is still served` };
  }

  /**
   * Per-file status. A file whose resource has a cross-resource error (a backend port
   * its Service lacks) is `invalid` too.
   */
  private report(issues: readonly ConfigIssue[], kept: ReadonlySet<string>, lateFiles: ReadonlySet<string>): FileReport[] {
    const withErrors = new Set(issues.filter((i) => i.severity === "error").map((i) => i.file));
    return [...this.files.values()]
      .sort((a, b) => (a.path < b.path ? -1 : 1))
      .map((f) => {
        const keeps = f.rejected.filter((r) => kept.has(r.id)).length;
        return {
          path: f.path,
          status: f.syntaxIssues.length > 0 ? "syntax-error" : withErrors.has(f.path) ? "invalid" : "ok",
          resources: f.resources.length + keeps,
          servingLastGood: (f.syntaxIssues.length > 0 && f.everParsed) || keeps > 0 || lateFiles.has(f.path),
        };
      });
  }
}

/**
 * The identity a rejected document without a name had in the file's previous version:
 * the resource of its kind at the same place. A mis-indented `name:` is a mistake in
 * that resource, not its removal.
 */
function sameDocument(prev: FileState, rejected: Rejected): string | undefined {
  const at = [...prev.resources, ...prev.rejected].filter((r) => r.kind === rejected.kind && r.docIndex === rejected.docIndex);
  return at.length === 1 ? at[0]!.id : undefined;
}

/** The same resource text, whether or not its file was parsed again. */
function sameVersion(a: Loaded, b: Loaded): boolean {
  return a === b || JSON.stringify(a.object) === JSON.stringify(b.object);
}
