import type { RequestHeadersFilter } from "../../model/route.js";
import type { StepBuilder } from "./filterStep.js";

/** Headers replaced on the way upstream (upstream-vhost's Host, X-Forwarded-Prefix); after any a step set before. */
export const requestHeadersStep: StepBuilder<RequestHeadersFilter> = (filter) => {
  const set = filter.set.map(([name, value]): [string, string] => [name, value]);
  return (x) => {
    // A copy: the exchange's list is its own, a later step may add to it.
    x.upstreamHeaders = x.upstreamHeaders ? x.upstreamHeaders.concat(set) : set.slice();
    return false;
  };
};
