// Shared helpers for the reliability scenarios run by bench/reliability.sh.
// Everything runs on 127.0.0.1; every wait has a deadline; every child process a
// scenario starts through these helpers is killed when the scenario exits.
//
// Contract with reliability.sh: a scenario prints its verdicts as FIGURE lines (below)
// and exits 0 when it ran to its end, whatever the figures say; a non-zero exit means
// the scenario itself crashed (reported as such in the table). Anything else on
// stdout/stderr is progress, shown as is.
//
// API (all ports are numbers, all timeouts milliseconds):
//
//   figure(scenario, name, value, goal, ok)
//       Prints `FIGURE\t<scenario>\t<name>\t<value>\t<goal>\tok|FAIL` on stdout;
//       reliability.sh collects these lines into its table. Returns `ok`.
//   progress(scenario, message)    a progress line (shown as is by reliability.sh)
//   REPO, CLI                      repo root; dist/cli.js (override: INGRESSD=path)
//   sleep(ms), until(pred, timeoutMs) -> boolean, withTimeout(promise, ms, what)
//   freePort()                     a free loopback port (listen(0) probe, then closed)
//   tempDir(prefix) -> { dir, path(name), write(name, text), remove(name), cleanup() }
//       write() is atomic (written beside, then renamed in): the watcher never sees half a file.
//   serviceYaml(name, upstreamPort, { port = 80, namespace })  Service + Endpoints
//   ingressYaml(name, host, service, { path = '/', pathType = 'Prefix', port = 80, namespace })
//   startUpstream({ handler, body = 'ok\n', host = '127.0.0.1', port = 0 })
//       -> { port, pid, child, stop() }
//       A Node http server in a child process (so the measured process is only
//       ingressd). `handler` is optional JS source of `(req, res) => { ... }`,
//       evaluated in the child; without it every request gets 200 `body`.
//   startIngressd({ rules = [dir], args = [], env, logLevel = 'info', keepLogs = true, onLine, pipeLogs = true, gcProbe = false })
//       -> { child, pid, httpPort, adminPort, httpsPort, logFile, lines, stderr(),
//            waitForLine(pred | RegExp, timeoutMs) -> line, exited: Promise<{code, signal}>,
//            alive(), stop(signal = 'SIGTERM', timeoutMs = 15000) -> {code, signal},
//            heapAfterGc() -> { heapUsed, rss } in kB (needs gcProbe) }
//       `node $CLI --rules ... --bind 127.0.0.1` on free ports (probed, passed as
//       --http-port/--https-port/--admin-port; --data-dir in a temp dir), resolved once
//       /readyz answers 200 and the HTTP port accepts. Every stdout line goes to
//       `logFile`; with keepLogs it is also kept in `lines` (raw text). pipeLogs: false
//       writes stdout straight into `logFile` (no parsing in this process, for heavy
//       access logging); `lines` then stays empty and waitForLine is unavailable.
//       gcProbe: ingressd runs with `--expose-gc` and a preloaded probe that, on SIGUSR2,
//       collects garbage fully and writes process.memoryUsage() to stderr: heapAfterGc()
//       tells a leak (heap kept) from the collector's sizing (RSS only). Nothing else changes.
//   getJson(port, path) -> parsed body; getConfig(adminPort) -> /api/config
//   generation(adminPort) -> number
//   waitForGeneration(adminPort, min, timeoutMs = 10000) -> generation >= min
//   httpGet({ port, host, path = '/', agent, timeoutMs = 5000 }) -> { status, body } (status 0 = no response)
//   rssKb(pid) -> VmRSS of the process in kB (from /proc/<pid>/status)
//   requireWrk() -> path of wrk; throws naming the Debian package when missing
//   runWrk({ port, host, path = '/', seconds, connections = 50, threads = 1 })
//       -> { requests, non2xx, socketErrors, seconds, reqPerSec, raw }
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.resolve(REPO, process.env.INGRESSD ?? 'dist/cli.js');

export function figure(scenario, name, value, goal, ok) {
  const clean = (v) => String(v).replace(/[\t\n]/g, ' ');
  process.stdout.write(['FIGURE', scenario, name, value, goal, ok ? 'ok' : 'FAIL'].map(clean).join('\t') + '\n');
  return ok;
}

