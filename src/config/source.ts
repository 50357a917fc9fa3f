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

/**
 * Whether the source can see changes now. Files always can; a Kubernetes API server can
 * be lost, and while it is the last configuration keeps serving (`/api/config`'s `source`).
 */
export interface SourceStatus {
  kind: "files" | "kubernetes";
  connected: boolean;
  /** When `connected` last changed (the start, for files). */
  since: Date;
  /** The API server's URL, for `kubernetes`. */
  server?: string;
  /** Why it is not connected. */
  error?: string;
}

export interface ConfigSource {
  /** Everything there is now. */
  readAll(): Promise<ConfigChange[]>;
  /** Reports later changes in batches; resolves once watching has started. */
  watch(onChanges: (changes: ConfigChange[]) => void): Promise<void>;
  close(): Promise<void>;
  /** Errors about the source itself (a rules path that does not exist), as of now. */
  missing?(): ConfigIssue[];
  /** Whether it is connected (a source without it is files, always connected). */
  status?(): SourceStatus | undefined;
}
