import type { ConfigChange, ConfigSource } from "./source.js";

/**
 * Rules held in memory rather than in files: the YAML that `ingressd proxy --from … --to …`
 * and `ingressd run NAME` stand for. Each entry is named like a file ("<ingressd proxy
 * --from app.localhost>"), so its problems, its routes' sources and the dashboard say where
 * it came from, and it goes through the same parse → validate → compile as a file.
 */
export class MemorySource implements ConfigSource {
  private readonly entries = new Map<string, string>();
  private listener: ((changes: ConfigChange[]) => void) | undefined;

  constructor(initial: readonly ConfigChange[] = []) {
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

  has(path: string): boolean {
    return this.entries.has(path);
  }

  /** Adds or replaces an entry; a watching runtime reloads with it. */
  set(path: string, text: string): void {
    this.apply([{ path, text }]);
  }

  delete(path: string): void {
    if (this.entries.has(path)) this.apply([{ path, text: null }]);
  }

  /** Several changes as one batch (one reload), in their order. */
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
