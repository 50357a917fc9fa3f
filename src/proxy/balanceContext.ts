import type { CookieAffinityPolicy, HashKeyPart } from "../model/route.js";
import type { PickContext } from "../upstream/balancer.js";
import { addResponseHeaders, type Exchange } from "./exchange.js";
import { parseCookies } from "./target.js";

/**
 * What the pool's pick needs of this request: the client address, and for a route with
 * a balance policy the policy with its cookie or hash key. A route without one costs
 * what it always did.
 */
export function pickContext(x: Exchange): PickContext {
  const clientIp = x.fwd.client;
  const balance = x.route?.balance;
  if (balance === undefined) return { clientIp };
  if (balance.kind === "cookie") {
    const cookie = x.req.headers.cookie === undefined ? undefined : parseCookies(x.req.headers.cookie).get(balance.name);
    return cookie === undefined ? { clientIp, balance } : { clientIp, balance, cookie };
  }
  return { clientIp, balance, hashKey: hashKeyOf(balance.parts, x) };
}

/**
 * When the pick placed the client anew, its affinity cookie goes out with the response,
 * whoever answers it (the upstream's own Set-Cookie kept). A later pick for the same
 * request (held, retried) replaces it.
 */
export function sendAffinityCookie(x: Exchange, ctx: PickContext): void {
  if (ctx.setCookie === undefined || ctx.balance?.kind !== "cookie") return;
  addResponseHeaders(x, { "set-cookie": affinityCookie(ctx.balance, ctx.setCookie, x.fwd.proto === "https") });
}

/**
 * The Set-Cookie value, attributes in ingress-nginx's order (lua-resty-cookie): HttpOnly
 * always; Secure when asked for or on HTTPS; no Expires/Max-Age makes a session cookie.
 */
export function affinityCookie(policy: CookieAffinityPolicy, value: string, https: boolean, now = Date.now()): string {
  let c = `${policy.name}=${value}`;
  if (policy.expiresSeconds !== undefined) c += `; Expires=${new Date(now + policy.expiresSeconds * 1000).toUTCString()}`;
  if (policy.maxAgeSeconds !== undefined) c += `; Max-Age=${policy.maxAgeSeconds}`;
  if (policy.domain !== undefined) c += `; Domain=${policy.domain}`;
  if (policy.path !== undefined) c += `; Path=${policy.path}`;
  if (policy.secure || https) c += "; Secure";
  c += "; HttpOnly";
  if (policy.sameSite !== undefined) c += `; SameSite=${policy.sameSite}`;
  return c;
}

/** upstream-hash-by's key for this request: its parts' values concatenated, a missing value empty (as nginx's variables). */
export function hashKeyOf(parts: readonly HashKeyPart[], x: Exchange): string {
  let key = "";
  for (const p of parts) key += partValue(p, x);
  return key;
}

function partValue(p: HashKeyPart, x: Exchange): string {
  if ("text" in p) return p.text;
  const req = x.req;
  if ("header" in p) {
    const v = req.headers[p.header];
    return v === undefined ? "" : Array.isArray(v) ? v.join(", ") : v;
  }
  if ("cookie" in p) return (req.headers.cookie === undefined ? undefined : parseCookies(req.headers.cookie).get(p.cookie)) ?? "";
  if ("arg" in p) return queryArg(queryOf(req.url), p.arg);
  switch (p.variable) {
    case "remote_addr":
    case "binary_remote_addr":
      return x.fwd.client;
    case "request_uri":
      return req.url ?? "/";
    case "uri":
      return x.path;
    case "args":
    case "query_string":
      return queryOf(req.url);
    case "host":
      return hostOf(req.headers.host);
    case "scheme":
      return x.fwd.proto;
  }
}

function queryOf(url: string | undefined): string {
  const q = url?.indexOf("?") ?? -1;
  return q === -1 ? "" : url!.slice(q + 1);
}

/** nginx's `$arg_<name>`: the first argument of that name (case-insensitive), its value as sent. */
function queryArg(query: string, name: string): string {
  const wanted = name.toLowerCase();
  for (const pair of query.split("&")) {
    const eq = pair.indexOf("=");
    if ((eq === -1 ? pair : pair.slice(0, eq)).toLowerCase() === wanted) return eq === -1 ? "" : pair.slice(eq + 1);
  }
  return "";
}

/** nginx's `$host`: the Host header's name, lower case, without the port. */
function hostOf(host: string | undefined): string {
  if (!host) return "";
  const h = host.toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  const colon = h.indexOf(":");
  return colon === -1 ? h : h.slice(0, colon);
}
