import type { ConfigIssue } from "../model/issues.js";
import type { ConfigChange, ConfigSource, SourceStatus } from "./source.js";

/** Several sources as one (rules files beside in-memory rules); their paths must not collide. */
export class CombinedSource implements ConfigSource {
  constructor(private readonly sources: readonly ConfigSource[]) {}

  async readAll(): Promise<ConfigChange[]> {
    return (await Promise.all(this.sources.map((s) => s.readAll()))).flat();
  }

  async watch(onChanges: (changes: ConfigChange[]) => void): Promise<void> {
    await Promise.all(this.sources.map((s) => s.watch(onChanges)));
  }

  async close(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.close()));
  }

  missing(): ConfigIssue[] {
    return this.sources.flatMap((s) => s.missing?.() ?? []);
  }

  /** The first source that can lose its connection says how it is. */
  status(): SourceStatus | undefined {
    for (const s of this.sources) {
      const status = s.status?.();
      if (status) return status;
    }
    return undefined;
  }
}

/** A source read once and never watched (`--no-watch` for the rules files). */
export function unwatched(source: ConfigSource): ConfigSource {
  return {
    readAll: () => source.readAll(),
    watch: () => Promise.resolve(),
    close: () => source.close(),
    missing: () => source.missing?.() ?? [],
    ...(source.status ? { status: () => source.status!() } : {}),
  };
}
