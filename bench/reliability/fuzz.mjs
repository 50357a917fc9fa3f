// Fuzzed manifests: FUZZ_INPUTS (10,000) generated rules files — valid manifests,
// mutations of the corpus in test/ (and the sample ingress-rules/), and garbage —
// (a) through `ingressd check`, (b) through a running server's reloads while a client
// requests a good route all along. Goals: 0 crashes, 0 unhandled rejections, every
// error with file:line, the good route serving throughout.
// Env: FUZZ_INPUTS=10000, FUZZ_SEED (random by default; printed, to replay a run),
// FUZZ_KEEP=1 keeps the inputs folder (always kept when an input crashed something).
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import fc from 'fast-check';
import { parseAllDocuments, stringify } from 'yaml';
import * as c from './common.mjs';

const S = 'fuzz';
const TOTAL = Number(process.env.FUZZ_INPUTS ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const PER_FOLDER = 500;
/** Rules files rewritten per server reload: each batch is one generation. */
const SLOTS = 20;
/** Time given to the server part; inputs not written by then count as not run. */
const SERVER_BUDGET_MS = 420_000;

// ---------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------

const label = fc.stringMatching(/^[a-z]([a-z0-9-]{0,12}[a-z0-9])?$/);
/** Fuzzed names never collide with the good route's (namespace `reliability`). */
const name = label.map((s) => `f-${s}`);
const namespace = fc.constantFrom(undefined, 'default', 'team-a', 'team-b');
const host = fc.tuple(label, fc.constantFrom('', '', '*.')).map(([d, w]) => `${w}${d}.fuzz.localhost`);
const port = fc.integer({ min: 1, max: 65535 });
/** A port name (IANA service name: up to 15 characters, no `--`). */
const portName = fc.stringMatching(/^[a-z]([a-z0-9]{0,6}(-[a-z0-9]{1,6})?)$/);
const opt = (arb) => fc.option(arb, { nil: undefined });
const meta = (extra = {}) =>
  fc.record({ name, namespace, labels: opt(fc.dictionary(label, label, { maxKeys: 3 })), ...extra }, { requiredKeys: ['name'] });
const duration = fc.constantFrom('1s', '5s', '30s', '500ms', '2m');

const service = fc
  .record({
    type: fc.constantFrom(undefined, 'ClusterIP', 'ClusterIP', 'NodePort', 'LoadBalancer'),
    ports: fc.uniqueArray(
      fc.record({ name: opt(portName), port, targetPort: opt(fc.oneof(port, portName)), protocol: opt(fc.constant('TCP')) }, { requiredKeys: ['port'] }),
      { minLength: 1, maxLength: 3, selector: (p) => p.port },
    ),
    nodePort: fc.integer({ min: 30000, max: 32767 }),
    lbPort: fc.integer({ min: 20000, max: 20999 }),
    sessionAffinity: opt(fc.constantFrom('None', 'ClientIP')),
    annotations: opt(fc.record({
      'ingressd.io/max-fails': opt(fc.constantFrom('0', '1', '3')),
      'ingressd.io/fail-timeout': opt(duration),
      'ingressd.io/health-check-path': opt(fc.constantFrom('/healthz', '/')),
      'ingressd.io/health-check-interval': opt(duration),
      'ingressd.io/try-duration': opt(duration),
    }, { requiredKeys: [] })),
    metadata: meta(),
  })
  .map(({ type, ports, nodePort, lbPort, sessionAffinity, annotations, metadata }) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { ...metadata, ...(annotations ? { annotations: clean(annotations) } : {}) },
    spec: clean({
      type,
      sessionAffinity,
      // L4 listeners stay below the ephemeral range, away from the ports tests use.
      // Several ports each need a name of their own.
      ports: ports.map((p, i) => clean({ ...p, ...(ports.length > 1 ? { name: `p${i}` } : {}), ...(type === 'NodePort' && i === 0 ? { nodePort } : {}), ...(type === 'LoadBalancer' ? { port: lbPort + i } : {}) })),
    }),
  }));

