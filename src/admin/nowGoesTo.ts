import type { DroppedRule } from "../model/issues.js";
import type { Route } from "../model/route.js";
import type { RouteTable } from "../routing/routeTable.js";
import { routeKey } from "../telemetry/routeRates.js";

/** Where the requests of a rule an error dropped go now, as `/api/config` lists it with the error. */
export interface Destination {
  /** The dropped rule's host (`*` for every host) and path. */
  host: string;
  path: string;
  /** `route`: another route (or the rule's own last good version); `default-backend`; `none`: ingressd answers 404. */
  to: "route" | "default-backend" | "none";
  /** The route that takes them (its `/api/config` key), its backend and where it is written. */
  route?: string;
  backend?: string;
  source?: string;
  /** `none`: the status ingressd answers. */
  status?: number;
  /** The sentence the dashboard shows. */
  text: string;
}

/**
 * Looks the dropped rule up in the table now served, as a request for its host and
 * path would be: the answer cannot disagree with what the proxy does.
 */
export function nowGoesTo(table: RouteTable, rule: DroppedRule): Destination {
  const host = rule.host ?? "*";
  const where = `requests for ${rule.host === null ? "any host" : rule.host}${rule.path} now go to`;
  // A wildcard rule's host stands for the names under it: one of them is looked up.
  const lookupHost = rule.host === null ? "" : rule.host.startsWith("*.") ? `any${rule.host.slice(1)}` : rule.host;
  const route = table.lookup(lookupHost, rule.path);
  if (!route) return { host, path: rule.path, to: "none", status: 404, text: `${where}: no route, ingressd answers 404` };
  const backend = route.backends[0]?.backend.key ?? "(no backend)";
  const source = `${route.origin.source.file}:${route.origin.source.line}`;
  if (route === table.defaultBackend) {
    return { host, path: rule.path, to: "default-backend", backend, source, text: `${where}: the default backend ${backend} (${source})` };
  }
  return { host, path: rule.path, to: "route", route: routeKey(route), backend, source, text: `${where}: ${describe(route)} → ${backend} (${source})` };
}

function describe(route: Route): string {
  return `the route ${route.match.host ?? "*"} ${route.match.path} (${route.match.pathType}) of Ingress ${route.origin.name}`;
}
