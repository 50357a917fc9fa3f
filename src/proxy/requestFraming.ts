import type { ClientRequest } from "./clientMessage.js";

/**
 * The longest request-target served: nginx's `large_client_header_buffers 4 8k` gives a
 * request line one 8 KiB buffer, and answers 414 past it.
 */
export const MAX_REQUEST_TARGET_BYTES = 8192;

/** `chunked`, the one transfer coding a request may use (as nginx); case and surrounding blanks aside. */
const CHUNKED_ONLY = /^[ \t]*chunked[ \t]*$/i;

/** Why a request is refused before anything of it is forwarded. */
export interface Refusal {
  status: number;
  detail: string;
}

export const targetTooLong: Refusal = { status: 414, detail: `request-target longer than ${MAX_REQUEST_TARGET_BYTES} bytes` };

/** nginx's "client sent unknown Transfer-Encoding": RFC 9112 §6.1 SHOULD 501. */
export const unknownTransferCoding: Refusal = { status: 501, detail: "unsupported Transfer-Encoding (only chunked is)" };

/**
 * The request line and message framing nginx refuses (RFC 9112 §6.1, §6.3): a target past
 * 8 KiB (414); Transfer-Encoding in HTTP/1.0, which means faulty framing (400); any transfer
 * coding but `chunked` alone (501, as nginx: `identity, chunked` is framed differently by
 * different servers, a request-smuggling vector). Per request: one length test, and the
 * Transfer-Encoding tests only when the header is there.
 */
export function framingRefusal(req: ClientRequest): Refusal | undefined {
  const url = req.url ?? "";
  if (url.length > MAX_REQUEST_TARGET_BYTES) return targetTooLong;
  const te = req.headers["transfer-encoding"];
  if (te === undefined) return undefined;
  if (req.httpVersionMajor === 1 && req.httpVersionMinor === 0) return { status: 400, detail: "Transfer-Encoding in an HTTP/1.0 request" };
  if (!isChunkedOnly(te)) return unknownTransferCoding;
  return undefined;
}

export function isChunkedOnly(value: string): boolean {
  return CHUNKED_ONLY.test(value);
}