const endpoints = fc
  .record({
    metadata: meta(),
    subsets: fc.array(
      fc.record({
        addresses: fc.array(fc.record({ ip: fc.constantFrom('127.0.0.1', '127.0.0.2', '::1', '10.0.0.1') }), { maxLength: 3 }),
        ports: fc.array(fc.record({ port, name: opt(portName) }, { requiredKeys: ['port'] }), { minLength: 1, maxLength: 2 }),
      }),
      { maxLength: 2 },
    ),
  })
  .map(({ metadata, subsets }) => ({ apiVersion: 'v1', kind: 'Endpoints', metadata, subsets: subsets.map(clean) }));

const endpointSlice = fc
  .record({ metadata: meta(), service: name, ready: opt(fc.boolean()), ports: fc.array(fc.record({ port, name: opt(portName) }, { requiredKeys: ['port'] }), { maxLength: 2 }) })
  .map(({ metadata, service, ready, ports }) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { ...metadata, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['127.0.0.1'], ...(ready === undefined ? {} : { conditions: { ready } }) }],
    ports: ports.map(clean),
  }));

const backend = fc.record({ service: name, port: fc.oneof(port.map((number) => ({ number })), portName.map((n) => ({ name: n }))) }).map(({ service, port: p }) => ({ service: { name: service, port: p } }));
const ingress = fc
  .record({
    metadata: meta(),
    className: opt(fc.constantFrom('ingressd', 'other', 'nginx')),
    rules: fc.array(
      fc.record({
        // `host:` left empty (null) is valid YAML, and Kubernetes reads it as no host.
        host: fc.oneof({ weight: 60, arbitrary: opt(host) }, { weight: 1, arbitrary: fc.constant(null) }),
        paths: fc.array(
          fc.record({ path: fc.array(label, { maxLength: 3 }).map((p) => '/' + p.join('/')), pathType: fc.constantFrom('Exact', 'Prefix', 'ImplementationSpecific'), backend }),
          { minLength: 1, maxLength: 3 },
        ),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    defaultBackend: opt(backend),
    tls: opt(fc.array(fc.record({ hosts: fc.array(host, { maxLength: 2 }), secretName: name }), { maxLength: 2 })),
    annotations: opt(fc.record({
      'nginx.ingress.kubernetes.io/ssl-redirect': opt(fc.constantFrom('true', 'false')),
      'nginx.ingress.kubernetes.io/force-ssl-redirect': opt(fc.constantFrom('true', 'false')),
      'kubernetes.io/ingress.class': opt(fc.constantFrom('ingressd', 'other')),
    }, { requiredKeys: [] })),
  })
  .map(({ metadata, className, rules, defaultBackend, tls, annotations }) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { ...metadata, ...(annotations ? { annotations: clean(annotations) } : {}) },
    spec: clean({
      ingressClassName: className,
      defaultBackend,
      tls,
      rules: rules.map((r) => ({ ...clean({ host: r.host }), ...(r.host === null ? { host: null } : {}), http: { paths: r.paths } })),
    }),
  }));

const ingressClass = fc
  .record({ metadata: meta(), controller: fc.constantFrom('ingressd.io/ingress-controller', 'k8s.io/ingress-nginx', 'x') })
  .map(({ metadata, controller }) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: metadata.name }, spec: { controller } }));

let tlsPair; // a real certificate and key, made once with openssl when it is there
const secret = fc
  .record({ metadata: meta(), junk: fc.base64String({ maxLength: 64 }) })
  .map(({ metadata, junk }) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata,
    data: tlsPair ?? { 'tls.crt': junk, 'tls.key': junk },
  }));

const resource = fc.oneof(service, endpoints, endpointSlice, ingress, ingress, ingressClass, secret);
const list = fc.array(resource, { minLength: 1, maxLength: 3 }).map((items) => ({ apiVersion: 'v1', kind: 'List', items }));
const validText = fc.array(fc.oneof({ weight: 9, arbitrary: resource }, { weight: 1, arbitrary: list }), { minLength: 1, maxLength: 4 }).map((docs) => docs.map((d) => stringify(d)).join('---\n'));

