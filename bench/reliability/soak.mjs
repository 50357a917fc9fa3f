// Soak: SOAK_REQUESTS (1,000,000) requests and SOAK_RELOADS (1,000) reloads in one
// ingressd process, access log on. Goal: RSS at the end within 10 % of RSS after the
// first 100,000 requests. Load is wrk in rounds (it runs for a duration, so requests
// are counted from its output); reloads alternate a rules file between two versions,
// each adding one Service (with its own endpoint pool) and removing the other, each
// awaited by its generation. Both go on until both counts are reached, or the time
// bound SOAK_SECONDS (360) runs out.
import * as c from './common.mjs';

const S = 'soak';
const REQUESTS = Number(process.env.SOAK_REQUESTS ?? 1_000_000);
const RELOADS = Number(process.env.SOAK_RELOADS ?? 1_000);
const BASELINE_AT = Math.min(100_000, REQUESTS / 10);
const SECONDS = Number(process.env.SOAK_SECONDS ?? 360);
const HOST = 'soak.localhost';

c.requireWrk();
const upstream = await c.startUpstream();
const rules = await c.tempDir('ingressd-soak-');
await rules.write('a-soak.yaml', c.serviceYaml('soak', upstream.port) + '---\n' + c.ingressYaml('soak', HOST, 'soak'));
/** Version `v` of the churning file: a Service, its Endpoints and 20 routes of its own. */
const churn = (v) =>
  [c.serviceYaml(`churn-${v}`, upstream.port), ...Array.from({ length: 20 }, (_, i) => c.ingressYaml(`churn-${v}-${i}`, `c${i}.${v}.churn.localhost`, `churn-${v}`, { path: `/${v}/${i}` }))].join('---\n');
await rules.write('churn.yaml', churn('a'));
// A leak and the garbage collector's sizing both show as RSS growth: the GC probe tells
// them apart (asked only after each RSS reading).
// The access log goes straight to a file: parsing a million lines here would load the machine.
const server = await c.startIngressd({ rules: [rules.dir], pipeLogs: false, gcProbe: true });
const deadline = Date.now() + SECONDS * 1000;
c.progress(S, `ingressd pid ${server.pid} on :${server.httpPort}; goal ${REQUESTS} requests and ${RELOADS} reloads within ${SECONDS} s; RSS at start ${c.rssKb(server.pid)} kB`);

let reloads = 0;
let reloadStalls = 0;
let loadDone = false;
const reloading = (async () => {
  let gen = await c.generation(server.adminPort);
  // Reloads go on as long as the load, so both RSS readings are taken under the same churn.
  while (!loadDone && Date.now() < deadline && server.alive()) {
    await rules.write('churn.yaml', churn(reloads % 2 === 0 ? 'b' : 'a'));
    try {
      gen = await c.waitForGeneration(server.adminPort, gen + 1, 10_000);
      reloads++;
    } catch {
      reloadStalls++;
      gen = await c.generation(server.adminPort).catch(() => gen);
    }
  }
})();

let requests = 0;
let failed = 0;
const samples = [];
/** One wrk round; with `measure`, RSS sampled every 250 ms through it (its median is the reading). */
async function round(seconds, measure = false) {
  const rss = [];
  const timer = measure ? setInterval(() => server.alive() && rss.push(c.rssKb(server.pid)), 250) : undefined;
  const r = await c.runWrk({ port: server.httpPort, host: HOST, seconds, connections: 50 });
  clearInterval(timer);
  requests += r.requests;
  failed += r.non2xx + r.socketErrors;
  samples.push(c.rssKb(server.pid));
  c.progress(S, `${requests} requests (${Math.round(r.reqPerSec)}/s, ${r.non2xx + r.socketErrors} failed), ${reloads} reloads, RSS ${samples.at(-1)} kB`);
  return rss.sort((a, b) => a - b);
}
/**
 * RSS under load moves by tens of MB with the garbage collector's timing, so a single
 * reading says little: each of the two readings is the median of the samples of a
 * 5-second round, and both are taken under the same load.
 */
