import type { ConfigIssue } from "../model/issues.js";
import type { ConfigChange, ConfigSource, SourceStatus } from "./source.js";

/**
 * A source whose batches are also told to `onBatch` (the primary of `--workers N` sends
 * them to its workers), numbered in order, with the texts they add up to kept: a worker
 * forked later starts from `inputs()` at `version` and follows the batches after it.
 * A read of everything (start, rescan) is told as the changes it makes: new and
 * changed texts, and the paths it no longer has as removals.
 */
export class MirroredSource implements ConfigSource {
  private readonly entries = new Map<string, string>();
  /** How many batches have been told. */
  version = 0;

  constructor(
    private readonly inner: ConfigSource,
    private readonly onBatch: (changes: ConfigChange[], version: number) => void,
  ) {}

  async readAll(): Promise<ConfigChange[]> {
    const all = await this.inner.readAll();
    const present = new Set(all.map((c) => c.path));
    const gone = [...this.entries.keys()].filter((p) => !present.has(p)).map((path) => ({ path, text: null }));
    this.tell([...all.filter((c) => c.text === null || this.entries.get(c.path) !== c.text), ...gone]);
    return all;
  }

  watch(onChanges: (changes: ConfigChange[]) => void): Promise<void> {
    return this.inner.watch((changes) => {
      this.tell(changes);
      onChanges(changes);
    });
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  missing(): ConfigIssue[] {
    return this.inner.missing?.() ?? [];
  }

  status(): SourceStatus | undefined {
    return this.inner.status?.();
  }

  /** The texts every batch told so far adds up to. */
  inputs(): ConfigChange[] {
    return [...this.entries].map(([path, text]) => ({ path, text }));
  }

  private tell(changes: ConfigChange[]): void {
    for (const c of changes) {
      if (c.text === null) this.entries.delete(c.path);
      else this.entries.set(c.path, c.text);
    }
    this.version++;
    this.onBatch(changes, this.version);
  }
}
