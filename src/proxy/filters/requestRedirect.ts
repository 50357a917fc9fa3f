import type { RequestRedirectFilter } from "../../model/route.js";
import { originForm } from "../../routing/requestPath.js";
import type { FilterEnv, StepBuilder } from "./filterStep.js";
import { hostNameOf } from "./httpsRedirect.js";
import { compilePathReplacement, queryOf } from "./pathReplacement.js";
import { redirectTo } from "./redirectResponse.js";

const DEFAULT_PORT = { http: 80, https: 443 } as const;

/**
 * Gateway API RequestRedirect: a redirect to the request's own URL with the filter's parts
 * replaced. The port: the filter's; else, when the scheme changes, the port of the other
 * front end (443 or 80 while ingressd does not listen there); else the one the client used
 * (its Host header's). It is left out of the Location when it is the scheme's default.
 * The host is the filter's, else the Host header's name; the query is always kept.
 */
export const requestRedirectStep: StepBuilder<RequestRedirectFilter> = (filter) => {
  const { code, scheme, hostname, port } = filter;
  const replacePath = filter.path && compilePathReplacement(filter.path);
  return (x, env) => {
    const hostHeader = x.req.headers.host;
    const to = scheme ?? x.fwd.proto;
    const toPort = port ?? (to !== x.fwd.proto ? otherFrontendPort(to, env) : (portOf(hostHeader) ?? DEFAULT_PORT[to]));
    const name = hostname ?? hostNameOf(x);
    const target = replacePath ? replacePath(x.path) + queryOf(x.upstreamTarget) : originForm(x.req.url);
    redirectTo(x, code, `${to}://${name}${toPort === DEFAULT_PORT[to] ? "" : `:${toPort}`}${target}`);
    return true;
  };
};

function otherFrontendPort(scheme: "http" | "https", env: FilterEnv): number {
  return scheme === "https" ? (env.httpsPort ?? 443) : (env.httpPort ?? 80);
}

/** The port of a Host header (`example.com:8080`, `[::1]:8080`), or undefined when it names none. */
function portOf(hostHeader: string | undefined): number | undefined {
  if (!hostHeader) return undefined;
  const colon = hostHeader.lastIndexOf(":");
  if (colon === -1 || hostHeader.endsWith("]")) return undefined;
  const n = Number(hostHeader.slice(colon + 1));
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : undefined;
}
