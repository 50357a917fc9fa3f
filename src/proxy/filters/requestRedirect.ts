import type { RequestRedirectFilter } from "../../model/route.js";
import { originForm } from "../../routing/requestPath.js";
import type { FilterEnv, StepBuilder } from "./filterStep.js";
import { compilePathReplacement, queryOf } from "./pathReplacement.js";
import { hostNameOf, portOfHost, redirectTo } from "./redirectResponse.js";

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
    const toPort = port ?? (to !== x.fwd.proto ? otherFrontendPort(to, env) : (portOfHost(hostHeader) ?? DEFAULT_PORT[to]));
    const name = hostname ?? hostNameOf(x);
    const target = replacePath ? replacePath(x.path) + queryOf(x.upstreamTarget) : originForm(x.req.url);
    redirectTo(x, code, `${to}://${name}${toPort === DEFAULT_PORT[to] ? "" : `:${toPort}`}${target}`);
    return true;
  };
};

function otherFrontendPort(scheme: "http" | "https", env: FilterEnv): number {
  return scheme === "https" ? (env.httpsPort ?? 443) : (env.httpPort ?? 80);
}
