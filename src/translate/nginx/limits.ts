import type { Filter } from "../../model/route.js";
import type { RouteContext } from "./routeContext.js";

/** Placeholder until the annotations behind it are served (issue 10). */
export function rateLimitFilters(_ctx: RouteContext): Filter[] {
  return [];
}

/** Placeholder until the annotations behind it are served (issue 10). */
export function bodyLimitFilters(_ctx: RouteContext): Filter[] {
  return [];
}

/** Placeholder until the annotations behind it are served (issue 10). */
export function timeoutFilters(_ctx: RouteContext): Filter[] {
  return [];
}
