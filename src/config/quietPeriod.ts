/**
 * Runs `fire` once changes stop coming for `quietMs`, but no later than `maxWaitMs`
 * after the first of them: a burst of edits (an editor's save, `kubectl apply -f dir/`,
 * a rollout's endpoint churn) is one reload, and a stream that never pauses is still
 * applied about twice a second. `fire` learns whether the maximum wait cut it short.
 */
export class QuietPeriod {
  private timer: NodeJS.Timeout | undefined;
  /** When the oldest change not yet fired arrived. */
  private since: number | undefined;

  constructor(
    private readonly quietMs: number,
    private readonly maxWaitMs: number,
    private readonly fire: (cutShort: boolean) => void,
  ) {}

  /** A change arrived. */
  touch(): void {
    const now = Date.now();
    this.since ??= now;
    if (this.timer) clearTimeout(this.timer);
    const wait = Math.min(this.quietMs, this.since + this.maxWaitMs - now);
    const cutShort = wait < this.quietMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.since = undefined;
      this.fire(cutShort);
    }, wait);
  }

  /** Fires again after a full quiet period (for a change that may have been missed). */
  again(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.fire(false);
    }, this.quietMs);
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.since = undefined;
  }
}
