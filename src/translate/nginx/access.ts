import type { Filter } from "../../model/route.js";
import type { RouteContext } from "./routeContext.js";

/** Placeholder until the annotations behind it are served (issue 10). */
export function accessFilters(_ctx: RouteContext): Filter[] {
  return [];
}
