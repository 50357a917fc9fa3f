import type { AccessLog, AccessRecord } from "../model/observers.js";

/** How many requests the dashboard's recent-requests view keeps. */
export const RECENT_REQUESTS = 200;

/** One of the recent requests: the access-log record, its time (epoch ms) and its sequence number. */
export type RecentRequest = { seq: number; time: number } & AccessRecord;

/**
 * The last requests, for the dashboard and `/api/requests`: a ring of the access-log
 * records already built for the log. Adding one is a slot write, no allocation.
 */
export class RecentRequests {
  private readonly records: (AccessRecord | undefined)[];
  private readonly times: Float64Array;
  /** How many were ever added: the next one's sequence number. */
  total = 0;

  constructor(readonly capacity = RECENT_REQUESTS) {
    this.records = new Array<AccessRecord | undefined>(capacity).fill(undefined);
    this.times = new Float64Array(capacity);
  }

  add(record: AccessRecord, time: number): void {
    const slot = this.total % this.capacity;
    this.records[slot] = record;
    this.times[slot] = time;
    this.total++;
  }

  /** Those added from sequence number `since` on (at most the last `capacity`), oldest first. */
  since(since = 0): RecentRequest[] {
    const out: RecentRequest[] = [];
    for (let seq = Math.max(since, this.total - this.capacity, 0); seq < this.total; seq++) {
      const slot = seq % this.capacity;
      out.push({ seq, time: this.times[slot]!, ...this.records[slot]! });
    }
    return out;
  }
}

/** The access log, each record also kept among the recent requests. */
export function keepingRecent(log: AccessLog, recent: RecentRequests): AccessLog {
  const keep = (level: "info" | "warn", record: AccessRecord): void => {
    recent.add(record, Date.now());
    log(level, record);
  };
  return Object.assign(keep, { flush: () => log.flush() });
}
