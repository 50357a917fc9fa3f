import type { TimeoutsFilter } from "../../model/route.js";
import type { StepBuilder } from "./filterStep.js";

/**
 * proxy-connect-timeout, proxy-send-timeout, proxy-read-timeout: the forwarding step reads
 * them off the exchange (see HttpFrontend.forward). The filter is plain data already in
 * the shape it needs: nothing is allocated per request.
 */
export const timeoutsStep: StepBuilder<TimeoutsFilter> = (filter) => (x) => {
  x.timeouts = filter;
  return false;
};
