import type { HttpsRedirectFilter } from "../../model/route.js";
import { normalizeHost } from "../../model/host.js";
import { originForm } from "../../routing/requestPath.js";
import type { Exchange } from "../exchange.js";
import type { StepBuilder } from "./filterStep.js";
import { redirectTo } from "./redirectResponse.js";

/**
 * ingress-nginx's ssl-redirect: 308 to the same URL over HTTPS (308 keeps the method
 * and body, unlike 301/302). Only where an HTTPS port exists to send the client to.
 */
export const httpsRedirectStep: StepBuilder<HttpsRedirectFilter> = () => (x, env) => {
  if (env.httpsPort === undefined) return false;
  const port = env.httpsPort === 443 ? "" : `:${env.httpsPort}`;
  redirectTo(x, 308, `https://${hostNameOf(x)}${port}${originForm(x.req.url)}`);
  return true;
};

/** The request's host name, for a redirect: its Host header's without the port. */
export function hostNameOf(x: Exchange): string {
  // An HTTP/1.0 client may send no Host: name the address it connected to instead.
  return normalizeHost(x.req.headers.host) || bracketed(x.req.socket.localAddress ?? "localhost");
}

function bracketed(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}
