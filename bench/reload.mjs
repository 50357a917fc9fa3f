// Measures hot-reload latency: time from writing a file with 1,000 new Ingresses
// into the rules folder until the proxy routes the last of them.
// Usage: node bench/reload.mjs <rulesDir> <proxyPort> [count=1000]
// Expects a Service `bench` (port 80) to exist already in <rulesDir>.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { stringify } from 'yaml';

const [rulesDir, portArg, countArg = '1000'] = process.argv.slice(2);
const port = Number(portArg), count = Number(countArg);
if (!rulesDir || !(port > 0) || !(count >= 1)) {
  console.error('usage: node bench/reload.mjs <rulesDir> <proxyPort> [count]');
  process.exit(2);
}
const POLL_MS = 5, LIMIT_MS = 10_000;
const lastHost = `r${count - 1}.reload.localhost`;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function status(host) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', headers: { host }, agent, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Sanity: the host must not be routed before the write, or we would measure nothing.
const before = await status(lastHost);
if (before === 200) {
  console.error(`reload: ${lastHost} already answers 200 before the write; is ${rulesDir} stale?`);
  process.exit(1);
}

const yaml = Array.from({ length: count }, (_, i) => stringify({
  apiVersion: 'networking.k8s.io/v1', kind: 'Ingress',
  metadata: { name: `reload-${i}`, namespace: 'default' },
  spec: { rules: [{ host: `r${i}.reload.localhost`, http: { paths: [
    { path: '/', pathType: 'Prefix', backend: { service: { name: 'bench', port: { number: 80 } } } },
  ] } }] },
})).join('---\n');

// Write next to the folder and rename into it, so the watcher never sees a
// half-written file (the way config-management tools and kubelet swap files).
// The clock starts before the write: serialising was done above, not timed.
const tmp = path.join(path.dirname(path.resolve(rulesDir)), `.reload-${process.pid}.yaml`);
const start = performance.now();
fs.writeFileSync(tmp, yaml);
fs.renameSync(tmp, path.join(rulesDir, 'reload.yaml'));

let last = 0;
while (performance.now() - start < LIMIT_MS) {
  const pollStart = performance.now();
  last = await status(lastHost);
  if (last === 200) break;
  await sleep(Math.max(0, POLL_MS - (performance.now() - pollStart)));
}
const elapsed = performance.now() - start;
agent.destroy();

if (last !== 200) {
  console.log(`reload of ${count} Ingresses: TIMEOUT, ${lastHost} still answered ${last || 'no response'} after ${LIMIT_MS} ms (goal < 300 ms)`);
  process.exit(1);
}
console.log(`reload of ${count} Ingresses: ${Math.round(elapsed)} ms (goal < 300 ms)${elapsed < 300 ? ' ok' : ' MISSED'}`);