export function progress(scenario, message) {
  process.stdout.write(`[${scenario}] ${message}\n`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `pred` every 50 ms (for what no event tells); true once it holds, false after `timeoutMs`. */
export async function until(pred, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Children started here; killed if the scenario exits without stopping them. */
const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export async function freePort() {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

export async function tempDir(prefix = 'ingressd-reliability-') {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), prefix));
  let n = 0;
  const at = (name) => path.join(dir, name);
  return {
    dir,
    path: at,
    async write(name, text) {
      const target = at(name);
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      // A hidden temp name in the same folder: the watcher ignores hidden files.
      const tmp = path.join(path.dirname(target), `.tmp-${process.pid}-${n++}`);
      await fs.promises.writeFile(tmp, text);
      await fs.promises.rename(tmp, target);
      return target;
    },
    remove: (name) => fs.promises.rm(at(name), { force: true }),
    cleanup: () => fs.promises.rm(dir, { recursive: true, force: true }),
  };
}

export function serviceYaml(name, upstreamPort, { port = 80, namespace } = {}) {
  const ns = namespace ? `\n  namespace: ${namespace}` : '';
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}${ns}
spec:
  ports:
    - port: ${port}
---
apiVersion: v1
kind: Endpoints
metadata:
  name: ${name}${ns}
subsets:
  - addresses: [{ ip: 127.0.0.1 }]
    ports: [{ port: ${upstreamPort} }]
`;
}

export function ingressYaml(name, host, service, { path: p = '/', pathType = 'Prefix', port = 80, namespace } = {}) {
  const ns = namespace ? `\n  namespace: ${namespace}` : '';
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}${ns}
spec:
  rules:
    - host: "${host}"
      http:
        paths:
          - path: ${p}
            pathType: ${pathType}
            backend:
              service:
                name: ${service}
                port:
                  number: ${port}
`;
}

/** Waits for the first stdout line of a child, with a deadline. */
function firstLine(child, timeoutMs, what) {
  return withTimeout(
    new Promise((resolve, reject) => {
      let buf = '';
      const onData = (d) => {
        buf += d;
        const i = buf.indexOf('\n');
        if (i < 0) return;
        child.stdout.off('data', onData);
        resolve(buf.slice(0, i));
      };
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', onData);
      child.once('exit', (code) => reject(new Error(`${what} exited (${code}) before it was ready`)));
    }),
    timeoutMs,
    what,
  );
}

const UPSTREAM_SOURCE = `
const http = require('node:http');
const [host, port, body, handlerSource] = process.argv.slice(1);
const handler = handlerSource ? (0, eval)('(' + handlerSource + ')') : (req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  res.end(body);
};
const server = http.createServer({ keepAliveTimeout: 75000 }, handler);
server.listen(Number(port), host, () => console.log(server.address().port));
process.on('SIGTERM', () => process.exit(0));
`;

