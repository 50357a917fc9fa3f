import { STATUS_CODES } from "node:http";
import type { Exchange } from "../exchange.js";

/** ingressd's redirect answer: the Location, and a one-line body saying where. */
export function redirectTo(x: Exchange, code: number, location: string): void {
  const body = `${code} ${STATUS_CODES[code] ?? "Redirect"}: ${location}\n`;
  x.reply(code, { location, "content-type": "text/plain; charset=utf-8" }, body);
}
