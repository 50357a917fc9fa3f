import { createHmac, randomBytes } from "node:crypto";
import type { BasicAuthFilter } from "../../model/route.js";
import { LruMap } from "../../tls/lruMap.js";
import { errorBody } from "../errorResponse.js";
import type { Exchange } from "../exchange.js";
import type { StepBuilder } from "./filterStep.js";
import { verifyPassword } from "./passwordHash.js";

const TEXT = "text/plain; charset=utf-8";

/**
 * Recently verified credentials, so a client sending the same password on every request
 * costs bcrypt once a minute, not per request. Keyed by the stored hash (a changed Secret
 * misses), the user and the password — as an HMAC under a key of this process, so no
 * password, nor a plain digest of one, sits in memory. Only successes are kept.
 */
const VERIFIED_FOR_MS = 60_000;
const verified = new LruMap<string, number>(1024);
const cacheKeySecret = randomBytes(32);

/**
 * HTTP Basic authentication as nginx's auth_basic: without valid credentials, 401 with
 * `WWW-Authenticate: Basic realm="<realm>"`. With them the request goes on, its
 * Authorization header forwarded (the issue asks so; ingress-nginx clears it). A filter
 * whose users could not be read answers 503, as ingress-nginx's denied location.
 */
export const basicAuthStep: StepBuilder<BasicAuthFilter> = (filter) => {
  const unavailable = filter.unavailable;
  if (unavailable !== undefined) {
    return (x) => {
      x.error = `location denied: ${unavailable}`;
      x.reply(503, { "content-type": TEXT }, errorBody(503, "authentication for this location is not available"));
      return true;
    };
  }
  const users = new Map(Object.entries(filter.users));
  const challenge = { "content-type": TEXT, "www-authenticate": `Basic realm="${filter.realm}"` };
  const refuse = (x: Exchange, why: string): true => {
    x.error = why;
    x.reply(401, challenge, errorBody(401, "valid credentials are required"));
    return true;
  };
  return (x) => {
    const credentials = basicCredentials(x.req.headers.authorization);
    if (!credentials) return refuse(x, "no Basic credentials");
    const { user, password } = credentials;
    const hash = users.get(user);
    if (hash === undefined) return refuse(x, `unknown user "${user}"`);
    const key = createHmac("sha256", cacheKeySecret).update(`${hash}\0${user}\0`).update(password).digest("base64");
    const until = verified.get(key);
    if (until !== undefined && until > Date.now()) return false;
    const match = verifyPassword(password, hash);
    const settle = (ok: boolean): boolean => {
      if (!ok) return refuse(x, `wrong password for user "${user}"`);
      verified.set(key, Date.now() + VERIFIED_FOR_MS);
      return false;
    };
    return typeof match === "boolean" ? settle(match) : match.then(settle);
  };
};

/** `Basic <base64 of user:password>` (scheme case-insensitive); the password as sent, in bytes. */
function basicCredentials(header: string | undefined): { user: string; password: Buffer } | undefined {
  if (header === undefined) return undefined;
  const m = /^basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, "base64");
  const colon = decoded.indexOf(0x3a);
  if (colon < 0) return undefined;
  return { user: decoded.subarray(0, colon).toString("utf8"), password: decoded.subarray(colon + 1) };
}
