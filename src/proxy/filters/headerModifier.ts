import type { RequestHeaderModifierFilter, ResponseHeaderModifierFilter } from "../../model/route.js";
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

/**
 * Gateway API ResponseHeaderModifier: the upstream's response headers changed on the way
 * to the client (see clientResponseHeaders). Only the upstream's responses: ingressd's own
 * answers (a 502, a 504, a redirect) are left alone, as Envoy Gateway leaves its local replies.
 */
export const responseHeaderModifierStep: StepBuilder<ResponseHeaderModifierFilter> = (filter) => {
  const changes = compileHeaderChanges(filter);
  const alone = [changes];
  return (x) => {
    x.responseHeaderChanges = appended(x.responseHeaderChanges, changes, alone);
    return false;
  };
};
