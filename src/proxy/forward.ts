import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { Writable } from "node:stream";
import { errors, type Dispatcher } from "undici";
import { relayEarlyHints, type ClientRequest, type ClientResponse } from "./clientMessage.js";
import type { CompiledHeaderChanges } from "./filters/headerChanges.js";
import { clientResponseHeaders } from "./headers.js";

/** How a forwarded request ended. */
export interface ForwardOutcome {
  /** Set when the upstream failed; `responded` tells whether the client already got headers. */
  error?: Error;
  /** Whether any of the request may have reached the upstream (false: it never left ingressd). */
  sent: boolean;
  responded: boolean;
  bytes: number;
}

/**
 * Streams one request to one upstream through undici's dispatch API and the response
 * back to the client, with backpressure both ways and nothing buffered. The caller
 * decides what an error means (retry, 502, 504).
 */
export class ForwardHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private aborted: Error | undefined;
  /** undici took the request onto a connection: from here on, bytes of it may have reached the upstream. */
  sent = false;
  responded = false;
  bytes = 0;
  private finished = false;
  private connectTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly res: ClientResponse,
    private readonly requestId: string,
    private readonly done: (outcome: ForwardOutcome) => void,
    /** Headers the route's filters add to the response (CORS, an affinity cookie). */
    private readonly extraHeaders?: OutgoingHttpHeaders,
    /** The route's changes to the upstream's response headers (Gateway API ResponseHeaderModifier). */
    private readonly headerChanges?: readonly CompiledHeaderChanges[],
  ) {}

  /** The client went away: stop the upstream request, whether it is queued or on the wire. */
  abort(reason: Error): void {
    this.aborted = reason;
    this.controller?.abort(reason);
  }

  /**
   * A connect timeout for this request alone (proxy-connect-timeout), where undici's is
   * per pool: if undici has not put the request on a connection within `ms`, it fails as
   * a connect timeout. The connection attempt itself goes on in the pool (bounded by the
   * pool's own connect timeout) and the request is dropped from it once it gets there.
   * A route can so shorten the connect timeout, not lengthen the pool's.
   */
  connectWithin(ms: number): void {
    this.connectTimer = setTimeout(() => {
      if (this.sent || this.finished) return;
      this.aborted = new errors.ConnectTimeoutError(`no connection within ${ms} ms (proxy-connect-timeout)`);
      this.finish({ error: this.aborted, sent: false, responded: false, bytes: 0 });
    }, ms);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    clearTimeout(this.connectTimer);
    this.controller = controller;
    this.sent = true;
    if (this.aborted) controller.abort(this.aborted);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    const res = this.res;
    if (statusCode < 200) {
      // 103 Early Hints go on to the client (HTTP/1.1 or HTTP/2) as they come; other 1xx are the hop's own.
      if (statusCode === 103) relayEarlyHints(res, headers.link);
      return;
    }
    try {
      const out = clientResponseHeaders(headers, this.requestId, this.extraHeaders, this.headerChanges);
      // HTTP/2 has no reason phrase (Node warns when given one).
      if (statusMessage && res.req.httpVersionMajor !== 2) res.writeHead(statusCode, statusMessage, out);
      else res.writeHead(statusCode, out);
    } catch (err) {
      // A header Node refuses to send (e.g. a character invalid in HTTP/1.1): a bad gateway.
      controller.abort(err as Error);
      return;
    }
    this.responded = true;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.bytes += chunk.length;
    // Backpressure: a client slower than the upstream pauses the upstream read.
    if (!(this.res as Writable).write(chunk)) {
      controller.pause();
      this.res.once("drain", () => controller.resume());
    }
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    // Trailers (gRPC's status, checksums) go on where the client can take them: HTTP/2, or a chunked HTTP/1.1 response.
    for (const _ in trailers) {
      this.res.addTrailers(trailers as Record<string, string>);
      break;
    }
    this.res.end();
    this.finish({ sent: true, responded: true, bytes: this.bytes });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.finish({ error, sent: this.sent, responded: this.responded, bytes: this.bytes });
  }

  private finish(outcome: ForwardOutcome): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.connectTimer);
    this.done(outcome);
  }
}

/** Whether a request has a body to stream (a bodiless GET must not send one). */
export function hasRequestBody(req: ClientRequest): boolean {
  // HTTP/2 frames its body itself: there is one unless the headers ended the stream.
  if (req.httpVersionMajor === 2) return !(req as Http2ServerRequest).stream.endAfterHeaders;
  const len = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (len !== undefined && len !== "0");
}
