import type { RateLimitFilter } from "../../model/route.js";
import { blockListOf, inBlockList } from "../../net/cidr.js";
import { errorBody } from "../errorResponse.js";
import { sharedZone } from "../limitZone.js";
import type { StepBuilder } from "./filterStep.js";

const TEXT = { "content-type": "text/plain; charset=utf-8" };

/**
 * ingress-nginx's limit_req (`burst=<rate × multiplier> nodelay`: a burst passes at once,
 * beyond it requests are refused, never delayed) and limit_conn, per client address
 * (`x.fwd.client`, the peer or the address a trusted proxy forwarded). Addresses in the
 * allowlist are never counted. A WebSocket holds its connection slot while it is open.
 */
export const rateLimitStep: StepBuilder<RateLimitFilter> = (filter) => {
  const zone = sharedZone(filter);
  const exempt = filter.exempt.length > 0 ? blockListOf(filter.exempt) : undefined;
  return (x) => {
    const client = x.fwd.client;
    if (exempt && inBlockList(exempt, client)) return false;
    const admitted = zone.admit(client, performance.now());
    if (typeof admitted === "string") {
      x.error = `${client} passed ${admitted}`;
      x.reply(filter.status, TEXT, errorBody(filter.status, `too many requests from ${client} (${admitted})`));
      return true;
    }
    if (admitted) x.whenDone(() => zone.release(admitted));
    return false;
  };
};
