import type { RequestHeadersFilter } from "../../model/route.js";
import type { StepBuilder } from "./filterStep.js";

/** Placeholder until the annotation that produces this filter is served (issue 10). */
export const requestHeadersStep: StepBuilder<RequestHeadersFilter> = () => {
  throw new Error("the requestHeaders filter is not served yet");
};
