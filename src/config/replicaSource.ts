import type { ConfigIssue } from "../model/issues.js";
import type { ConfigChange, ConfigSource } from "./source.js";

/**
 * A copy of another process's configuration inputs: what a worker of `--workers N`
 * serves. The primary watches the files and owns the in-memory rules; it sends the
 * texts it has and then every batch of changes, which `apply` hands to the worker's
 * runtime in the order they came, so every worker compiles the same inputs.
 */
export class ReplicaSource implements ConfigSource {
  private readonly entries = new Map<string, string>();
  private listener: ((changes: ConfigChange[]) => void) | undefined;

  /** `missing`: the source's own errors (rules paths that do not exist), as the primary's source reports them. */
  constructor(
    initial: readonly ConfigChange[],
    private readonly missingIssues: () => ConfigIssue[] = () => [],
  ) {
    this.record(initial);
  }

  readAll(): Promise<ConfigChange[]> {
    return Promise.resolve([...this.entries].map(([path, text]) => ({ path, text })));
  }

  watch(onChanges: (changes: ConfigChange[]) => void): Promise<void> {
    this.listener = onChanges;
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.listener = undefined;
    return Promise.resolve();
  }

  missing(): ConfigIssue[] {
    return this.missingIssues();
  }

  /** One batch of the primary's changes. */
  apply(changes: readonly ConfigChange[]): void {
    this.record(changes);
    this.listener?.([...changes]);
  }

  private record(changes: readonly ConfigChange[]): void {
    for (const c of changes) {
      if (c.text === null) this.entries.delete(c.path);
      else this.entries.set(c.path, c.text);
    }
  }
}