/** Drops undefined fields, which the YAML writer would print as `null`. */
function clean(o) {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

// Mutations of the corpus: of the parsed tree (delete, retype, duplicate, rename a
// field), then of the text (lines deleted, duplicated, re-indented, swapped; cut short;
// garbage bytes inserted).
function corpus() {
  const roots = ['test/fixtures', 'test/golden', 'ingress-rules'].map((r) => path.join(c.REPO, r));
  return roots.flatMap((r) => fs.readdirSync(r, { recursive: true }).map((f) => path.join(r, f)).filter((f) => fs.statSync(f).isFile())).sort().map((f) => fs.readFileSync(f, 'utf8'));
}
const CORPUS = corpus();

const anyValue = fc.oneof(fc.constant(null), fc.constant(null), fc.constant(''), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 10 }), fc.array(fc.nat(), { maxLength: 3 }), fc.dictionary(label, fc.nat(), { maxKeys: 2 }), fc.constant('x'.repeat(5000)));
const treeOp = fc.record({ op: fc.constantFrom('delete', 'retype', 'duplicate', 'rename'), at: fc.nat(), value: anyValue });
const textOp = fc.record({ op: fc.constantFrom('deleteLine', 'duplicateLine', 'indent', 'dedent', 'tab', 'swap', 'truncate', 'garbage', 'colon'), at: fc.nat(), other: fc.nat(), garbage: fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }) });
const mutatedText = fc
  .record({ source: fc.nat({ max: CORPUS.length - 1 }), treeOps: fc.array(treeOp, { maxLength: 3 }), textOps: fc.array(textOp, { maxLength: 4 }) })
  .filter((m) => m.treeOps.length + m.textOps.length > 0)
  .map(({ source, treeOps, textOps }) => {
    let text = CORPUS[source];
    if (treeOps.length > 0) {
      const docs = parseAllDocuments(text);
      if (Array.isArray(docs) && docs.every((d) => d.errors.length === 0)) {
        const values = docs.map((d) => d.toJS());
        for (const op of treeOps) mutateTree(values, op);
        text = values.map((v) => stringify(v)).join('---\n');
      }
    }
    for (const op of textOps) text = mutateText(text, op);
    return text;
  });

/** Every [container, key] of a parsed tree, in document order. */
function slots(value, out = []) {
  if (value && typeof value === 'object') {
    for (const k of Array.isArray(value) ? value.keys() : Object.keys(value)) {
      out.push([value, k]);
      slots(value[k], out);
    }
  }
  return out;
}
function mutateTree(values, { op, at, value }) {
  const all = slots(values).filter(([container]) => container !== values);
  if (all.length === 0) return;
  const [container, key] = all[at % all.length];
  if (op === 'delete') Array.isArray(container) ? container.splice(key, 1) : delete container[key];
  else if (op === 'retype') container[key] = value;
  else if (op === 'duplicate') Array.isArray(container) ? container.splice(key, 0, structuredClone(container[key])) : (container[`${key}`] = container[key]);
  else if (op === 'rename' && !Array.isArray(container)) {
    container[`${key}x`] = container[key];
    delete container[key];
  }
}
function mutateText(text, { op, at, other, garbage }) {
  const lines = text.split('\n');
  const i = at % lines.length;
  const j = other % lines.length;
  switch (op) {
    case 'deleteLine': lines.splice(i, 1); break;
    case 'duplicateLine': lines.splice(i, 0, lines[i]); break;
    case 'indent': lines[i] = '  ' + lines[i]; break;
    case 'dedent': lines[i] = lines[i].replace(/^ {1,2}/, ''); break;
    case 'tab': lines[i] = '\t' + lines[i]; break;
    case 'swap': [lines[i], lines[j]] = [lines[j], lines[i]]; break;
    case 'colon': lines[i] = lines[i].replace(':', ' '); break;
    case 'truncate': return text.slice(0, at % (text.length + 1));
    case 'garbage': {
      const k = at % (text.length + 1);
      return text.slice(0, k) + garbage + text.slice(k);
    }
  }
  return lines.join('\n');
}

