import v8 from "node:v8";

/**
 * Lets V8's old generation always grow to 4× what survived the last full GC (its own
 * largest growing factor on a machine of this size) instead of 1.1–1.3× after the
 * memory reducer has run.
 *
 * Why: V8's memory reducer runs once a process that allocated a lot (ingressd at start:
 * parsing, validating, compiling rules) goes quiet for ~8 s, shrinks the heap, and then
 * has it "grow slowly" until committed memory is 10 MB above what it left. A proxy under
 * steady load never gets there: its live heap stays flat. Meanwhile V8 starts incremental
 * marking whenever the room left below the old-generation limit is smaller than the
 * young generation (16 MB), which with slow growth is right after every full GC. Measured
 * (bench/README.md, § Profiles, "a GC storm"): a 64 KiB load started 20 s after start ran 5 to 10
 * mark-compacts a second, each promoting the requests in flight into the old generation
 * that the next one then collects, at 250–290 µs of CPU per request instead of 120–150,
 * for as long as the load lasted; 3-byte requests paid ~15 %. With a fixed factor the
 * same run does a handful of full GCs and stays at 120–140 µs.
 *
 * `--no-memory-reducer` would be the cleaner switch, but V8 reads it only when the heap is
 * set up (not from NODE_OPTIONS either); the growing factor is read at every full GC, so
 * it can be set from inside the process. Process-wide: the CLI calls this for its own
 * process; the library (index.ts) leaves the embedding application's heap alone.
 */
export function growHeapSteadily(): void {
  v8.setFlagsFromString("--heap-growing-percent=300");
}
