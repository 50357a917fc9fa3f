import { createHash } from "node:crypto";
import type { Balancer, PickContext } from "./balancer.js";
import type { HashRing } from "./consistentHash.js";
import type { Endpoint } from "./endpoint.js";

/**
 * How an affinity cookie names an endpoint: as ingress-nginx's persistent key, an MD5 of
 * the backend and the endpoint's address, so the cookie does not show the address, and
 * a cookie of another backend (same cookie name) names none of this one's endpoints.
 */
export function endpointCookieId(backendKey: string, address: string): string {
  return createHash("md5").update(`${backendKey}|${address}`).digest("hex");
}

/** The endpoint id an affinity cookie carries, in either mode (`<id>` or `<position>|<id>`). */
export function cookieEndpointId(cookie: string): string {
  const bar = cookie.indexOf("|");
  return bar === -1 ? cookie : cookie.slice(bar + 1);
}

/**
 * Session affinity by cookie (affinity: cookie) over one pool's endpoints. A request
 * without a usable cookie is placed by `place` (round robin over the available
 * endpoints) and `ctx.setCookie` says what the client must keep; with one, it goes where
 * the cookie says while that endpoint is available.
 *
 * - persistent: the cookie is `<endpoint id>`; the session stays on that endpoint until
 *   it leaves the Endpoints or is out of rotation, then is placed anew (and stays there).
 * - balanced: the cookie is `<ring position>|<endpoint id>`, the position a random key of
 *   the endpoint it was placed on would hash to. The ring decides: when endpoints join or
 *   leave (or go out of rotation and come back), the positions that now belong to another
 *   endpoint move there — about 1/n of the sessions — and their cookie is rewritten to
 *   name it; the others stay put.
 */
export function cookieAffinity(backendKey: string, ring: HashRing<Endpoint>, place: Balancer): Balancer {
  const ids = new Map<Endpoint, string>();
  const byId = new Map<string, Endpoint>();
  for (const ep of ring.nodes) {
    const id = endpointCookieId(backendKey, ep.address);
    ids.set(ep, id);
    byId.set(id, ep);
  }

  const persistent = (available: readonly Endpoint[], ctx: PickContext): Endpoint | undefined => {
    const held = ctx.cookie === undefined ? undefined : byId.get(ctx.cookie);
    if (held && (available.length === ring.nodes.length || available.includes(held))) return held;
    const ep = place(available, ctx);
    if (ep) ctx.setCookie = ids.get(ep);
    return ep;
  };

  const balanced = (available: readonly Endpoint[], ctx: PickContext): Endpoint | undefined => {
    const cookie = ctx.cookie;
    const bar = cookie === undefined ? -1 : cookie.indexOf("|");
    const position = bar > 0 ? positionBefore(cookie!, bar) : undefined;
    if (position !== undefined) {
      const ep = ring.find(position, available);
      if (ep) {
        const id = ids.get(ep)!;
        if (cookie!.length !== bar + 1 + id.length || !cookie!.endsWith(id)) ctx.setCookie = `${position}|${id}`;
        return ep;
      }
    }
    const ep = place(available, ctx);
    const at = ep && ring.positionOf(ep);
    if (ep && at !== undefined) ctx.setCookie = `${at}|${ids.get(ep)!}`;
    return ep;
  };

  return (available, ctx) => (ctx.balance?.kind === "cookie" && ctx.balance.mode === "persistent" ? persistent : balanced)(available, ctx);
}

/** The decimal ring position before `end` in `cookie`; undefined unless it is one. */
function positionBefore(cookie: string, end: number): number | undefined {
  if (end > 10) return undefined;
  let n = 0;
  for (let i = 0; i < end; i++) {
    const digit = cookie.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return undefined;
    n = n * 10 + digit;
  }
  return n < 2 ** 32 ? n : undefined;
}
