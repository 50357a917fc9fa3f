import type { ConfigIssue } from "../model/issues.js";
import { MemorySource } from "./memorySource.js";
import type { ConfigChange } from "./source.js";

/**
 * A copy of another process's configuration inputs: what a worker of `--workers N`
 * serves. The primary watches the files and owns the in-memory rules; it sends the
 * texts it has and then every batch of changes, which `apply` hands to the worker's
 * runtime in the order they came, so every worker compiles the same inputs.
 */
export class ReplicaSource extends MemorySource {
  /** `missing`: the source's own errors (rules paths that do not exist), as the primary's source reports them. */
  constructor(
    initial: readonly ConfigChange[],
    private readonly missingIssues: () => ConfigIssue[] = () => [],
  ) {
    super(initial);
  }

  missing(): ConfigIssue[] {
    return this.missingIssues();
  }
}