// Garbage: random text and bytes, deep nesting, alias bombs (kept to ~2^18 nodes when
// expanded, so a walker that expands them is slow, not out of memory), random data.
const deep = fc.record({ depth: fc.integer({ min: 1, max: 20_000 }), style: fc.constantFrom('seq', 'map', 'block', 'dash') }).map(({ depth, style }) => {
  if (style === 'seq') return '['.repeat(depth) + ']'.repeat(depth);
  if (style === 'map') return '{a: '.repeat(depth) + '1' + '}'.repeat(depth);
  if (style === 'dash') return Array.from({ length: Math.min(depth, 2000) }, (_, i) => ' '.repeat(i * 2) + '-').join('\n') + ' x\n';
  return Array.from({ length: Math.min(depth, 2000) }, (_, i) => ' '.repeat(i) + `k${i}:`).join('\n') + ' x\n';
});
const aliasBomb = fc.record({ levels: fc.integer({ min: 1, max: 18 }), where: fc.constantFrom('top', 'labels', 'ports', 'paths', 'annotations') }).map(({ levels, where }) => {
  const anchors = ['a0: &a0 [x, x]', ...Array.from({ length: levels }, (_, i) => `a${i + 1}: &a${i + 1} [*a${i}, *a${i}]`)];
  const last = `*a${levels}`;
  if (where === 'top') return anchors.join('\n') + '\n';
  const defs = `x-defs:\n${anchors.map((a) => '  ' + a).join('\n')}\n`;
  if (where === 'labels') return `apiVersion: v1\nkind: Service\n${defs}metadata:\n  name: f-bomb\n  labels: ${last}\nspec:\n  ports: [{port: 80}]\n`;
  if (where === 'annotations') return `apiVersion: networking.k8s.io/v1\nkind: Ingress\n${defs}metadata:\n  name: f-bomb\n  annotations: {a: ${last}}\nspec:\n  defaultBackend: {service: {name: f-x, port: {number: 80}}}\n`;
  if (where === 'ports') return `apiVersion: v1\nkind: Service\n${defs}metadata:\n  name: f-bomb\nspec:\n  ports: ${last}\n`;
  return `apiVersion: networking.k8s.io/v1\nkind: Ingress\n${defs}metadata:\n  name: f-bomb\nspec:\n  rules:\n    - host: bomb.fuzz.localhost\n      http:\n        paths: ${last}\n`;
});
const garbageText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 2000 }),
  fc.string({ unit: 'grapheme', maxLength: 500 }),
  fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)),
  deep,
  aliasBomb,
  fc.jsonValue({ maxDepth: 6 }).map((v) => stringify(v)),
  fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v) ?? ''),
  fc.record({ kind: fc.constantFrom('Service', 'Ingress', 'Endpoints', 'EndpointSlice', 'Secret', 'IngressClass', 'List'), apiVersion: fc.constantFrom('v1', 'networking.k8s.io/v1', 'discovery.k8s.io/v1', 'v2'), rest: fc.object({ maxDepth: 3 }) }).map(({ kind, apiVersion, rest }) => stringify({ apiVersion, kind, ...rest })),
  fc.integer({ min: 1, max: 20_000 }).map((n) => 'a: b\n'.repeat(n)),
);

function generate() {
  const n = (share) => Math.round(TOTAL * share);
  const sample = (arb, count, offset) => (count > 0 ? fc.sample(arb, { numRuns: count, seed: SEED + offset }) : []);
  const valid = sample(validText, n(0.4), 0).map((text) => ({ kind: 'valid', text }));
  const mutated = sample(mutatedText, n(0.4), 1).map((text) => ({ kind: 'mutated', text }));
  const garbage = sample(garbageText, TOTAL - valid.length - mutated.length, 2).map((text) => ({ kind: 'garbage', text }));
  // Interleaved, so every folder and every reload batch holds all three kinds.
  const all = [];
  for (let i = 0; all.length < TOTAL; i++) for (const list of [valid, mutated, garbage]) if (i < list.length) all.push(list[i]);
  return all.map((input, i) => ({ ...input, ext: i % 10 === 9 ? '.json' : '.yaml' }));
}

// ---------------------------------------------------------------------------
// (a) ingressd check
// ---------------------------------------------------------------------------

