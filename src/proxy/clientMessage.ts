import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { constants, type Http2ServerRequest, type Http2ServerResponse } from "node:http2";

const { NGHTTP2_NO_ERROR } = constants;

/**
 * A request as the front end gets it: HTTP/1.x from node:http, or an HTTP/2 stream through
 * node:http2's compatibility API, which reads and writes the same way for what a proxy uses.
 */
export type ClientRequest = IncomingMessage | Http2ServerRequest;
export type ClientResponse = ServerResponse | Http2ServerResponse;

/** The protocol as the access log and metrics name it; constants, so no string per request. */
export type Protocol = "HTTP/1.0" | "HTTP/1.1" | "HTTP/2.0";

export function protocolOf(req: ClientRequest): Protocol {
  if (req.httpVersionMajor === 2) return "HTTP/2.0";
  return req.httpVersionMinor === 0 ? "HTTP/1.0" : "HTTP/1.1";
}

/**
 * An HTTP/2 request made to look like HTTP/1.1 to the rest of the pipeline, once at entry:
 * `:authority` becomes Host (what routing, X-Forwarded-Host and upstreams read; RFC 9113
 * §8.3.1 says the two must agree, and :authority wins), and the pseudo-headers leave the
 * raw list that is forwarded upstream (they are not headers, and HTTP/1.1 upstreams would
 * refuse them). Node's compatibility API keeps the raw list it returns, so it is edited in place.
 */
export function asHttp1Request(req: Http2ServerRequest): void {
  const authority = req.headers[":authority"];
  const raw = req.rawHeaders;
  let w = 0;
  let hasHost = false;
  for (let r = 0; r < raw.length; r += 2) {
    const name = raw[r]!;
    if (name.charCodeAt(0) === 58 /* ":" */) continue;
    if (name.length === 4 && name.toLowerCase() === "host") {
      if (authority !== undefined) continue; // replaced below by :authority
      hasHost = true;
    }
    raw[w++] = name;
    raw[w++] = raw[r + 1]!;
  }
  raw.length = w;
  if (authority !== undefined) {
    raw.push("host", authority);
    req.headers.host = authority;
  } else if (!hasHost) delete req.headers.host;
}

/**
 * Whether the whole response went out; false when the client left first (logged 499, and
 * the upstream request stopped). Node's HTTP/2 response says it is finished whenever its
 * stream closes, a stream the client reset included: there, the stream's close code tells.
 */
export function responseFinished(res: ClientResponse): boolean {
  if (!("stream" in res)) return res.writableFinished;
  return res.writableEnded && (res.stream.rstCode ?? NGHTTP2_NO_ERROR) === NGHTTP2_NO_ERROR;
}

/**
 * A response that is a head alone, ended with it: over HTTP/2 one HEADERS frame that ends
 * the stream (gRPC's trailers-only answer, which gRPC clients read their status from).
 * Node's HTTP/2 response sends the head as soon as writeHead is called, before it knows
 * the stream ends with it; headers set one by one go out with end().
 */
export function endWithHead(res: ClientResponse, status: number, headers: OutgoingHttpHeaders): void {
  res.statusCode = status;
  for (const name in headers) {
    const v = headers[name];
    if (v !== undefined) res.setHeader(name, v);
  }
  res.end();
}

/** An upstream's 103 Early Hints, passed on to the client (HTTP/1.1 or HTTP/2; an HTTP/1.0 client cannot read a 1xx). */
export function relayEarlyHints(res: ClientResponse, link: string | string[] | undefined): void {
  if (link !== undefined && res.req.httpVersion !== "1.0") res.writeEarlyHints({ link });
}

/** Whether the client's side of the exchange is gone (Node's HTTP/2 response has no `destroyed`). */
export function responseDestroyed(res: ClientResponse): boolean {
  return "stream" in res ? res.stream.destroyed : res.destroyed;
}
