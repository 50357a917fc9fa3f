/**
 * A Gateway API Duration (GEP-2257): one to four parts of a number and a unit `h`, `m`,
 * `s` or `ms`, e.g. `10s`, `1m30s`, `500ms`, `0s` — in milliseconds, or undefined when
 * `text` is not one.
 */
export function parseGatewayDuration(text: string): number | undefined {
  if (!/^([0-9]{1,5}(h|m|s|ms)){1,4}$/.test(text)) return undefined;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  let ms = 0;
  for (const [, n, u] of text.matchAll(/([0-9]+)(ms|h|m|s)/g)) ms += Number(n) * unit[u!]!;
  return ms;
}
