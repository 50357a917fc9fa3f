import type { TimeoutsFilter } from "../../model/route.js";
import type { StepBuilder } from "./filterStep.js";

/** Placeholder until the annotation that produces this filter is served (issue 10). */
export const timeoutsStep: StepBuilder<TimeoutsFilter> = () => {
  throw new Error("the timeouts filter is not served yet");
};