const STACK = /^\s+at .+[:(]/m;
const UNHANDLED = /unhandled|uncaughtException/i;

function runCheck(args, timeoutMs = 120_000) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [c.CLI, 'check', '--format', 'json', ...args], { cwd: c.REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A check run is sound when it exits 0 or 1 with JSON on stdout and nothing alarming on stderr. */
function crashed(r) {
  return !(r.code === 0 || r.code === 1) || STACK.test(r.stderr) || UNHANDLED.test(r.stderr);
}

/** The inputs among `files` that make `check` crash on their own, found by halving (bounded). */
async function isolate(files, deadline) {
  if (Date.now() > deadline) return [];
  const r = await runCheck(files.flatMap((f) => ['--rules', f]));
  if (!crashed(r)) return [];
  if (files.length === 1) return files;
  const mid = files.length >> 1;
  return [...(await isolate(files.slice(0, mid), deadline)), ...(await isolate(files.slice(mid), deadline))];
}

/** Halving costs many check runs: the time given to it over the whole scenario. */
const ISOLATION_BUDGET_MS = 120_000;

async function checkPhase(inputs, work) {
  const folders = [];
  for (let start = 0; start < inputs.length; start += PER_FOLDER) {
    const folder = path.join(work, `check-${String(folders.length).padStart(2, '0')}`);
    fs.mkdirSync(folder);
    const files = inputs.slice(start, start + PER_FOLDER).map((input, k) => {
      const file = path.join(folder, `input-${String(start + k).padStart(5, '0')}${input.ext}`);
      fs.writeFileSync(file, input.text);
      return file;
    });
    folders.push({ folder, files });
  }
  const result = { inputs: 0, crashes: 0, crashingInputs: [], unhandled: 0, withoutLocation: [], filesMissing: 0 };
  const isolationDeadline = Date.now() + ISOLATION_BUDGET_MS;
  for (const { folder, files } of folders) {
    const r = await runCheck(['--rules', folder]);
    result.inputs += files.length;
    if (UNHANDLED.test(r.stderr)) result.unhandled++;
    if (crashed(r)) {
      result.crashes++;
      c.progress(S, `check ${path.basename(folder)}: exit ${r.code ?? r.signal}; ${r.stderr.split('\n').slice(0, 3).join(' | ')}`);
      result.crashingInputs.push(...(await isolate(files, isolationDeadline)));
      continue;
    }
    let report;
    try {
      report = JSON.parse(r.stdout);
    } catch {
      result.crashes++;
      c.progress(S, `check ${path.basename(folder)}: stdout is not JSON: ${r.stdout.slice(0, 200)}`);
      continue;
    }
    const known = new Set(files.map((f) => path.relative(c.REPO, f)).concat(files));
    for (const issue of [...report.errors, ...report.warnings]) {
      if (!known.has(issue.file) || !(Number.isInteger(issue.line) && issue.line >= 1)) result.withoutLocation.push(issue);
    }
    result.filesMissing += files.length - report.files.length;
    c.progress(S, `check ${path.basename(folder)}: exit ${r.code}, ${report.summary.errors} errors, ${report.summary.warnings} warnings in ${report.files.length} files`);
  }
  return result;
}

// ---------------------------------------------------------------------------
// (b) a running server's reloads
// ---------------------------------------------------------------------------

/** Requests good.localhost one after another until stopped; counts what is not a 200. */
function goodClient(port) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const stats = { requests: 0, failures: 0, examples: [] };
  let running = true;
  const loop = (async () => {
    while (running) {
      const r = await c.httpGet({ port, host: 'good.localhost', agent, timeoutMs: 5000 });
      stats.requests++;
      if (r.status !== 200 || r.body !== 'good\n') {
        stats.failures++;
        if (stats.examples.length < 5) stats.examples.push(`${r.status} ${r.body.slice(0, 120)}`);
      }
    }
  })();
  return {
    stats,
    async stop() {
      running = false;
      await loop;
      agent.destroy();
    },
  };
}

async function serverPhase(inputs, work) {
  const upstream = await c.startUpstream({ body: 'good\n' });
  const rules = await c.tempDir('ingressd-fuzz-rules-');
  const ns = { namespace: 'reliability' };
  // `a-` sorts first: should a fuzzed resource share an identity, this one takes precedence.
  await rules.write('a-good.yaml', c.serviceYaml('good', upstream.port, ns) + '---\n' + c.ingressYaml('good', 'good.localhost', 'good', ns));
  const log = { lines: 0, unhandled: [], errorsWithoutLocation: new Map(), notJson: 0, reloadsFailed: 0 };
  const server = await c.startIngressd({
    rules: [rules.dir],
    keepLogs: false,
    gcProbe: true,
    onLine: (line) => {
      log.lines++;
      if (UNHANDLED.test(line)) log.unhandled.push(line.slice(0, 300));
      let entry;
      try {
        entry = JSON.parse(line);
      } catch {
        log.notJson++;
        return;
      }
      if (entry.msg === 'reload failed') log.reloadsFailed++;
      if (entry.level >= 50 && !(entry.file && Number.isInteger(entry.line))) {
        const key = entry.msg.replace(/\d+/g, 'N').slice(0, 160);
        log.errorsWithoutLocation.set(key, (log.errorsWithoutLocation.get(key) ?? 0) + 1);
      }
    },
  });
  // Heap after a full GC with only the good route loaded, against the same at the end:
  // what the inputs left behind (shown, not a goal of this scenario).
  const heapBefore = await server.heapAfterGc();
  const client = goodClient(server.httpPort);
  /** `crashedReload`: inputs of batches whose reload threw (read, but not loaded). */
  const result = { inputs: 0, loaded: 0, crashedReload: 0, generations: 0, stalls: 0, failed: 0, died: false };
  const first = await c.generation(server.adminPort);
  let gen = first;
  const started = Date.now();
  for (let start = 0; start < inputs.length && server.alive() && Date.now() < started + SERVER_BUDGET_MS; start += SLOTS) {
    const batch = inputs.slice(start, start + SLOTS);
    await Promise.all(batch.map((input, k) => rules.write(`fuzz-${String(k).padStart(2, '0')}.yaml`, input.text)));
    result.inputs += batch.length;
    // Wait for the reload that read this batch (a new generation, or a reload that
    // failed): writing on without it would keep restarting the watcher's quiet period,
    // and nothing would load.
    const failedBefore = log.reloadsFailed;
    const until = Date.now() + 10_000;
    let outcome = 'stalled';
    while (server.alive() && Date.now() < until) {
      const g = await c.generation(server.adminPort).catch(() => gen);
      if (g > gen) {
        gen = g;
        outcome = 'loaded';
        break;
      }
      if (log.reloadsFailed > failedBefore) {
        outcome = 'failed';
        break;
      }
      await c.sleep(20);
    }
    if (outcome === 'loaded') result.loaded += batch.length;
    else if (outcome === 'failed') {
      result.failed++;
      result.crashedReload += batch.length;
    }
    else {
      result.stalls++;
      if (!server.alive()) break;
      c.progress(S, `reload of inputs ${start}–${start + batch.length - 1} not seen within 10 s`);
    }
    result.peakRss = Math.max(result.peakRss ?? 0, c.rssKb(server.pid));
    if ((start / SLOTS) % 50 === 0) c.progress(S, `server: ${result.inputs} inputs written, generation ${gen}, ${client.stats.requests} good requests (${client.stats.failures} failed), RSS ${c.rssKb(server.pid)} kB`);
  }
  // The fuzz files gone, only the good route is left, still served.
  for (let k = 0; k < SLOTS; k++) await rules.remove(`fuzz-${String(k).padStart(2, '0')}.yaml`);
  if (server.alive()) gen = await c.waitForGeneration(server.adminPort, gen + 1, 10_000).catch(() => gen);
  const final = server.alive() ? await c.httpGet({ port: server.httpPort, host: 'good.localhost' }) : { status: 0 };
  if (server.alive()) {
    const after = await server.heapAfterGc();
    c.progress(S, `server: heap after a full GC with only the good route loaded: ${heapBefore.heapUsed} kB before the inputs, ${after.heapUsed} kB after (RSS ${after.rss} kB, peak seen ${result.peakRss} kB)`);
  }
  await client.stop();
  result.generations = gen - first;
  result.died = !server.alive();
  const stopped = await server.stop();
  result.exit = stopped;
  result.stderr = server.stderr().replace(/^GC-PROBE .*\n/gm, '');
  result.seconds = Math.round((Date.now() - started) / 1000);
  result.client = client.stats;
  result.finalStatus = final.status;
  result.log = log;
  result.logFile = server.logFile;
  await upstream.stop();
  await rules.cleanup();
  return result;
}

// ---------------------------------------------------------------------------

async function makeTlsPair(work) {
  try {
    const key = path.join(work, 'tls.key');
    const crt = path.join(work, 'tls.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=fuzz.localhost', '-days', '1', '-keyout', key, '-out', crt], { stdio: 'ignore' });
    return { 'tls.crt': fs.readFileSync(crt).toString('base64'), 'tls.key': fs.readFileSync(key).toString('base64') };
  } catch {
    return undefined;
  }
}

