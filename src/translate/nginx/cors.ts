import type { Filter } from "../../model/route.js";
import type { RouteContext } from "./routeContext.js";

/** ingress-nginx docs, "Enable CORS": preflights answered by ingressd, Access-Control headers on the rest. */
export function corsFilters(ctx: RouteContext): Filter[] {
  const cors = ctx.settings.cors;
  return cors ? [{ type: "cors", ...cors }] : [];
}
