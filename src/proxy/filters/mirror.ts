import type { MirrorFilter } from "../../model/route.js";
import { appended } from "../exchange.js";
import type { StepBuilder } from "./filterStep.js";

/**
 * Gateway API RequestMirror: the request drawn for its share is marked to be copied; the
 * forwarding step sends the copy (see mirrorCopy.ts) once the request goes upstream.
 */
export const mirrorStep: StepBuilder<MirrorFilter> = (filter) => {
  const alone = [filter];
  const share = filter.percent;
  return (x) => {
    if (share >= 100 || Math.random() * 100 < share) x.mirrors = appended(x.mirrors, filter, alone);
    return false;
  };
};
