import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { AccessLog } from "../model/observers.js";
import { rawError } from "./errorResponse.js";
import { peerAddress } from "../net/peerAddress.js";
import { isChunkedOnly, MAX_REQUEST_TARGET_BYTES, targetTooLong, unknownTransferCoding, type Refusal } from "./requestFraming.js";

/** What Node's HTTP parser tells of a request it could not parse (or did not get in time). */
interface ParserError extends Error {
  code?: string;
  /** The chunk being parsed, and where in it the parser stopped. */
  rawPacket?: Buffer;
  bytesParsed?: number;
}

/**
 * The server's 'clientError' listener: what nginx answers to a request Node's parser
 * refuses, with Connection: close, nothing forwarded, and the connection closed after it.
 * Responses still under way for earlier requests on the connection are finished first
 * (nginx answers a valid request, then the malformed one pipelined behind it).
 */
export function clientErrorHandler(accessLog: AccessLog): (err: Error, socket: Duplex) => void {
  /** Node reports each further chunk of a connection whose parser failed: answered once. */
  const answered = new WeakSet<Duplex>();
  return (err, socket) => {
    if (answered.has(socket)) return;
    answered.add(socket);
    if ((err as ParserError).code === "ERR_HTTP_REQUEST_TIMEOUT" && (socket as Socket).bytesRead === 0) {
      socket.destroy(); // a connection that never sent a byte is closed unanswered and unlogged, as nginx does
      return;
    }
    const refusal = clientErrorRefusal(err as ParserError);
    const answer = (): void => {
      if (!socket.writable) {
        closeWhenWritten(socket);
        return;
      }
      const requestId = randomUUID();
      rawError(socket, refusal.status, refusal.detail, requestId);
      closeWhenWritten(socket);
      const client = peerAddress((socket as Socket).remoteAddress);
      accessLog(refusal.status >= 500 ? "warn" : "info", { method: "", host: "", path: "", status: refusal.status, backend: undefined, upstream: undefined, request_id: requestId, client, error: (err as ParserError).code ?? err.message });
    };
    afterResponses(socket, answer);
  };
}

/**
 * Runs `answer` once the responses under way on the connection are out: the failure is in
 * what follows whole requests (or requests already answered), so their responses go out
 * first, as nginx's would. Node hands the connection to the next pipelined response when one
 * finishes, and is done with it by the response's 'close'.
 */
function afterResponses(socket: Duplex, answer: () => void): void {
  const pending = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!pending) answer();
  else if (pending.writableEnded || pending.req.complete) pending.once("close", () => (pending.writableFinished ? afterResponses(socket, answer) : socket.destroy()));
  else if (pending.headersSent) socket.destroy(); // the failure is in the body of a request being answered
  else answer(); // …whose answer has not started: closing the connection ends its upstream request
}

/** The status nginx answers to what Node's parser refused. */
export function clientErrorRefusal(err: ParserError): Refusal {
  switch (err.code) {
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return { status: 408, detail: "request headers not received in time" };
    case "HPE_HEADER_OVERFLOW":
      return requestTargetLength(err) > MAX_REQUEST_TARGET_BYTES ? targetTooLong : { status: 431, detail: "request header fields too large" };
    case "HPE_INVALID_TRANSFER_ENCODING":
    case "HPE_INVALID_CONTENT_LENGTH":
    case "HPE_INVALID_HEADER_TOKEN":
      if (unknownCodingOnly(err)) return unknownTransferCoding;
  }
  return { status: 400, detail: `malformed request (${err.code ?? err.message})` };
}

/**
 * The lines of the request head the parser stopped in, up to the line it stopped at (only
 * what is in the chunk it was parsing: of a head split over several reads, its tail).
 */
function headLines(err: ParserError): string[] {
  const raw = err.rawPacket;
  if (!raw) return [];
  const at = Math.min(err.bytesParsed ?? raw.length, raw.length);
  const start = raw.lastIndexOf("\r\n\r\n", Math.max(at - 1, 0));
  let end = raw.indexOf("\n", at);
  if (end === -1) end = raw.length;
  else if (raw[end - 1] === 0x0d) end--;
  return raw.toString("latin1", start === -1 ? 0 : start + 4, end).split(/\r?\n/);
}

/** The length of the request-target on the request line of the request the parser stopped in. */
function requestTargetLength(err: ParserError): number {
  const line = headLines(err)[0] ?? "";
  const first = line.indexOf(" ");
  if (first === -1) return 0;
  const last = line.lastIndexOf(" "); // before the version, unless the line is cut short
  return (/ HTTP\/\d\.\d$/.test(line) ? last : line.length) - first - 1;
}

/**
 * Whether the parser's refusal comes down to one Transfer-Encoding field naming a coding
 * other than `chunked` (`xchunked`, `\vchunked`, `chunked, identity`): nginx answers 501
 * (RFC 9112 §6.1 SHOULD). Two such fields, or a folded one, stay a 400.
 */
function unknownCodingOnly(err: ParserError): boolean {
  const lines = headLines(err);
  if (err.code === "HPE_INVALID_HEADER_TOKEN") {
    // Only when the invalid character is in a Transfer-Encoding value; nginx too refuses a NUL with 400.
    const last = lines[lines.length - 1] ?? "";
    return /^transfer-encoding:/i.test(last) && !last.includes("\0") && !isChunkedOnly(last.slice(last.indexOf(":") + 1));
  }
  const te = lines.filter((l) => /^transfer-encoding:/i.test(l));
  return te.length === 1 && !isChunkedOnly(te[0]!.slice(te[0]!.indexOf(":") + 1));
}

/** Ends the connection once the answer is written (as Node's destroySoon): a client that never closes its side holds nothing. */
function closeWhenWritten(socket: Duplex): void {
  if (socket.destroyed) return;
  if (!socket.writableEnded) socket.end();
  if (socket.writableFinished) socket.destroy();
  else socket.once("finish", () => socket.destroy());
}
