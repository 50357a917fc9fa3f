import type { OutgoingHttpHeaders } from "node:http";
import type { CorsFilter } from "../../model/route.js";
import { addResponseHeaders } from "../exchange.js";
import type { StepBuilder } from "./filterStep.js";
import { originMatcher } from "./originMatcher.js";

/**
 * ingress-nginx's CORS block (nginx.tmpl `define "CORS"`). With origin `*` every response
 * gets `Access-Control-Allow-Origin: *` and every OPTIONS is a preflight; with a list,
 * only a request whose Origin is listed gets the headers (its Origin echoed), and only
 * its OPTIONS is answered here: any other is the upstream's to answer, without CORS
 * headers from ingressd. A preflight is answered 204 before any later filter (nginx's
 * rewrite phase `return 204`). The headers replace the upstream's of the same name, as
 * nginx's more_set_headers does; no `Vary: Origin` is added (ingress-nginx adds none).
 */
export const corsStep: StepBuilder<CorsFilter> = (f) => {
  // Lower-case names: ForwardHandler's Object.assign then replaces the upstream's own.
  const common: OutgoingHttpHeaders = {
    ...(f.allowCredentials ? { "access-control-allow-credentials": "true" } : {}),
    "access-control-allow-methods": f.allowMethods,
    "access-control-allow-headers": f.allowHeaders,
    ...(f.exposeHeaders ? { "access-control-expose-headers": f.exposeHeaders } : {}),
    "access-control-max-age": String(f.maxAgeSeconds),
  };
  // Sic, without ";": ingress-nginx's exact preflight Content-Type.
  const preflight: OutgoingHttpHeaders = { "content-type": "text/plain charset=UTF-8" };

  if (f.allowOrigins.length === 1 && f.allowOrigins[0] === "*") {
    // Shared by every request of the route (addResponseHeaders keeps it as is): frozen.
    const headers: OutgoingHttpHeaders = Object.freeze({ "access-control-allow-origin": "*", ...common });
    const preflightHeaders = Object.freeze({ ...headers, ...preflight });
    return (x) => {
      if (x.req.method === "OPTIONS") {
        x.reply(204, preflightHeaders, "");
        return true;
      }
      addResponseHeaders(x, headers);
      return false;
    };
  }

  const allowed = originMatcher(f.allowOrigins);
  return (x) => {
    const origin = x.req.headers.origin;
    if (origin === undefined || !allowed(origin)) return false;
    const headers: OutgoingHttpHeaders = { "access-control-allow-origin": origin, ...common };
    if (x.req.method === "OPTIONS") {
      x.reply(204, { ...headers, ...preflight }, "");
      return true;
    }
    addResponseHeaders(x, headers);
    return false;
  };
};
