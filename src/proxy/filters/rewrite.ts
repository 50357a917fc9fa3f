import type { RewriteFilter } from "../../model/route.js";
import type { StepBuilder } from "./filterStep.js";
import { compileRewrite } from "./rewriteTarget.js";

/**
 * rewrite-target: the path sent upstream. The expression applies to the routing path
 * (as nginx rewrites `$uri`, the normalized URI), the query comes from the request.
 */
export const rewriteStep: StepBuilder<RewriteFilter> = (filter) => {
  const rewrite = compileRewrite(filter.pattern, filter.target);
  return (x) => {
    x.upstreamTarget = rewrite(x.path, x.upstreamTarget);
    return false;
  };
};
