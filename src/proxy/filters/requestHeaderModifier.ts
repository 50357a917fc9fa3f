import type { RequestHeaderModifierFilter } from "../../model/route.js";
import { appended } from "../exchange.js";
import type { StepBuilder } from "./filterStep.js";
import { compileHeaderChanges } from "./headerChanges.js";

/**
 * Gateway API RequestHeaderModifier: the forwarding step applies the changes to the headers
 * it sends upstream, after ingressd's own (X-Forwarded-*, X-Request-ID) and any
 * `requestHeaders`. Removing Host is never done (the translator does not ask for it).
 */
export const requestHeaderModifierStep: StepBuilder<RequestHeaderModifierFilter> = (filter) => {
  const changes = compileHeaderChanges(filter, "host");
  const alone = [changes];
  return (x) => {
    x.requestHeaderChanges = appended(x.requestHeaderChanges, changes, alone);
    return false;
  };
};
