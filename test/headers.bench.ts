import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { bench, describe } from "vitest";
import { clientResponseHeaders, connectionTokens, hasDuplicateHost, replaceHeaders, upstreamRequestHeaders, type ForwardedInfo } from "../src/proxy/headers.js";

// Header building runs on every proxied request, both ways. The requests are what
// browsers and CDNs send; only `rawHeaders` and `headers.connection` are read from the
// IncomingMessage, so a plain object with those stands in for one.
// Run with `npx vitest bench --run test/headers.bench.ts`.

/** Chrome's navigation request over HTTP/1.1: 15 headers, as Node's rawHeaders lists them. */
const browser: string[] = [
  "Host", "app.example.com",
  "Connection", "keep-alive",
  "sec-ch-ua", '"Chromium";v="130", "Google Chrome";v="130", "Not?A_Brand";v="99"',
  "sec-ch-ua-mobile", "?0",
  "sec-ch-ua-platform", '"Linux"',
  "Upgrade-Insecure-Requests", "1",
  "User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
  "Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8",
  "Sec-Fetch-Site", "none",
  "Sec-Fetch-Mode", "navigate",
  "Sec-Fetch-User", "?1",
  "Sec-Fetch-Dest", "document",
  "Accept-Encoding", "gzip, deflate, br, zstd",
  "Accept-Language", "en-GB,en;q=0.9,de;q=0.8",
  "Cookie", "session=4f2c9a1e7b3d4c58a6e0f1b2c3d4e5f6; theme=dark; _ga=GA1.1.123456789.1700000000",
];

/** The same with extra hop-by-hop headers named in Connection (an older client or a proxy). */
const withConnectionTokens = browser.flatMap((v, i) => (i === 3 ? ["Keep-Alive, X-Trace-Hop, Upgrade"] : [v]));
withConnectionTokens.push("Keep-Alive", "timeout=5", "X-Trace-Hop", "edge-7", "Upgrade", "h2c");

/** The same behind a CDN: an X-Forwarded-For chain and the CDN's own forwarding headers. */
const behindCdn = [...browser, "X-Forwarded-For", "203.0.113.7, 198.51.100.23", "X-Forwarded-Proto", "https", "X-Real-IP", "203.0.113.7", "X-Request-ID", "cdn-7f3a9c"];

function request(raw: string[]): IncomingMessage {
  const connection = raw[raw.findIndex((n, i) => i % 2 === 0 && n.toLowerCase() === "connection") + 1];
  return { rawHeaders: raw, headers: { connection } } as unknown as IncomingMessage;
}

const fwd: ForwardedInfo = { peer: "10.0.0.5", client: "10.0.0.5", host: "app.example.com", proto: "https", port: 443, requestId: "0c46433f-aef7-4719-9639-1b0316cbf0c5" };

describe("request headers for the upstream (upstreamRequestHeaders)", () => {
  const plain = request(browser);
  const tokens = request(withConnectionTokens);
  const cdn = request(behindCdn);
  bench("browser request, 15 headers", () => {
    upstreamRequestHeaders(plain, fwd);
  });
  bench("browser request + Connection tokens naming 3 more", () => {
    upstreamRequestHeaders(tokens, fwd);
  });
  bench("browser request behind a CDN: X-Forwarded-For chain + 3 forwarding headers", () => {
    upstreamRequestHeaders(cdn, fwd);
  });
});

describe("a route's header changes (replaceHeaders)", () => {
  const upstream = upstreamRequestHeaders(request(browser), fwd);
  const host: (readonly [string, string])[] = [["Host", "app.internal.svc"]];
  const two: (readonly [string, string])[] = [["Host", "app.internal.svc"], ["X-Forwarded-Prefix", "/app"]];
  bench("set Host (upstream-vhost) on 21 headers", () => {
    replaceHeaders(upstream, host);
  });
  bench("set Host and X-Forwarded-Prefix on 21 headers", () => {
    replaceHeaders(upstream, two);
  });
});

describe("two Host headers? (hasDuplicateHost)", () => {
  const hostLast = [...browser.slice(2), "host", "app.example.com"];
  bench("browser request, Host first", () => {
    hasDuplicateHost(browser);
  });
  bench("browser request, lower-case host last", () => {
    hasDuplicateHost(hostLast);
  });
});

describe("Connection tokens (connectionTokens)", () => {
  bench("keep-alive (the common case)", () => {
    connectionTokens("keep-alive");
  });
  bench("Keep-Alive, X-Trace-Hop, Upgrade", () => {
    connectionTokens("Keep-Alive, X-Trace-Hop, Upgrade");
  });
});

describe("response headers for the client (clientResponseHeaders)", () => {
  const typical: IncomingHttpHeaders = {
    "content-type": "text/html; charset=utf-8",
    "content-length": "5123",
    date: "Mon, 30 Nov 2026 11:00:00 GMT",
    server: "gunicorn",
    "cache-control": "private, max-age=0",
    etag: 'W/"1403-8a3f"',
    "last-modified": "Mon, 30 Nov 2026 10:00:00 GMT",
    vary: "Accept-Encoding",
    connection: "keep-alive",
    "keep-alive": "timeout=5",
  };
  const tokens: IncomingHttpHeaders = { ...typical, connection: "keep-alive, X-Backend-Hop", "x-backend-hop": "node-3" };
  bench("10 headers from the upstream", () => {
    clientResponseHeaders(typical, "0c46433f-aef7-4719-9639-1b0316cbf0c5");
  });
  bench("10 headers + Connection naming one more", () => {
    clientResponseHeaders(tokens, "0c46433f-aef7-4719-9639-1b0316cbf0c5");
  });
});
