import * as http from "node:http";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";

/** Node's own per-connection HTTP setup (the 'connection' listener of http and https servers, exported since Node 0.x). */
const serveConnection = (http as unknown as { _connectionListener?: (this: unknown, socket: Duplex) => void })._connectionListener;

/** Only `Upgrade: websocket` is tunnelled; a list (`h2c, websocket`) is not. */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const protocol = req.headers.upgrade;
  return protocol !== undefined && protocol.trim().toLowerCase() === "websocket";
}

/**
 * Serves an upgrade request as the plain HTTP/1.1 request it also is (RFC 9110 §7.8: a
 * server may ignore Upgrade), as nginx does. Tunnelling `h2c` would be "h2c smuggling": once
 * the upstream switches, the client talks to it directly, past every per-route rule.
 *
 * Node hands any request with `Connection: upgrade` to the 'upgrade' event with the
 * connection taken off its parser and the body unread; Node 20 has no way to say no before
 * (`shouldUpgradeCallback` came in 24.9). So the head is written again without the upgrade
 * fields, put back in front of the unread bytes, and the connection given back to the
 * server: it parses the request (body, keep-alive, pipelining) like any other.
 */
export function serveWithoutUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const server = (socket as Duplex & { server?: unknown }).server;
  if (server === undefined || serveConnection === undefined) {
    socket.destroy(); // nothing to give the connection back to; never tunnelled all the same
    return;
  }
  let text = `${req.method ?? "GET"} ${req.url ?? "/"} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (lower === "upgrade" || lower === "http2-settings") continue;
    let value = raw[i + 1]!;
    if (lower === "connection") {
      value = value
        .split(",")
        .map((t) => t.trim())
        .filter((t) => t !== "" && !/^(upgrade|http2-settings)$/i.test(t))
        .join(", ");
      if (value === "") continue;
    }
    text += `${name}: ${value}\r\n`;
  }
  // Header values arrive latin1-decoded: written back byte for byte.
  socket.unshift(Buffer.concat([Buffer.from(`${text}\r\n`, "latin1"), head]));
  serveConnection.call(server, socket);
}
