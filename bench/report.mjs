// Turns the raw per-run results written by run.sh into the Markdown table and
// the goal lines. Kept separate from run.sh because the arithmetic is float.
// Usage: node bench/report.mjs <results.tsv>
// results.tsv columns (tab-separated, no header):
//   key  label  round  req/s  p50_ms  p99_ms  rss_kib  non2xx  socket_errors  cpu_us_per_request
import fs from 'node:fs';

const rows = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').filter(Boolean).map((line) => {
  const [key, label, round, rps, p50, p99, rss, non2xx, sockErr, cpu] = line.split('\t');
  return { key, label, round: +round, rps: +rps, p50: +p50, p99: +p99, rss: +rss, errors: +non2xx + +sockErr, cpu: +cpu };
});

// Per target: the round with the best req/s (least disturbed by the other
// tenants of a 2-core box); p50/p99 come from that same run. RSS is the largest
// seen after any run; errors are summed over all measured runs. The last column
// lists every round's req/s, so the noise can be judged next to the ratios.
const targets = new Map();
for (const r of rows) {
  const t = targets.get(r.key);
  if (!t) { targets.set(r.key, { ...r, all: [r.rps], cpus: [r.cpu] }); continue; }
  t.all.push(r.rps);
  t.cpus.push(r.cpu);
  const rss = Math.max(t.rss, r.rss), errors = t.errors + r.errors;
  if (r.rps > t.rps) Object.assign(t, r);
  Object.assign(t, { rss, errors });
}

// CPU per request: the median over rounds (steadier than req/s on a shared box).
const median = (xs) => { const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : NaN; };
for (const t of targets.values()) {
  t.cpuMedian = median(t.cpus);
  // The least disturbed round: on a shared box, noise only ever adds CPU time.
  t.cpuBest = Math.min(...t.cpus.filter(Number.isFinite));
}
const get = (key) => targets.get(key);
const fmt = (n, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const ratio = (a, b) => (a && b ? a.rps / b.rps : NaN);

const out = [];
out.push('| target | req/s | p50 (ms) | p99 (ms) | RSS MiB | CPU µs/req (best) | CPU µs/req (median) | ratio vs bare http-proxy | ratio vs bare undici | errors | req/s per round |');
out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const t of targets.values()) {
  // A 64 KiB row is compared with the same proxy's 64 KiB row.
  const big = t.key.endsWith('-64k') ? '-64k' : t.key.endsWith('-h2') ? '-h2' : '';
  out.push(`| ${t.label} | ${Math.round(t.rps)} | ${fmt(t.p50)} | ${fmt(t.p99)} | ${fmt(t.rss / 1024, 1)} | ${fmt(t.cpuBest, 1)} | ${fmt(t.cpuMedian, 1)} | `
    + `${fmt(ratio(t, get(`http-proxy${big}`)))} | ${fmt(ratio(t, get(`undici${big}`)))} | ${t.errors} | ${t.all.map(Math.round).join(' / ')} |`);
}
out.push('');
out.push('"errors" = non-2xx/3xx responses + socket errors over all measured runs; a row with errors is not a valid figure.');
out.push('');
// Rounds that disagree by more than 10% mean something else was using the CPU.
const noisy = [...targets.values()].filter((t) => t.all.length > 1 && Math.min(...t.all) < 0.9 * Math.max(...t.all));
if (noisy.length) {
  out.push(`Noisy: rounds differ by more than 10% for ${noisy.map((t) => t.label).join(', ')}; `
    + 'rerun on an idle machine or with more ROUNDS before trusting the ratios.');
  out.push('');
}

// Goal lines, each followed by "ok" or "MISSED" (nothing when not computable).
const goal = (text, value, ok) => out.push(`- ${text.replace('X', fmt(value))}${Number.isFinite(value) ? (ok ? ' ok' : ' MISSED') : ''}`);
const ing = get('ingressd-1'), big = get('ingressd-1k'), hp = get('http-proxy'), un = get('undici');
if (!ing) {
  out.push('- no "ingressd 1 route" row (SKIP_INGRESSD=1, or left out by ONLY): no goal lines.');
} else {
  // Issue 12's goals. CPU per request is compared best round with best round and median
  // with median: throughput is 1 / CPU per request when the proxy is the bottleneck,
  // and the scheduler's noise moves it far less than req/s.
  const cpuOk = un ? ing.cpuBest <= un.cpuBest && ing.cpuMedian <= un.cpuMedian : false;
  out.push(`- 3-byte body, ingressd CPU per request ≤ bare undici's: best ${fmt(ing.cpuBest, 1)} vs ${fmt(un?.cpuBest, 1)} µs (${fmt(un ? ing.cpuBest / un.cpuBest : NaN)}×), median ${fmt(ing.cpuMedian, 1)} vs ${fmt(un?.cpuMedian, 1)} µs (${fmt(un ? ing.cpuMedian / un.cpuMedian : NaN)}×)${un ? (cpuOk ? ' ok' : ' MISSED') : ''}`);
  const pct = big ? (big.cpuMedian / ing.cpuMedian - 1) * 100 : NaN;
  goal('ingressd 1000×10 vs 1 route, CPU per request (median) = X% (goal within 5%)', pct, Math.abs(pct) <= 5);
  const rc = get('ingressd-rc');
  const rcPct = rc ? (rc.cpuMedian / ing.cpuMedian - 1) * 100 : NaN;
  goal('ingressd rewrite+CORS vs 1 route, CPU per request (median) = X% (goal ≤ +10%)', rcPct, rcPct <= 10);
  const ing64 = get('ingressd-1-64k'), caddy64 = get('caddy-64k');
  const vsCaddy = ratio(ing64, caddy64);
  goal('64 KiB body, ingressd req/s / Caddy req/s = X (goal ≥ 1)', vsCaddy, vsCaddy >= 1);
  const h2 = ratio(get('ingressd-h2'), get('caddy-h2'));
  goal('HTTP/2 over TLS, ingressd req/s / Caddy req/s = X (goal ≥ 0.8)', h2, h2 >= 0.8);
  const p99 = un ? ing.p99 / un.p99 : NaN;
  goal('ingressd p99 / undici p99 = X (goal ≤ 2)', p99, p99 <= 2);
  const cpuVs = (t) => (t && Number.isFinite(t.cpuMedian) && ing.cpuMedian > 0 ? t.cpuMedian / ing.cpuMedian : NaN);
  out.push(`- for reference: req/s ingressd / http-proxy = ${fmt(ratio(ing, hp))}, ingressd / undici = ${fmt(ratio(ing, un))}; CPU per request (median) http-proxy / ingressd = ${fmt(cpuVs(hp))}`);
}
console.log(out.join('\n'));
