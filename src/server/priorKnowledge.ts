import type { Server } from "node:http";
import type { Http2Server } from "node:http2";
import type { Socket } from "node:net";

/** RFC 9113 §3.4: the client connection preface, the first bytes of every HTTP/2 connection. */
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/**
 * HTTP/2 with prior knowledge (h2c, RFC 9113 §3.3) beside HTTP/1.1 on the HTTP server's
 * port. Each new connection's first bytes are read once (never per request): the preface
 * hands the connection to `h2c`, anything else to the HTTP/1.1 server as it always went.
 * The bytes read are put back for whichever parses them. A connection that sends nothing
 * within `firstBytesMs` is closed (the HTTP/1.1 header timeout starts once it is handed on).
 *
 * Until handed on, a connection is neither server's: `closeWaiting` closes those at
 * shutdown (neither server's closeAllConnections knows them, and the listener's close
 * would wait for them up to `firstBytesMs`).
 */
export function servePriorKnowledge(http: Server, h2c: Http2Server, firstBytesMs: number): { closeWaiting(): void } {
  const http1 = http.listeners("connection") as ((socket: Socket) => void)[];
  const waiting = new Set<Socket>();
  http.removeAllListeners("connection");
  http.on("connection", (socket: Socket) => {
    let seen: Buffer | undefined;
    // Until handed on, nothing else listens: a reset connection must not be an unhandled
    // error, and a client that closes its side before sending anything is closed too (the
    // HTTP server's sockets are half-open: without this, ours would wait in CLOSE-WAIT).
    const silent = (): void => {
      socket.destroy();
    };
    waiting.add(socket);
    socket.once("close", () => waiting.delete(socket));
    const onData = (chunk: Buffer): void => {
      seen = seen === undefined ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, PREFACE.length);
      const h2 = seen.compare(PREFACE, 0, n, 0, n) === 0;
      if (h2 && n < PREFACE.length) return; // a prefix of the preface so far: the rest decides
      socket.off("data", onData);
      socket.off("timeout", silent);
      socket.off("error", silent);
      socket.off("end", silent);
      waiting.delete(socket);
      socket.setTimeout(0);
      socket.pause();
      if (h2) {
        // node:http2 takes in what is buffered on the socket before its own reads.
        socket.unshift(seen);
        h2c.emit("connection", socket);
        return;
      }
      // node:http reads the socket's handle itself (no JS stream in between) once it has the
      // socket: it gets it as if new (not flowing), and the bytes already read go to its parser
      // as its own 'data' listener, once the resume it scheduled on taking the socket is done.
      // Put back on the socket's stream instead (unshift), they would be read through that
      // stream, whose reads restart the handle behind node:http's back: request bodies would
      // then be read in whole however slowly the upstream takes them.
      (socket as { readableFlowing: boolean | null }).readableFlowing = null; // writable at runtime (node:http sets it so on upgrade); typed read-only
      for (const listener of http1) listener.call(http, socket);
      const first = seen;
      process.nextTick(() => socket.emit("data", first));
    };
    socket.on("data", onData);
    socket.on("error", silent);
    socket.on("end", silent);
    socket.setTimeout(firstBytesMs, silent);
  });
  return {
    closeWaiting: () => {
      for (const socket of waiting) socket.destroy();
    },
  };
}
