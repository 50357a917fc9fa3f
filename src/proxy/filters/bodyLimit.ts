import type { BodyLimitFilter } from "../../model/route.js";
import type { StepBuilder } from "./filterStep.js";

/** Placeholder until the annotation that produces this filter is served (issue 10). */
export const bodyLimitStep: StepBuilder<BodyLimitFilter> = () => {
  throw new Error("the bodyLimit filter is not served yet");
};
