import type { RateLimitFilter } from "../../model/route.js";
import type { StepBuilder } from "./filterStep.js";

/** Placeholder until the annotation that produces this filter is served (issue 10). */
export const rateLimitStep: StepBuilder<RateLimitFilter> = () => {
  throw new Error("the rateLimit filter is not served yet");
};
