/**
 * ClientIP session affinity's memory: client address → pinned endpoint address, each
 * entry alive for `timeoutMs` after that client's last request or connection.
 *
 * The Map is kept in last-use order (an entry is moved to the end when used), so the
 * expired entries are always at the front and eviction never scans live ones. A hard
 * cap bounds memory even when many clients arrive within one timeout.
 */
export class AffinityTable {
  private readonly entries = new Map<string, { address: string; expires: number }>();

  constructor(
    readonly timeoutMs: number,
    private readonly maxEntries = 100_000,
  ) {}

  /** The endpoint address `client` is pinned to, if the pin has not expired. */
  get(client: string, now: number): string | undefined {
    const entry = this.entries.get(client);
    if (!entry) return undefined;
    if (entry.expires <= now) {
      this.entries.delete(client);
      return undefined;
    }
    return entry.address;
  }

  /** Pins (or re-pins) `client`, counting its timeout from `now`. */
  pin(client: string, address: string, now: number): void {
    this.entries.delete(client);
    this.entries.set(client, { address, expires: now + this.timeoutMs });
    this.evict(now);
  }

  get size(): number {
    return this.entries.size;
  }

  private evict(now: number): void {
    for (const [client, entry] of this.entries) {
      if (entry.expires > now && this.entries.size <= this.maxEntries) break;
      this.entries.delete(client);
    }
  }
}
