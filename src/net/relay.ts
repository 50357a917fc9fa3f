import { pipeline, type Duplex } from "node:stream";

/** Listeners a relayed socket may carry before Node warns (see below). */
const RELAY_MAX_LISTENERS = 20;

/**
 * Carries bytes both ways between a client and its upstream, both opened with
 * `allowHalfOpen`, as a TCP proxy must: the end of one side becomes `end()` on the
 * other once the bytes before it are written (a half-close goes through, and a reply
 * sent before a close arrives whole); an error or an abrupt close on either side
 * destroys both. Each socket closes by itself once both of its directions are done:
 * nothing here destroys a socket that still has bytes to write.
 */
export function relay(client: Duplex, upstream: Duplex): void {
  const cut = (err: Error | null | undefined): void => {
    if (!err) return;
    client.destroy();
    upstream.destroy();
  };
  // Each socket is the source of one pipeline and the destination of the other, on top
  // of its owner's listeners (undici's, the server's): a fixed dozen or so 'close'
  // listeners, not a leak, which Node's default limit of 10 would warn about.
  for (const s of [client, upstream]) if (s.getMaxListeners() < RELAY_MAX_LISTENERS) s.setMaxListeners(RELAY_MAX_LISTENERS);
  // pipeline ends the destination after the source's last byte, and on an error or a
  // premature close of either stream destroys both; on success it destroys nothing.
  pipeline(client, upstream, cut);
  pipeline(upstream, client, cut);
  // Once a direction is done its pipeline stops listening: a late error must still be handled.
  client.on("error", cut);
  upstream.on("error", cut);
}
