import type { Filter } from "../../model/route.js";
import type { RouteContext } from "./routeContext.js";

/** Placeholder until the annotations behind it are served (issue 10). */
export function appRootFilters(_ctx: RouteContext): Filter[] {
  return [];
}

/** Placeholder until the annotations behind it are served (issue 10). */
export function redirectFilters(_ctx: RouteContext): Filter[] {
  return [];
}

/** Placeholder until the annotations behind it are served (issue 10). */
export function rewriteFilters(_ctx: RouteContext): Filter[] {
  return [];
}

/** Placeholder until the annotations behind it are served (issue 10). */
export function requestHeaderFilters(_ctx: RouteContext): Filter[] {
  return [];
}
