import type { HttpsRedirectFilter } from "../../model/route.js";
import { originForm } from "../../routing/requestPath.js";
import type { StepBuilder } from "./filterStep.js";
import { hostNameOf, redirectTo } from "./redirectResponse.js";

/**
 * ingress-nginx's ssl-redirect: 308 to the same URL over HTTPS (308 keeps the method
 * and body, unlike 301/302). Only where an HTTPS port exists to send the client to.
 */
export const httpsRedirectStep: StepBuilder<HttpsRedirectFilter> = () => (x, env) => {
  if (env.httpsPort === undefined) return false;
  const port = env.httpsPort === 443 ? "" : `:${env.httpsPort}`;
  redirectTo(x, 308, `https://${hostNameOf(x)}${port}${originForm(x.req.url)}`);
  return true;
};
