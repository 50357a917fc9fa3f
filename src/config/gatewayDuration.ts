/**
 * Gateway API durations (GEP-2257): one to four `<number><unit>` parts, each number of
 * at most five digits, units h, m, s, ms — "10s", "500ms", "1h2m3s4ms". The format is a
 * strict subset of Go's, so what the API server accepts parses here the same way.
 */
const DURATION = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;
const PART = /([0-9]{1,5})(ms|h|m|s)/g;
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** The duration `s` in milliseconds, or undefined when `s` is not a Gateway API duration. */
export function parseGatewayDuration(s: string): number | undefined {
  if (!DURATION.test(s)) return undefined;
  let ms = 0;
  for (const [, n, unit] of s.matchAll(PART)) ms += Number(n) * UNIT_MS[unit!]!;
  return ms;
}