const work = await c.tempDir('ingressd-fuzz-');
tlsPair = await makeTlsPair(work.dir);
c.progress(S, `seed ${SEED} (FUZZ_SEED=${SEED} replays this run); generating ${TOTAL} inputs`);
const inputs = generate();
const kinds = inputs.reduce((m, i) => ({ ...m, [i.kind]: (m[i.kind] ?? 0) + 1 }), {});
c.progress(S, `inputs: ${Object.entries(kinds).map(([k, v]) => `${v} ${k}`).join(', ')}; corpus of ${CORPUS.length} files; in ${work.dir}`);

const checked = await checkPhase(inputs, work.dir);
c.progress(S, `check: ${checked.inputs} inputs, ${checked.crashes} crashed runs, ${checked.withoutLocation.length} issues without file:line, ${checked.filesMissing} files not reported`);
for (const f of checked.crashingInputs.slice(0, 10)) c.progress(S, `check crashes on ${f}`);
for (const i of checked.withoutLocation.slice(0, 5)) c.progress(S, `issue without file:line: ${JSON.stringify(i).slice(0, 300)}`);

const served = await serverPhase(inputs, work.dir);
c.progress(S, `server: ${served.inputs} inputs in ${served.seconds} s, ${served.loaded} loaded over ${served.generations} generations (${served.failed} batches whose reload failed, ${served.stalls} reloads not seen), ${served.client.requests} good-route requests, exit ${JSON.stringify(served.exit)}`);
for (const e of served.client.examples) c.progress(S, `good route failed: ${e}`);
for (const [msg, n] of served.log.errorsWithoutLocation) c.progress(S, `error log line without file:line (${n}×): ${msg}`);
for (const l of served.log.unhandled.slice(0, 5)) c.progress(S, `unhandled: ${l}`);
if (served.stderr.trim()) c.progress(S, `server stderr: ${served.stderr.slice(0, 1000)}`);

