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
// The access log goes straight to a file: parsing a million lines here would load the machine.
const server = await c.startIngressd({ rules: [rules.dir], pipeLogs: false });
const deadline = Date.now() + SECONDS * 1000;
c.progress(S, `ingressd pid ${server.pid} on :${server.httpPort}; goal ${REQUESTS} requests and ${RELOADS} reloads within ${SECONDS} s; RSS at start ${c.rssKb(server.pid)} kB`);

let reloads = 0;
let reloadStalls = 0;
let loadDone = false;
const reloading = (async () => {
  let gen = await c.generation(server.adminPort);
  while ((reloads < RELOADS || !loadDone) && Date.now() < deadline && server.alive()) {
    if (reloads >= RELOADS) {
      await c.sleep(200);
      continue;
    }
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
let baseline; // { requests, rss }
const samples = [];
while ((requests < REQUESTS || reloads < RELOADS) && Date.now() < deadline && server.alive()) {
  // Short rounds until the baseline, so it is taken near 100,000 requests.
  const seconds = baseline ? Math.max(1, Math.min(15, Math.floor((deadline - Date.now()) / 1000) - 5)) : 2;
  if (seconds < 1) break;
  const r = await c.runWrk({ port: server.httpPort, host: HOST, seconds, connections: 50 });
  requests += r.requests;
  failed += r.non2xx + r.socketErrors;
  const rss = c.rssKb(server.pid);
  samples.push(rss);
  if (!baseline && requests >= BASELINE_AT) {
    baseline = { requests, rss };
    c.progress(S, `baseline: RSS ${rss} kB after ${requests} requests (${reloads} reloads so far)`);
  } else {
    c.progress(S, `${requests} requests (${Math.round(r.reqPerSec)}/s, ${r.non2xx + r.socketErrors} failed), ${reloads} reloads, RSS ${rss} kB`);
  }
}
loadDone = true;
await reloading;
const alive = server.alive();
const endRss = alive ? c.rssKb(server.pid) : 0;
const stopped = await server.stop();
await upstream.stop();
await rules.cleanup();

const ratio = baseline && endRss ? endRss / baseline.rss - 1 : NaN;
const mb = (kb) => `${(kb / 1024).toFixed(1)} MB`;
c.figure(S, 'requests / reloads in one process', `${requests} / ${reloads}${reloadStalls ? ` (${reloadStalls} reloads not seen)` : ''}`, `≥ ${REQUESTS} / ≥ ${RELOADS}`, requests >= REQUESTS && reloads >= RELOADS);
c.figure(S, 'failed requests (non-2xx, socket errors)', failed, '0', failed === 0);
c.figure(
  S,
  `RSS at end vs after the first ${BASELINE_AT} requests`,
  baseline ? `${ratio >= 0 ? '+' : ''}${(ratio * 100).toFixed(1)} % (${mb(baseline.rss)} at ${baseline.requests} → ${mb(endRss)}; peak ${mb(Math.max(...samples))})` : 'no baseline',
  'within ±10 %',
  Math.abs(ratio) <= 0.1,
);
c.figure(S, 'process alive, clean exit', alive ? `yes, exit ${stopped.code ?? stopped.signal}` : `died: ${server.stderr().slice(0, 200)}`, 'yes, exit 0', alive && stopped.code === 0);
