import type { RedirectFilter } from "../../model/route.js";
import { originForm } from "../../routing/requestPath.js";
import type { StepBuilder } from "./filterStep.js";
import { portOfHost, redirectTo } from "./redirectResponse.js";

/**
 * permanent-redirect, temporal-redirect and app-root: the Location as written (a path
 * made absolute on the request's scheme and Host, as nginx's `return` does);
 * from-to-www-redirect: the request's own URL on another host, with the port the client
 * used.
 */
export const redirectStep: StepBuilder<RedirectFilter> = (filter) => {
  const { code, location, host, onlyPath } = filter;
  return (x) => {
    if (onlyPath !== undefined && x.path !== onlyPath) return false;
    const hostHeader = x.req.headers.host;
    if (location !== undefined) {
      redirectTo(x, code, location.startsWith("/") && hostHeader ? `${x.fwd.proto}://${hostHeader}${location}` : location);
    } else {
      const port = portOfHost(hostHeader);
      redirectTo(x, code, `${x.fwd.proto}://${host}${port === undefined ? "" : `:${port}`}${originForm(x.req.url)}`);
    }
    return true;
  };
};
