import type { AccessListFilter } from "../../model/route.js";
import type { StepBuilder } from "./filterStep.js";

/** Placeholder until the annotation that produces this filter is served (issue 10). */
export const accessListStep: StepBuilder<AccessListFilter> = () => {
  throw new Error("the accessList filter is not served yet");
};
