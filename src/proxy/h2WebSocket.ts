import { randomBytes } from "node:crypto";
import type { OutgoingHttpHeaders } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { Duplex } from "node:stream";
import type { Dispatcher } from "undici";
import type { Endpoint } from "../upstream/endpoint.js";
import type { ClientRequest } from "./clientMessage.js";

/** RFC 8441: a WebSocket over HTTP/2 is an extended CONNECT with `:protocol: websocket`. */
export function isWebSocketConnect(req: ClientRequest): boolean {
  return req.method === "CONNECT" && (req as Http2ServerRequest).headers[":protocol"] === "websocket";
}

/** What a WebSocket over HTTP/2 tunnel needs of the exchange it belongs to. */
export interface WebSocketConnect {
  path: string;
  /** The request headers for the upstream (forwarded headers, hop-by-hop removed). */
  headers: string[];
  signal: AbortSignal;
  /** proxy-read-timeout: the longest wait for the upstream's handshake. */
  headersTimeout?: number;
}

/**
 * Opens the upstream side of a WebSocket the client opened over HTTP/2 (RFC 8441): the
 * upstream gets the HTTP/1.1 handshake it expects (GET, Upgrade, a Sec-WebSocket-Key of
 * ingressd's own), and once it switches, `onOpen` answers the client 200 with the
 * upstream's handshake headers (subprotocol, extensions), and the caller relays the stream
 * and the upstream socket as any WebSocket tunnel. Frames are the same on both hops.
 */
export function openWebSocket(endpoint: Endpoint, ws: WebSocketConnect, onOpen: (headers: OutgoingHttpHeaders, upstream: Duplex) => void, onError: (err: Error) => void): void {
  const upgrade: Dispatcher.UpgradeOptions & { headersTimeout?: number } = {
    path: ws.path,
    method: "GET",
    headers: [...ws.headers, "sec-websocket-key", randomBytes(16).toString("base64")],
    protocol: "websocket",
    signal: ws.signal,
  };
  // undici passes the option on to dispatch, though its upgrade type omits it.
  if (ws.headersTimeout !== undefined) upgrade.headersTimeout = ws.headersTimeout;
  endpoint.dispatcher.upgrade(upgrade).then(({ headers, socket }) => {
    const out: OutgoingHttpHeaders = {};
    for (const name in headers) if (!HANDSHAKE_ONLY.has(name)) out[name] = headers[name];
    onOpen(out, socket);
  }, onError);
}

/** The HTTP/1.1 handshake's own fields, which an HTTP/2 answer has no use for (or may not carry). */
const HANDSHAKE_ONLY = new Set(["connection", "upgrade", "sec-websocket-accept", "keep-alive", "transfer-encoding", "proxy-connection"]);
