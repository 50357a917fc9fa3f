import type { Filter } from "../../model/route.js";
import type { RouteContext } from "./routeContext.js";

/** ingress-nginx's default `limit-req-status-code` and `limit-conn-status-code`. */
const LIMITED_STATUS = 503;

/**
 * limit-rps, limit-rpm, limit-connections per client address. The zone is the Ingress:
 * all its paths and hosts share one set of buckets, as ingress-nginx's per-Ingress zones.
 * A limit of 0 is no limit (ingress-nginx renders no directive for it).
 */
export function rateLimitFilters(ctx: RouteContext): Filter[] {
  const s = ctx.settings;
  const rps = s.limitRps || undefined;
  const rpm = s.limitRpm || undefined;
  const connections = s.limitConnections || undefined;
  if (rps === undefined && rpm === undefined && connections === undefined) return [];
  return [
    {
      type: "rateLimit",
      zone: ctx.ingress,
      ...(rps !== undefined ? { rps } : {}),
      ...(rpm !== undefined ? { rpm } : {}),
      ...(connections !== undefined ? { connections } : {}),
      burstMultiplier: s.limitBurstMultiplier,
      exempt: s.limitAllowlist,
      status: LIMITED_STATUS,
    },
  ];
}

/** proxy-body-size; 0 (unlimited) needs no filter, as ingressd's default is unlimited. */
export function bodyLimitFilters(ctx: RouteContext): Filter[] {
  const max = ctx.settings.proxyBodySize;
  return max ? [{ type: "bodyLimit", maxBytes: max }] : [];
}

/** proxy-connect-timeout, proxy-send-timeout, proxy-read-timeout (seconds) for this route. */
export function timeoutFilters(ctx: RouteContext): Filter[] {
  const s = ctx.settings;
  if (s.proxyConnectTimeout === undefined && s.proxySendTimeout === undefined && s.proxyReadTimeout === undefined) return [];
  return [
    {
      type: "timeouts",
      ...(s.proxyConnectTimeout !== undefined ? { connectMs: s.proxyConnectTimeout * 1000 } : {}),
      ...(s.proxySendTimeout !== undefined ? { sendMs: s.proxySendTimeout * 1000 } : {}),
      ...(s.proxyReadTimeout !== undefined ? { readMs: s.proxyReadTimeout * 1000 } : {}),
    },
  ];
}