const reading = async (rss) => {
  const afterGc = await server.heapAfterGc().catch(() => ({ heapUsed: NaN, rss: NaN }));
  return { requests, rss: rss[rss.length >> 1], low: rss[0], high: rss.at(-1), heap: afterGc.heapUsed, rssAfterGc: afterGc.rss };
};
const left = () => Math.floor((deadline - Date.now()) / 1000);
while (requests < BASELINE_AT && left() > 10 && server.alive()) await round(2);
const baseline = server.alive() ? await reading(await round(5, true)) : undefined;
if (baseline) c.progress(S, `baseline: RSS ${baseline.rss} kB (median; ${baseline.low}–${baseline.high}), heap after GC ${baseline.heap} kB, at ${baseline.requests} requests, ${reloads} reloads`);
while ((requests < REQUESTS || reloads < RELOADS) && left() > 10 && server.alive()) await round(Math.min(15, left() - 10));
const end = server.alive() ? await reading(await round(5, true)) : undefined;
loadDone = true;
await reloading;
const alive = server.alive();
const endRss = end?.rss ?? 0;
const stopped = await server.stop();
await upstream.stop();
await rules.cleanup();

const ratio = baseline && endRss ? endRss / baseline.rss - 1 : NaN;
const mb = (kb) => `${(kb / 1024).toFixed(1)} MB`;
c.figure(S, 'requests / reloads in one process', `${requests} / ${reloads}${reloadStalls ? ` (${reloadStalls} reloads not seen)` : ''}`, `≥ ${REQUESTS} / ≥ ${RELOADS}`, requests >= REQUESTS && reloads >= RELOADS);
c.figure(S, 'failed requests (non-2xx, socket errors)', failed, '0', failed === 0);
const pct = (r) => `${r >= 0 ? '+' : ''}${(r * 100).toFixed(1)} %`;
// The goal's reading: RSS after a full collection at both points, so neither depends on
// where the collector is in its cycle (under load RSS climbs by tens of MB until the first
// full collection hands memory back, which can come after the first 100,000 requests).
const gcRatio = baseline && end ? end.rssAfterGc / baseline.rssAfterGc - 1 : NaN;
c.figure(
  S,
  `RSS after a full GC, end vs after the first ${BASELINE_AT} requests`,
  baseline && end ? `${pct(gcRatio)} (${mb(baseline.rssAfterGc)} at ${baseline.requests} → ${mb(end.rssAfterGc)} at ${end.requests})` : 'no reading',
  'within ±10 %',
  Math.abs(gcRatio) <= 0.1,
);
// Under load, as it is: a leak would show as growth; a fall is the collector handing memory back.
c.figure(
  S,
  `RSS under load (median of a 5 s round), end vs after the first ${BASELINE_AT} requests`,
  baseline && end
    ? `${pct(ratio)} (median ${mb(baseline.rss)} at ${baseline.requests} → ${mb(end.rss)} at ${end.requests}; samples ${mb(baseline.low)}–${mb(baseline.high)} → ${mb(end.low)}–${mb(end.high)}; peak ${mb(Math.max(...samples))})`
    : 'no reading',
  'at most +10 %',
  ratio <= 0.1,
);
const heapRatio = baseline && end ? end.heap / baseline.heap - 1 : NaN;
c.figure(
  S,
  `heap in use after a full GC, end vs after the first ${BASELINE_AT} requests (a leak, not GC sizing)`,
  baseline && end ? `${heapRatio >= 0 ? '+' : ''}${(heapRatio * 100).toFixed(1)} % (${mb(baseline.heap)} → ${mb(end.heap)})` : 'no reading',
  'within ±10 %',
  Math.abs(heapRatio) <= 0.1,
);
c.figure(S, 'process alive, clean exit', alive ? `yes, exit ${stopped.code ?? stopped.signal}` : `died: ${server.stderr().slice(0, 200)}`, 'yes, exit 0', alive && stopped.code === 0);
