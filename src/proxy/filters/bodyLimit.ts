import type { BodyLimitFilter } from "../../model/route.js";
import type { Exchange } from "../exchange.js";
import { errorBody } from "../errorResponse.js";
import type { StepBuilder } from "./filterStep.js";

/**
 * proxy-body-size (nginx's client_max_body_size): a Content-Length over the limit is
 * answered 413 before anything is forwarded; a body without one (chunked) is counted as
 * it streams upstream (see limitedBody), so the limit goes on the exchange.
 */
export const bodyLimitStep: StepBuilder<BodyLimitFilter> = (filter) => {
  const max = filter.maxBytes;
  return (x) => {
    const length = x.req.headers["content-length"];
    if (length !== undefined && Number(length) > max) {
      refuseTooLarge(x, max);
      return true;
    }
    x.bodyLimit = max;
    return false;
  };
};

/**
 * 413, as nginx. The client may still be sending the body: Node's server then closes the
 * connection once the answer is out (nginx too answers 413 with `Connection: close`).
 */
export function refuseTooLarge(x: Exchange, max: number): void {
  const detail = `request body larger than ${max} bytes (proxy-body-size)`;
  x.error = detail;
  x.reply(413, { "content-type": "text/plain; charset=utf-8" }, errorBody(413, detail));
}
