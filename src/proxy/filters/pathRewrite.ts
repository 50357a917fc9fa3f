import type { PathRewriteFilter } from "../../model/route.js";
import type { StepBuilder } from "./filterStep.js";
import { compilePathReplacement, queryOf } from "./pathReplacement.js";

/**
 * Gateway API URLRewrite's path: the path sent upstream, made of the routing path (as
 * rewrite-target makes it), the query of the target sent upstream kept.
 */
export const pathRewriteStep: StepBuilder<PathRewriteFilter> = (filter) => {
  const replace = compilePathReplacement(filter.path);
  return (x) => {
    x.upstreamTarget = replace(x.path) + queryOf(x.upstreamTarget);
    return false;
  };
};
