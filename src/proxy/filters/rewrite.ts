import type { RewriteFilter } from "../../model/route.js";
import type { StepBuilder } from "./filterStep.js";

/** Placeholder until the annotation that produces this filter is served (issue 10). */
export const rewriteStep: StepBuilder<RewriteFilter> = () => {
  throw new Error("the rewrite filter is not served yet");
};
