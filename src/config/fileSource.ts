import { readdir, readFile, stat } from "node:fs/promises";
import { basename, extname, join, relative, resolve, sep } from "node:path";
import { watch, type FSWatcher } from "chokidar";
import type { ConfigIssue } from "../model/issues.js";
import { missingRulesPaths } from "./missingRulesPaths.js";
import { QuietPeriod } from "./quietPeriod.js";
import type { ConfigChange, ConfigSource } from "./source.js";

const RULE_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

/** Editors' swap, backup and probe files are never rules, even with a rules extension. */
export function isEditorTempFile(path: string): boolean {
  const name = basename(path);
  return (
    name.endsWith("~") ||
    name.endsWith(".swp") ||
    name.endsWith(".swx") ||
    name.endsWith(".swo") ||
    name.startsWith(".#") ||
    name === "4913" ||
    name.startsWith(".") // hidden files: also editors' atomic-save temporaries
  );
}

export function isRulesFile(path: string): boolean {
  return !isEditorTempFile(path) && RULE_EXTENSIONS.has(extname(path).toLowerCase());
}

/**
 * Hidden folders below a rules root hold editors' state and Kubernetes ConfigMap
 * mounts' `..data` copies: their files are never rules. The root itself may be
 * anywhere, hidden or not (`~/.config/ingressd`).
 */
function inHiddenFolder(relativePath: string): boolean {
  return relativePath.split(sep).slice(0, -1).some((part) => part.startsWith("."));
}

/** chokidar reports at most one change per file per 50 ms and drops the rest: a
 * shorter quiet period could read a file before its dropped second write. */
const MIN_DEBOUNCE_MS = 60;

/** Longest a change waits while others keep coming: a file rewritten every few ms
 * (a generator in watch mode, a sync tool) is still applied about twice a second. */
const MAX_WAIT_MS = 500;

export interface FileSourceOptions {
  /** Files or directories (read recursively). */
  paths: string[];
  /** Quiet time before a batch of changes is applied. */
  debounceMs?: number;
  onError?: (err: Error) => void;
}

/**
 * Rules from files and directories, watched with chokidar. Events are collected per
 * path and applied after a quiet period; each path is then read as it is *now*, so an
 * unlink followed by an add (an editor's atomic save) is one change, never a removal.
 */
export class FileSource implements ConfigSource {
  private readonly roots: string[];
  private readonly debounceMs: number;
  private readonly maxWaitMs: number;
  private watcher: FSWatcher | undefined;
  private pending = new Set<string>();
  private quiet: QuietPeriod | undefined;
  /** Batches are read and handed over in order, even when a read is slow. */
  private delivered: Promise<void> = Promise.resolve();
  /** Files currently known, so a removed directory reports each of its files. */
  private readonly known = new Set<string>();

  constructor(private readonly options: FileSourceOptions) {
    this.roots = options.paths.map((p) => resolve(p));
    this.debounceMs = Math.max(options.debounceMs ?? 100, MIN_DEBOUNCE_MS);
    this.maxWaitMs = Math.max(MAX_WAIT_MS, this.debounceMs);
  }

  missing(): ConfigIssue[] {
    return missingRulesPaths(this.options.paths);
  }

  async readAll(): Promise<ConfigChange[]> {
    const files: string[] = [];
    for (const root of this.roots) files.push(...(await listRulesFiles(root)));
    const changes = await Promise.all([...new Set(files)].sort().map((f) => this.read(f)));
    return changes;
  }

  async watch(onChanges: (changes: ConfigChange[]) => void): Promise<void> {
    // chokidar never reports "ready" for an empty list (`ingressd proxy` without --rules).
    if (this.roots.length === 0) return;
    const watcher = watch(this.roots, {
      ignoreInitial: true,
      ignored: (path, stats) => (stats?.isFile() ?? false) && !this.isWatchedRulesFile(resolve(path)),
      awaitWriteFinish: false,
      atomic: true,
    });
    this.watcher = watcher;
    const quiet = new QuietPeriod(this.debounceMs, this.maxWaitMs, (cutShort) => this.flush(onChanges, cutShort));
    this.quiet = quiet;
    const touch = (path: string): void => {
      if (!this.isWatchedRulesFile(resolve(path))) return;
      this.pending.add(resolve(path));
      quiet.touch();
    };
    watcher.on("add", touch).on("change", touch).on("unlink", touch);
    watcher.on("unlinkDir", (dir: string) => {
      const prefix = resolve(dir) + "/";
      for (const f of this.known) if (f.startsWith(prefix)) this.pending.add(f);
      quiet.touch();
    });
    // A new sub-folder's files arrive as `add` events of their own.
    watcher.on("error", (err) => this.options.onError?.(err as Error));
    await new Promise<void>((res) => watcher.once("ready", () => res()));
  }

  async close(): Promise<void> {
    this.quiet?.cancel();
    await this.watcher?.close();
  }

  private isWatchedRulesFile(path: string): boolean {
    // A root named as a file is read whatever its name, as `readAll` does.
    if (this.roots.includes(path)) return true;
    if (!isRulesFile(path)) return false;
    const root = this.roots.find((r) => path.startsWith(r + sep));
    return root !== undefined && !inHiddenFolder(relative(root, path));
  }

  private flush(onChanges: (changes: ConfigChange[]) => void, cutShort: boolean): void {
    const paths = [...this.pending].sort();
    this.pending.clear();
    if (cutShort) {
      // Cut short by the maximum wait while writes go on. chokidar drops a file's
      // events for 50 ms after one it reports, so the write that ends the burst may
      // never be reported: read these files once more when things are quiet.
      for (const p of paths) this.pending.add(p);
      this.quiet!.again();
    }
    this.delivered = this.delivered
      .then(() => Promise.all(paths.map((p) => this.read(p))))
      .then((changes) => onChanges(changes))
      .catch((err: unknown) => this.options.onError?.(err as Error));
  }

  private async read(path: string): Promise<ConfigChange> {
    try {
      const text = await readFile(path, "utf8");
      this.known.add(path);
      return { path, text };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "EISDIR") {
        this.known.delete(path);
        return { path, text: null };
      }
      throw err;
    }
  }
}

/** Rules files under `root` (or `root` itself when it is a file). A missing root is empty, not an error. */
async function listRulesFiles(root: string): Promise<string[]> {
  let info;
  try {
    info = await stat(root);
  } catch {
    return [];
  }
  // A file named explicitly is read whatever its extension.
  if (info.isFile()) return [root];
  const names = await readdir(root, { recursive: true });
  const files: string[] = [];
  for (const name of names) {
    // The visible names may be symlinks (ConfigMap mounts), hence `stat`.
    const path = join(root, name);
    if (inHiddenFolder(name) || !isRulesFile(path)) continue;
    const s = await stat(path).catch(() => undefined);
    if (s?.isFile()) files.push(path);
  }
  return files;
}