const serverCrashed = served.died || served.exit.code !== 0 || STACK.test(served.stderr);
const unhandled = checked.unhandled + served.log.unhandled.length + (UNHANDLED.test(served.stderr) ? 1 : 0);
const noLocation = checked.withoutLocation.length + [...served.log.errorsWithoutLocation.values()].reduce((a, b) => a + b, 0);
const goodFailures = served.client.failures + (served.finalStatus === 200 ? 0 : 1);
c.figure(S, 'inputs run (check / server reload)', `${checked.inputs} / ${served.inputs} (${served.loaded} loaded in ${served.generations} reloads${served.failed ? `, ${served.failed} reloads failed` : ''})`, `${TOTAL} / ${TOTAL}`, checked.inputs === TOTAL && served.inputs === TOTAL && served.loaded + served.crashedReload >= TOTAL * 0.9);
c.figure(
  S,
  'crashes (check runs / server process / server reloads)',
  `${checked.crashes} / ${serverCrashed ? 1 : 0} / ${served.failed}${checked.crashingInputs.length ? ` (${checked.crashingInputs.length} crashing inputs isolated)` : ''}`,
  '0 / 0 / 0',
  checked.crashes === 0 && !serverCrashed && served.failed === 0,
);
c.figure(S, 'unhandled rejections', unhandled, '0', unhandled === 0);
c.figure(S, 'errors without file:line', `${noLocation} (check ${checked.withoutLocation.length}, server log ${noLocation - checked.withoutLocation.length})`, '0', noLocation === 0);
c.figure(S, 'good-route failures', `${goodFailures} of ${served.client.requests + 1}`, '0', goodFailures === 0);

const keep = process.env.FUZZ_KEEP === '1' || checked.crashingInputs.length > 0 || serverCrashed;
if (keep) c.progress(S, `inputs kept in ${work.dir}; server log ${served.logFile}`);
else await work.cleanup();
