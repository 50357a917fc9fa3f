import type { ClientRequest } from "./clientMessage.js";

/** nginx's client_body_timeout: the longest a client may send nothing of a request body. */
export const CLIENT_BODY_TIMEOUT_MS = 60_000;

/**
 * The least a body must move per timeout period, on average (Kestrel's MinRequestBodyDataRate:
 * 240 bytes/s). nginx only limits the time between two reads, but nginx buffers the body
 * before it goes upstream; ingressd streams it, so a body trickling a byte at a time would
 * hold a client connection and an upstream connection for days. 240 B/s passes any real
 * upload, a slow mobile link included.
 */
export const MIN_BODY_BYTES_PER_SECOND = 240;

/** Checks per timeout period: a stall is noticed within 10 % past the timeout. */
const CHECKS_PER_TIMEOUT = 10;

/**
 * Calls `onStalled` once the client has sent nothing of the request body for `timeoutMs`
 * (between two reads, as nginx's client_body_timeout), or less than the minimum rate over a
 * whole period (a slowloris trickle). The body is streamed upstream as it comes, so a body
 * held back by a slow upstream (bytes waiting in the request's buffer) is not the client's
 * stall. Progress is read off the socket's byte count a few times per period: no per-chunk
 * work on the body.
 */
export function watchBodyStall(req: ClientRequest, timeoutMs: number, onStalled: () => void): void {
  const socket = req.socket;
  let bytes = socket.bytesRead;
  let lastProgress = performance.now();
  /** The current rate window: when it started and the byte count then. */
  let windowStart = lastProgress;
  let windowBytes = bytes;
  const minWindowBytes = (MIN_BODY_BYTES_PER_SECOND * timeoutMs) / 1000;
  const check = setInterval(() => {
    if (req.complete || socket.destroyed) {
      clearInterval(check);
      return;
    }
    const now = performance.now();
    const heldByUpstream = req.readableLength > 0;
    if (socket.bytesRead !== bytes || heldByUpstream) {
      bytes = socket.bytesRead;
      lastProgress = now;
    } else if (now - lastProgress >= timeoutMs) {
      clearInterval(check);
      onStalled();
      return;
    }
    if (now - windowStart < timeoutMs) return;
    if (!heldByUpstream && bytes - windowBytes < minWindowBytes) {
      clearInterval(check);
      onStalled();
      return;
    }
    windowStart = now;
    windowBytes = bytes;
  }, Math.max(Math.ceil(timeoutMs / CHECKS_PER_TIMEOUT), 10));
  req.once("close", () => clearInterval(check));
}
