/**
 * Exponential backoff with jitter, as client-go's reflector retries a failed list or
 * watch: each wait doubles from `initialMs` up to `maxMs`, and is stretched by a random
 * part of itself so that replicas that lost the API server together do not come back at
 * the same instant. `reset` after a success.
 */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly initialMs = 800,
    private readonly maxMs = 30_000,
    private readonly random: () => number = Math.random,
  ) {}

  /** How long to wait before the next try. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** this.failures);
    this.failures = Math.min(this.failures + 1, 30);
    return Math.round(base * (1 + this.random()));
  }

  reset(): void {
    this.failures = 0;
  }
}
