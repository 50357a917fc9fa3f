// Bare reverse proxy built on the `http-proxy` package: the "naive Node proxy"
// baseline that ingressd is measured against. No routing, no logging.
// Usage: node bench/baselines/http-proxy.mjs <listenPort> <upstreamPort>
import http from 'node:http';
import httpProxy from 'http-proxy';

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);

// Without an explicit keep-alive agent http-proxy sends `Connection: close`
// upstream and opens a new TCP connection per request; that would make the
// baseline artificially slow.
const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${upstreamPort}`, agent });

proxy.on('error', (_err, _req, res) => {
  if (res instanceof http.ServerResponse && !res.headersSent) res.writeHead(502);
  res.end('bad gateway\n');
});

http.createServer((req, res) => proxy.web(req, res)).listen(listenPort, '127.0.0.1');
