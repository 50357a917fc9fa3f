import { PassThrough, type Readable } from "node:stream";
import type { MirrorFilter } from "../../model/route.js";
import type { PoolMap } from "../../upstream/pools.js";

/** How far a mirror's copy of a body may fall behind the request before the copy is dropped. */
export const MIRROR_BUFFER_LIMIT = 1024 * 1024;

/**
 * The longest a copy may take when the route sets no request timeout (Envoy's default
 * route timeout, which its shadow requests share): nobody waits for a copy, but one that
 * never ends would hold its connection, and ingressd's shutdown, forever.
 */
export const MIRROR_TIMEOUT_MS = 15_000;

/** Where a mirror's failures go: the debug log (a mirror never changes the client's answer). */
export type MirrorLog = (fields: Record<string, unknown>, msg: string) => void;

/** The request as sent upstream, for its copies. */
export interface MirroredRequest {
  method: string;
  /** The target sent upstream (after any rewrite). */
  path: string;
  /** The headers sent upstream (after the route's header changes). */
  headers: string[];
  /** The client's body, or null when it has none. */
  body: Readable | null;
  /** How long a copy may take (the route's request timeout, else MIRROR_TIMEOUT_MS). */
  timeoutMs: number;
}

/**
 * Gateway API RequestMirror: sends a copy of the request to each mirror's backend, fire
 * and forget — the copy's response is read and dropped, its failure only logged at debug.
 * Returns the body the request itself goes upstream with: the client's, or with a body,
 * one fed from it beside the copies. A copy never slows the request: it is not waited
 * for; one that falls more than MIRROR_BUFFER_LIMIT behind is dropped and its request
 * aborted.
 */
export function sendMirrors(mirrors: readonly MirrorFilter[], pools: PoolMap, request: MirroredRequest, clientIp: string, log: MirrorLog | undefined): Readable | null {
  const copies: PassThrough[] = [];
  for (const mirror of mirrors) {
    const key = mirror.backend.key;
    const endpoint = pools.get(key)?.pick({ clientIp });
    if (!endpoint || endpoint.http2) {
      log?.({ mirror: key }, endpoint ? "mirror not sent: its backend speaks HTTP/2 (gRPC)" : "mirror not sent: no endpoint");
      continue;
    }
    const copy = request.body && new PassThrough();
    if (copy) {
      copy.on("error", ignore); // its request's failure is what gets logged
      copies.push(copy);
    }
    endpoint.dispatcher
      .request({ method: request.method, path: request.path, headers: request.headers, body: copy, signal: AbortSignal.timeout(request.timeoutMs) })
      .then((res) => res.body.dump())
      .catch((err: Error) => {
        copy?.destroy();
        log?.({ mirror: key, upstream: endpoint.address, err: err.message }, "mirror request failed");
      });
  }
  return request.body && copies.length > 0 ? tee(request.body, copies) : request.body;
}

/**
 * The body read once for the request and its copies: the request's stream keeps the
 * client's backpressure; a copy that cannot keep up is destroyed, never waited for.
 */
function tee(body: Readable, copies: PassThrough[]): Readable {
  const main = new PassThrough();
  // Destroyed when the client leaves: the upstream request, if still reading it, fails by that; if not, nobody must hear of it.
  main.on("error", ignore);
  const resume = (): void => void body.resume();
  body.on("data", (chunk: Buffer) => {
    for (const copy of copies) {
      if (copy.destroyed) continue;
      if (copy.writableLength > MIRROR_BUFFER_LIMIT) copy.destroy(new Error(`mirror copy more than ${MIRROR_BUFFER_LIMIT} bytes behind`));
      else copy.write(chunk);
    }
    if (!main.write(chunk)) {
      body.pause();
      main.once("drain", resume);
    }
  });
  body.once("end", () => {
    main.end();
    for (const copy of copies) copy.end();
  });
  // A client that leaves mid-body: the request and its copies stop too.
  body.once("error", (err) => {
    main.destroy(err);
    for (const copy of copies) copy.destroy(err);
  });
  body.once("close", () => {
    if (body.readableEnded) return;
    const err = new Error("client closed the connection during the body");
    main.destroy(err);
    for (const copy of copies) copy.destroy(err);
  });
  return main;
}

function ignore(): void {}
