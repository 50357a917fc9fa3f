import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { constants, type ClientHttp2Stream, type IncomingHttpHeaders as Http2Headers } from "node:http2";
import type { Readable, Writable } from "node:stream";
import type { Http2Upstream } from "../upstream/h2Session.js";
import { endWithHead, relayEarlyHints, type ClientResponse } from "./clientMessage.js";
import type { ForwardOutcome } from "./forward.js";
import type { CompiledHeaderChanges } from "./filters/headerChanges.js";
import { clientResponseHeaders } from "./headers.js";

/** What the request says it goes to; the upstream request's pseudo-headers. */
export interface Http2Target {
  method: string;
  /** Origin-form, as sent to HTTP/1.1 upstreams. */
  path: string;
  scheme: "http" | "https";
  /** The flat `[name, value, …]` list the HTTP/1.1 path sends (forwarded headers, hop-by-hop removed); Host becomes :authority. */
  headers: string[];
  /** The client asked for trailers (`TE: trailers`, which gRPC requires): passed on, as HTTP/2 allows it. */
  trailers: boolean;
}

/**
 * Streams one request to an HTTP/2 upstream (gRPC: backend-protocol GRPC or GRPCS) on its
 * endpoint's shared session, and the response back: head, body with backpressure both
 * ways, and trailers (grpc-status, grpc-message). The ForwardHandler's counterpart for
 * undici; the caller decides what an error means.
 */
export class Http2Forward {
  private stream: ClientHttp2Stream | undefined;
  private aborted: Error | undefined;
  private finished = false;
  private sent = false;
  private responded = false;
  private bytes = 0;

  constructor(
    private readonly res: ClientResponse,
    private readonly requestId: string,
    private readonly done: (outcome: ForwardOutcome) => void,
    /** Headers the route's filters add to the response (CORS, an affinity cookie). */
    private readonly extraHeaders?: OutgoingHttpHeaders,
    /** The route's changes to the upstream's response headers (Gateway API ResponseHeaderModifier). */
    private readonly headerChanges?: readonly CompiledHeaderChanges[],
  ) {}

  start(upstream: Http2Upstream, target: Http2Target, body: Readable | null): void {
    if (this.aborted) return;
    let stream: ClientHttp2Stream;
    try {
      stream = upstream.session().request(requestHeaders(target), { endStream: body === null });
    } catch (err) {
      this.finish(err as Error);
      return;
    }
    this.stream = stream;
    stream.once("ready", () => (this.sent = true));
    stream.on("headers", (head: Http2Headers) => {
      // 103 Early Hints go on as over HTTP/1.1; other 1xx are the hop's own.
      if (statusOf(head) === 103) relayEarlyHints(this.res, head.link);
    });
    stream.once("response", (head: Http2Headers, flags: number) => this.respond(head, (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0));
    stream.on("data", (chunk: Buffer) => {
      this.bytes += chunk.length;
      if (!(this.res as Writable).write(chunk)) {
        stream.pause();
        this.res.once("drain", () => stream.resume());
      }
    });
    stream.once("trailers", (trailers: Http2Headers) => this.res.addTrailers(withoutPseudo(trailers) as Record<string, string>));
    stream.once("end", () => {
      if (!this.responded) return; // a stream that ends without a head is an error, reported on close
      this.res.end();
      this.finish();
    });
    // A session that failed (refused, reset) cancels its streams: the session's error is what happened.
    stream.once("error", (err: Error & { code?: string; cause?: unknown }) => this.finish(err.code === "ERR_HTTP2_STREAM_CANCEL" && err.cause instanceof Error ? err.cause : err));
    stream.once("close", () => {
      if (this.finished) return;
      const code = stream.rstCode ?? constants.NGHTTP2_NO_ERROR;
      this.finish(this.aborted ?? Object.assign(new Error(`HTTP/2 stream closed (code ${code})`), { code: "ECONNRESET" }));
    });
    if (body) {
      body.once("error", (err) => stream.destroy(err));
      body.pipe(stream);
    }
  }

  /** The client went away: cancel the upstream stream. */
  abort(reason: Error): void {
    this.aborted = reason;
    this.stream?.close(constants.NGHTTP2_CANCEL);
  }

  /** The response head; `ended`: it is all there is (gRPC's trailers-only answer, relayed as one). */
  private respond(head: Http2Headers, ended: boolean): void {
    const status = statusOf(head);
    try {
      const out = clientResponseHeaders(withoutPseudo(head), this.requestId, this.extraHeaders, this.headerChanges);
      if (ended) endWithHead(this.res, status, out);
      else this.res.writeHead(status, out);
    } catch (err) {
      // A header Node refuses to send: a bad gateway.
      this.stream?.close(constants.NGHTTP2_CANCEL);
      this.finish(err as Error);
      return;
    }
    this.responded = true;
  }

  private finish(error?: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.done({ ...(error ? { error } : {}), sent: this.sent, responded: this.responded, bytes: this.bytes });
  }
}

/** HTTP/2 request headers: pseudo-headers first, names lower-case, Host as :authority. */
function requestHeaders(t: Http2Target): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ":method": t.method, ":scheme": t.scheme, ":path": t.path };
  const h = t.headers;
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i]!.toLowerCase();
    const value = h[i + 1]!;
    if (name === "host") {
      out[":authority"] = value;
      continue;
    }
    const prev = out[name];
    out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [String(prev), value];
  }
  if (t.trailers) out.te = "trailers";
  return out;
}

/** node:http2 gives `:status` as a number (its typings say a header value). */
function statusOf(head: Http2Headers): number {
  return Number(head[":status"]);
}

function withoutPseudo(h: Http2Headers): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const name in h) if (name.charCodeAt(0) !== 58 /* ":" */) out[name] = h[name] as string | string[];
  return out;
}
