// Generates a large rules folder to check that routing cost does not grow with
// the size of the routing table.
// Usage: node bench/gen-rules.mjs <dir> <hosts> <pathsPerHost> <upstreamPort>
// Writes one YAML file per 100 hosts (gen-000.yaml, gen-001.yaml, ...). Each file
// has its own Service + Endpoints (pointing at 127.0.0.1:<upstreamPort>) and one
// Ingress per host h<i>.gen.localhost with <pathsPerHost> paths /p0 .. /p<n-1>.
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';

const [dir, hostsArg, pathsArg, portArg] = process.argv.slice(2);
const hosts = Number(hostsArg), paths = Number(pathsArg), upstreamPort = Number(portArg);
if (!dir || !(hosts >= 0) || !(paths >= 1) || !(upstreamPort > 0)) {
  console.error('usage: node bench/gen-rules.mjs <dir> <hosts> <paths> <upstreamPort>');
  process.exit(2);
}
const HOSTS_PER_FILE = 100;
fs.mkdirSync(dir, { recursive: true });

for (let file = 0; file * HOSTS_PER_FILE < hosts; file++) {
  const svc = `gen-${file}`;
  const docs = [
    { apiVersion: 'v1', kind: 'Service', metadata: { name: svc, namespace: 'default' },
      spec: { ports: [{ name: 'http', port: 80, targetPort: upstreamPort }] } },
    { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: svc, namespace: 'default' },
      subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'http', port: upstreamPort }] }] },
  ];
  const last = Math.min(hosts, (file + 1) * HOSTS_PER_FILE);
  for (let h = file * HOSTS_PER_FILE; h < last; h++) {
    docs.push({
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress',
      metadata: { name: `gen-${h}`, namespace: 'default' },
      spec: { rules: [{
        host: `h${h}.gen.localhost`,
        http: { paths: Array.from({ length: paths }, (_, p) => ({
          // Mix both path types so both matchers are populated.
          path: `/p${p}`, pathType: p % 2 === 0 ? 'Prefix' : 'Exact',
          backend: { service: { name: svc, port: { number: 80 } } },
        })) },
      }] },
    });
  }
  const name = path.join(dir, `gen-${String(file).padStart(3, '0')}.yaml`);
  fs.writeFileSync(name, docs.map((d) => stringify(d)).join('---\n'));
}
