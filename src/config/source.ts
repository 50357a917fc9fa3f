import type { ConfigIssue } from "../model/issues.js";

/**
 * Where configuration comes from. A change carries a file's full new text, or null
 * when the file is gone. The file watcher is one implementation; a Kubernetes API
 * watch would be another (its "path" a resource's identity).
 */
export interface ConfigChange {
  path: string;
  text: string | null;
}

export interface ConfigSource {
  /** Everything there is now. */
  readAll(): Promise<ConfigChange[]>;
  /** Reports later changes in batches; resolves once watching has started. */
  watch(onChanges: (changes: ConfigChange[]) => void): Promise<void>;
  close(): Promise<void>;
  /** Errors about the source itself (a rules path that does not exist), as of now. */
  missing?(): ConfigIssue[];
}