export async function startUpstream({ handler, body = 'ok\n', host = '127.0.0.1', port = 0 } = {}) {
  const child = track(spawn(process.execPath, ['-e', UPSTREAM_SOURCE, host, String(port), body, handler ?? ''], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const line = await firstLine(child, 10_000, 'upstream');
  child.stdout.resume();
  return {
    port: Number(line),
    pid: child.pid,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

// The reading waits a moment after the collection: the collector's sweeper hands freed
// pages back to the system concurrently, so RSS settles shortly after gc() returns.
const GC_PROBE = `process.on('SIGUSR2', () => {
  globalThis.gc();
  globalThis.gc();
  setTimeout(() => process.stderr.write('GC-PROBE ' + JSON.stringify(process.memoryUsage()) + '\\n'), 500);
});
`;

export async function startIngressd({ rules, args = [], env = {}, logLevel = 'info', keepLogs = true, onLine, pipeLogs = true, gcProbe = false } = {}) {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} not found: run 'npm run build' first`);
  const work = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'ingressd-run-'));
  const [httpPort, httpsPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  const argv = [
    CLI,
    ...(rules ?? []).flatMap((r) => ['--rules', r]),
    '--bind', '127.0.0.1',
    '--http-port', String(httpPort),
    '--https-port', String(httpsPort),
    '--admin-port', String(adminPort),
    '--data-dir', path.join(work, 'data'),
    '--log-level', logLevel,
    ...args,
  ];
  const logFile = path.join(work, 'ingressd.log');
  const logFd = pipeLogs ? undefined : fs.openSync(logFile, 'a');
  const childEnv = { ...process.env, ...env };
  if (gcProbe) {
    const probe = path.join(work, 'gc-probe.cjs');
    fs.writeFileSync(probe, GC_PROBE);
    childEnv.NODE_OPTIONS = `${childEnv.NODE_OPTIONS ?? ''} --expose-gc --require ${probe}`.trim();
  }
  const child = track(spawn(process.execPath, argv, { stdio: ['ignore', logFd ?? 'pipe', 'pipe'], env: childEnv }));
  if (logFd !== undefined) fs.closeSync(logFd);
  const log = pipeLogs ? fs.createWriteStream(logFile) : undefined;
  const lines = [];
  const waiters = new Set();
  let partial = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk) => {
    log.write(chunk);
    const parts = (partial + chunk).split('\n');
    partial = parts.pop();
    for (const line of parts) {
      if (keepLogs) lines.push(line);
      onLine?.(line);
      for (const w of waiters) w(line);
    }
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => (stderr += d));
  // 'close', not 'exit': by then every line the process wrote has been read.
  const exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  exited.then(() => log?.end());
  const alive = () => child.exitCode === null && child.signalCode === null;

  const waitForLine = (pred, timeoutMs = 10_000) => {
    if (!pipeLogs) return Promise.reject(new Error('waitForLine needs pipeLogs: true'));
    const test = pred instanceof RegExp ? (l) => pred.test(l) : pred;
    const seen = lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    let waiter;
    return withTimeout(
      new Promise((resolve) => {
        waiter = (l) => test(l) && resolve(l);
        waiters.add(waiter);
      }),
      timeoutMs,
      `ingressd log line ${pred}`,
    ).finally(() => waiters.delete(waiter));
  };

  // Ready: /readyz answers 200 and the HTTP listener (opened after the first load) accepts.
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (!alive()) throw new Error(`ingressd exited before it was ready: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`ingressd not ready within 15 s (log: ${logFile})`);
    const ready = await httpGet({ port: adminPort, path: '/readyz', timeoutMs: 1000 });
    if (ready.status === 200 && (await canConnect(httpPort))) break;
    await sleep(50);
  }
  return {
    child,
    pid: child.pid,
    httpPort,
    httpsPort,
    adminPort,
    logFile,
    lines,
    stderr: () => stderr,
    waitForLine,
    exited,
    alive,
    async heapAfterGc() {
      if (!gcProbe) throw new Error('heapAfterGc needs gcProbe: true');
      const from = stderr.length;
      child.kill('SIGUSR2');
      const until = Date.now() + 10_000;
      for (;;) {
        const m = /GC-PROBE (\{.*\})/.exec(stderr.slice(from));
        if (m) {
          const { heapUsed, rss } = JSON.parse(m[1]);
          return { heapUsed: Math.round(heapUsed / 1024), rss: Math.round(rss / 1024) };
        }
        if (Date.now() > until || !alive()) throw new Error('no answer from the GC probe');
        await sleep(50);
      }
    },
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (alive()) child.kill(signal);
      const result = await withTimeout(exited, timeoutMs, 'ingressd stop').catch(() => {
        child.kill('SIGKILL');
        return exited;
      });
      await fs.promises.rm(path.join(work, 'data'), { recursive: true, force: true });
      return result;
    },
  };
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export function httpGet({ port, host, path: p = '/', agent, timeoutMs = 5000 }) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, headers: host ? { host } : {}, agent: agent ?? false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', () => resolve({ status: 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: 0, body: err.message }));
  });
}

export async function getJson(port, p) {
  const res = await httpGet({ port, path: p });
  if (res.status !== 200) throw new Error(`GET ${p} on port ${port}: ${res.status || 'no response'} ${res.body}`);
  return JSON.parse(res.body);
}

export const getConfig = (adminPort) => getJson(adminPort, '/api/config');

export async function generation(adminPort) {
  return (await getConfig(adminPort)).generation;
}

export async function waitForGeneration(adminPort, min, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const g = await generation(adminPort);
    if (g >= min) return g;
    if (Date.now() > deadline) throw new Error(`generation ${min} not reached within ${timeoutMs} ms (at ${g})`);
    await sleep(20);
  }
}

export function rssKb(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

export function requireWrk() {
  const found = spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error("'wrk' not found: install it (Debian: apt-get install -y wrk; expected at /usr/bin/wrk)");
  return found;
}

/** wrk's "N requests in 10.00s" and error lines, as numbers. */
export async function runWrk({ port, host, path: p = '/', seconds, connections = 50, threads = 1 }) {
  const wrk = requireWrk();
  const args = [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, ...(host ? ['-H', `Host: ${host}`] : []), `http://127.0.0.1:${port}${p}`];
  const child = track(spawn(wrk, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let raw = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => (raw += d));
  child.stderr.on('data', (d) => (raw += d));
  const [code] = await withTimeout(once(child, 'exit'), (seconds + 30) * 1000, 'wrk');
  const done = /(\d+) requests in ([\d.]+)(m?s)/.exec(raw);
  if (code !== 0 || !done) throw new Error(`wrk failed (${code}): ${raw}`);
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(raw);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(raw);
  const secs = Number(done[2]) * (done[3] === 'ms' ? 0.001 : 1);
  const requests = Number(done[1]);
  return {
    requests,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: errs ? errs.slice(1).reduce((n, v) => n + Number(v), 0) : 0,
    seconds: secs,
    reqPerSec: requests / secs,
    raw,
  };
}
