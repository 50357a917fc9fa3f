import { STATUS_CODES } from "node:http";
import { normalizeHost } from "../../model/host.js";
import type { Exchange } from "../exchange.js";

/** ingressd's redirect answer: the Location, and a one-line body saying where. */
export function redirectTo(x: Exchange, code: number, location: string): void {
  const body = `${code} ${STATUS_CODES[code] ?? "Redirect"}: ${location}\n`;
  x.reply(code, { location, "content-type": "text/plain; charset=utf-8" }, body);
}

/** The request's host name, for a redirect: its Host header's without the port. */
export function hostNameOf(x: Exchange): string {
  // An HTTP/1.0 client may send no Host: name the address it connected to instead.
  return normalizeHost(x.req.headers.host) || bracketed(x.req.socket.localAddress ?? "localhost");
}

function bracketed(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}

/** The port a Host header names (`example.com:8080`, `[::1]:8080`), or undefined when it names none: the one the client used. */
export function portOfHost(hostHeader: string | undefined): number | undefined {
  if (!hostHeader) return undefined;
  const colon = hostHeader.lastIndexOf(":");
  if (colon === -1 || hostHeader.endsWith("]")) return undefined;
  const n = Number(hostHeader.slice(colon + 1));
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : undefined;
}
