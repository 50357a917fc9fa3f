import type { Duplex } from "node:stream";

/** Carries bytes both ways between a client and its upstream. */
export function relay(client: Duplex, upstream: Duplex): void {
  client.once("close", () => upstream.destroy());
  upstream.on("error", () => client.destroy());
  upstream.once("close", () => client.destroy());
  // pipe() ends the other side's writable when one side ends: a half-close goes through.
  client.pipe(upstream);
  upstream.pipe(client);
}
