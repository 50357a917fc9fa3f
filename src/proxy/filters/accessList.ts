import type { AccessListFilter } from "../../model/route.js";
import { blockListOf, inBlockList } from "../../net/cidr.js";
import { errorBody } from "../errorResponse.js";
import type { StepBuilder } from "./filterStep.js";

const TEXT = { "content-type": "text/plain; charset=utf-8" };

/**
 * nginx's deny/allow lines as ingress-nginx writes them: a client in a deny range gets
 * 403; with allow ranges, so does every client outside them. The client is the address
 * `--trust-proxy` resolved (nginx's realip-adjusted $remote_addr).
 */
export const accessListStep: StepBuilder<AccessListFilter> = (filter) => {
  const deny = filter.deny.length > 0 ? blockListOf(filter.deny) : undefined;
  const allow = filter.allow.length > 0 ? blockListOf(filter.allow) : undefined;
  return (x) => {
    const client = x.fwd.client;
    if ((deny === undefined || !inBlockList(deny, client)) && (allow === undefined || inBlockList(allow, client))) return false;
    x.error = `client ${client} is not allowed by the route's source ranges`;
    x.reply(403, TEXT, errorBody(403, `client address ${client} is not allowed`));
    return true;
  };
};
