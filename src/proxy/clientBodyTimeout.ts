import type { IncomingMessage } from "node:http";

/** nginx's client_body_timeout: the longest a client may send nothing of a request body. */
export const CLIENT_BODY_TIMEOUT_MS = 60_000;

/** Checks per timeout period: a stall is noticed within 10 % past the timeout. */
const CHECKS_PER_TIMEOUT = 10;

/**
 * Calls `onStalled` once the client has sent nothing of the request body for `timeoutMs`
 * (between two reads, not in total, as nginx's client_body_timeout). The body is streamed
 * upstream as it comes, so a body held back by a slow upstream (bytes waiting in the
 * request's buffer, the socket paused) is not the client's stall. Progress is read off
 * the socket's byte count a few times per period: no per-chunk work on the body.
 */
export function watchBodyStall(req: IncomingMessage, timeoutMs: number, onStalled: () => void): void {
  const socket = req.socket;
  let bytes = socket.bytesRead;
  let lastProgress = performance.now();
  const check = setInterval(() => {
    if (req.complete || socket.destroyed) {
      clearInterval(check);
      return;
    }
    const now = performance.now();
    if (socket.bytesRead !== bytes || req.readableLength > 0) {
      bytes = socket.bytesRead;
      lastProgress = now;
    } else if (now - lastProgress >= timeoutMs) {
      clearInterval(check);
      onStalled();
    }
  }, Math.max(Math.ceil(timeoutMs / CHECKS_PER_TIMEOUT), 10));
  req.once("close", () => clearInterval(check));
}
