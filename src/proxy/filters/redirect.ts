import type { RedirectFilter } from "../../model/route.js";
import type { StepBuilder } from "./filterStep.js";

/** Placeholder until the annotation that produces this filter is served (issue 10). */
export const redirectStep: StepBuilder<RedirectFilter> = () => {
  throw new Error("the redirect filter is not served yet");
};
