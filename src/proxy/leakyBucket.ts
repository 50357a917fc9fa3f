/**
 * nginx's limit_req arithmetic (ngx_http_limit_req_lookup), in its units: a rate in
 * milli-requests per second (`10r/s` = 10000, `30r/m` = 500, truncated as nginx does),
 * a bucket's excess in milli-requests, time in milliseconds. Each request adds 1000 to
 * the excess, which drains at the rate; a request is refused when the excess would pass
 * the burst (× 1000). Refused requests leave the bucket as it was.
 */
export interface Bucket {
  /** Requests waiting in the bucket, × 1000. */
  excess: number;
  /** When the last accepted request came (ms, monotonic). */
  last: number;
}

/** nginx's `rate`: requests per `periodSeconds`, as milli-requests per second. */
export function bucketRate(requests: number, periodSeconds: number): number {
  return Math.floor((requests * 1000) / periodSeconds);
}

/** The excess this request would leave (it fits when ≤ burst × 1000). */
export function excessWith(b: Bucket, rate: number, now: number): number {
  const ms = Math.max(0, now - b.last);
  const excess = b.excess - (rate * ms) / 1000 + 1000;
  return excess < 0 ? 0 : excess;
}

/** Whether nothing is left in the bucket at `now`: forgetting it changes nothing. */
export function drained(b: Bucket, rate: number, now: number): boolean {
  return b.excess - (rate * Math.max(0, now - b.last)) / 1000 <= 0;
}
