// Faulty upstreams: endpoints that reset mid-response, never answer, answer garbage or
// 100 KiB of headers. Each must get the right status (502, 504 after the read timeout),
// be counted against the endpoint's passive health (as nginx counts error, timeout and
// invalid_header as unsuccessful attempts, whatever proxy_next_upstream says), and leave
// no socket behind on either side.
//
// The faulty upstreams are raw `net` servers in this process (they must misbehave at
// the byte level); ingressd runs as a child. The read timeout is ingressd's fixed 60 s
// (no flag or annotation sets it), so the "never answers" requests start first and the
// other cases run while they wait. About 70 s in all.
import fs from 'node:fs';
import net from 'node:net';
import { figure, getConfig, httpGet, ingressYaml, progress, serviceYaml, sleep, startIngressd, tempDir, until } from './common.mjs';

const SCENARIO = 'faulty-upstreams';
/** ingressd's upstream read timeout (src/ingressd.ts default; not configurable). */
const READ_TIMEOUT_MS = 60_000;
const SLACK_MS = 5_000;
const HEADERS_100K = (() => {
  let head = 'HTTP/1.1 200 OK\r\n';
  for (let i = 0; head.length < 100 * 1024; i++) head += `X-Filler-${i}: ${'a'.repeat(80)}\r\n`;
  return head + 'Content-Length: 3\r\n\r\nok\n';
})();

/**
 * What each fake upstream does once a request arrives. `reset` is a TCP RST (not a
 * FIN): the peer sees ECONNRESET, as from a crashed process.
 */
const BEHAVIOURS = {
  'reset-in-head': (c) => {
    c.write('HTTP/1.1 200 OK\r\nContent-Ty');
    setTimeout(() => c.resetAndDestroy(), 20);
  },
  'reset-in-body': (c) => {
    c.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nabc');
    setTimeout(() => c.resetAndDestroy(), 20);
  },
  'never-answers': () => {},
  garbage: (c) => c.write('\x00\x01\x02 this is not HTTP \xff\xfe\r\n\r\n'),
  'headers-100k': (c) => c.write(HEADERS_100K),
};

/** A raw TCP upstream; `sockets` are its connections still open. */
async function fakeUpstream(behaviour) {
  const sockets = new Set();
  const server = net.createServer((c) => {
    sockets.add(c);
    c.on('error', () => {});
    c.once('close', () => sockets.delete(c));
    c.once('data', () => behaviour(c));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: server.address().port, sockets };
}

/** Sockets held by a process (its /proc fd table): a leak shows here whatever its cause. */
function socketCount(pid) {
  let n = 0;
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++;
    } catch {
      // closed between readdir and readlink
    }
  }
  return n;
}

const fakes = {};
for (const [name, behaviour] of Object.entries(BEHAVIOURS)) fakes[name] = await fakeUpstream(behaviour);
const rules = await tempDir();
await rules.write(
  'faulty.yaml',
  Object.entries(fakes)
    .map(([name, f]) => `${serviceYaml(name, f.port)}---\n${ingressYaml(name, `${name}.faulty.localhost`, name)}`)
    .join('---\n'),
);
const ingressd = await startIngressd({ rules: [rules.dir] });
const hostOf = (name) => `${name}.faulty.localhost`;

try {
  const service = async (name) => (await getConfig(ingressd.adminPort)).services.find((s) => s.backend === `default/${name}:80`);
  const maxFails = (await service('garbage')).health.maxFails;
  // Sockets of ingressd at rest: listeners, the log pipes. Upstream pools are made on first use.
  // The lowest of a few readings: the admin connection just used may still be closing.
  let baseline = Infinity;
  for (let i = 0; i < 10; i++) {
    baseline = Math.min(baseline, socketCount(ingressd.pid));
    await sleep(50);
  }
  progress(SCENARIO, `ingressd pid ${ingressd.pid} on :${ingressd.httpPort}; ${baseline} sockets at rest; max-fails ${maxFails} (default)`);

  /** `maxFails` requests to one fake, at once: enough failures to take it out of rotation. */
  const hit = (name) =>
    Promise.all(
      Array.from({ length: maxFails }, async () => {
        const start = performance.now();
        const r = await httpGet({ port: ingressd.httpPort, host: hostOf(name), timeoutMs: READ_TIMEOUT_MS + 30_000 });
        return { ...r, ms: performance.now() - start };
      }),
    );
  const health = async (name) => {
    const ep = (await service(name)).endpoints[0];
    return { out: ep.inRotation === false, text: `inRotation=${ep.inRotation} passive=${JSON.stringify(ep.passive)}` };
  };
  const statuses = (results) => results.map((r) => r.status || 'cut').join(' ');

  progress(SCENARIO, `never-answers: ${maxFails} requests started; they wait for the ${READ_TIMEOUT_MS / 1000} s read timeout while the other cases run`);
  const silent = hit('never-answers');

  for (const [name, want] of [['reset-in-head', 502], ['garbage', 502], ['headers-100k', 502]]) {
    const results = await hit(name);
    const h = await health(name);
    progress(SCENARIO, `${name}: ${statuses(results)}; ${h.text}; first body: ${JSON.stringify(results[0].body.slice(0, 120))}`);
    figure(SCENARIO, `${name}: status`, statuses(results), `${want} each`, results.every((r) => r.status === want));
    figure(SCENARIO, `${name}: health after ${maxFails} failures`, h.text, 'out of rotation', h.out);
  }

  // A reset after the status line was relayed cannot become a 502: the client must see the response cut short.
  const cut = await hit('reset-in-body');
  const allCut = cut.every((r) => r.status === 0 && r.body.length < 1000);
  progress(SCENARIO, `reset-in-body: ${cut.map((r) => `${r.status || 'cut'} after ${r.body.length} of 1000 bytes`).join(', ')}`);
  figure(SCENARIO, 'reset-in-body: response cut', `${cut.filter((r) => r.status === 0).length}/${cut.length} cut`, 'every response cut short, none completed', allCut);

  const timedOut = await silent;
  const slowest = Math.max(...timedOut.map((r) => r.ms));
  const h = await health('never-answers');
  progress(SCENARIO, `never-answers: ${statuses(timedOut)} after ${Math.round(slowest)} ms; ${h.text}`);
  figure(
    SCENARIO,
    'never-answers: status',
    `${statuses(timedOut)} after ${(slowest / 1000).toFixed(1)} s`,
    `504 each within ${(READ_TIMEOUT_MS + SLACK_MS) / 1000} s`,
    timedOut.every((r) => r.status === 504 && r.ms < READ_TIMEOUT_MS + SLACK_MS),
  );
  figure(SCENARIO, `never-answers: health after ${maxFails} timeouts`, h.text, 'out of rotation', h.out);

  // Nothing left open: every fake's connections closed, ingressd back to its sockets at rest.
  const fakesClosed = await until(() => Object.values(fakes).every((f) => f.sockets.size === 0), 5_000);
  const open = Object.entries(fakes).filter(([, f]) => f.sockets.size > 0).map(([n, f]) => `${n}:${f.sockets.size}`);
  figure(SCENARIO, 'upstream connections left open', fakesClosed ? '0' : open.join(' '), '0', fakesClosed);
  const back = await until(() => socketCount(ingressd.pid) <= baseline, 5_000);
  figure(SCENARIO, 'ingressd sockets after the runs', `${socketCount(ingressd.pid)} (at rest ${baseline})`, `<= ${baseline}`, back);
} finally {
  await ingressd.stop();
  for (const f of Object.values(fakes)) {
    for (const c of f.sockets) c.destroy();
    f.server.close();
  }
  await rules.cleanup();
}
