import type { Duplex } from "node:stream";
import { STATUS_CODES } from "node:http";

/** `502 Bad Gateway: what went wrong` — the body of every answer ingressd gives itself. */
export function errorBody(status: number, detail: string): string {
  return `${status} ${STATUS_CODES[status] ?? ""}: ${detail}\n`;
}

/** An error answer on a raw socket (upgrade requests, and requests the parser refused, have no ServerResponse). */
export function rawError(socket: Duplex, status: number, detail: string, requestId: string): void {
  const body = errorBody(status, detail);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\nServer: ingressd\r\nDate: ${new Date().toUTCString()}\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-ID: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
  );
}
