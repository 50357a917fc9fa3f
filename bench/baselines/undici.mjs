// Bare reverse proxy built on an undici Pool: the "fastest simple Node proxy"
// baseline. ingressd uses undici too, so this shows the cost of everything
// ingressd adds on top (routing, logging, headers). No routing, no logging.
// Usage: node bench/baselines/undici.mjs <listenPort> <upstreamPort>
import http from 'node:http';
import { Pool } from 'undici';

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);
const pool = new Pool(`http://127.0.0.1:${upstreamPort}`, { connections: 64 }); // keep-alive by default

// Hop-by-hop headers must not be forwarded (and undici rejects some of them).
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);
const strip = (h) => Object.fromEntries(Object.entries(h).filter(([k]) => !HOP.has(k)));

http.createServer((req, res) => {
  const body = req.method === 'GET' || req.method === 'HEAD' ? null : req;
  pool.stream(
    { path: req.url, method: req.method, headers: strip(req.headers), body, opaque: res },
    ({ statusCode, headers, opaque }) => { opaque.writeHead(statusCode, strip(headers)); return opaque; },
    (err) => { if (err) { if (!res.headersSent) res.writeHead(502); res.end('bad gateway\n'); } },
  );
}).listen(listenPort, '127.0.0.1');
