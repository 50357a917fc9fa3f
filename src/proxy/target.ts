import type { Route, WeightedBackend } from "../model/route.js";
import type { Snapshot } from "../snapshot/snapshot.js";
import type { ServicePool } from "../upstream/servicePool.js";
import type { ClientRequest } from "./clientMessage.js";

/** The Service pool a request goes to, or why there is none. */
export type Target = { pool: ServicePool; backend: string } | Refusal;

/** Why a request cannot go to a backend: ingressd answers with this status. */
export interface Refusal {
  status: number;
  detail: string;
  backend?: string;
}

const NO_BACKEND: Refusal = { status: 500, detail: "route has no backend" };

/**
 * A route's backend: the only one, or one drawn by weight (a canary's share). Backends of
 * weight 0 are never drawn; undefined when there is none to draw.
 */
export function chooseBackend(route: Route, random: () => number = Math.random): WeightedBackend | undefined {
  const backends = route.backends;
  if (backends.length === 1) return backends[0]!;
  let total = 0;
  for (const b of backends) total += b.weight;
  if (!(total > 0)) return undefined;
  let draw = random() * total;
  let last: WeightedBackend | undefined;
  for (const b of backends) {
    if (b.weight <= 0) continue;
    if (draw < b.weight) return b;
    draw -= b.weight;
    last = b;
  }
  return last;
}

/**
 * The backend a request is drawn to: 500 when the route has none (a Gateway API rule
 * without backendRefs), or the drawn one is refused (its `invalid` reason as the detail),
 * as the Gateway API spec asks. A route split by weight (a canary) with cookie affinity
 * keeps a client whose cookie names an endpoint of one of its backends on that backend,
 * as ingress-nginx's balancer does for an affinitized request: the split places new sessions only.
 */
export function drawBackend(snapshot: Snapshot, route: Route, req?: ClientRequest): WeightedBackend | Refusal {
  const drawn = (req && stickyBackend(snapshot, route, req)) || chooseBackend(route);
  if (drawn === undefined) return NO_BACKEND;
  if (drawn.invalid !== undefined) return { status: 500, detail: drawn.invalid, backend: drawn.backend.key };
  return drawn;
}

/** The drawn backend's pool; 503 when it names a Service port that does not exist. */
export function poolOf(snapshot: Snapshot, drawn: WeightedBackend): Target {
  const { backend } = drawn;
  const pool = snapshot.pools.get(backend.key);
  if (!pool) return { status: 503, detail: `Service ${backend.namespace}/${backend.service} port ${backend.port} is not defined`, backend: backend.key };
  return { pool, backend: backend.key };
}

function stickyBackend(snapshot: Snapshot, route: Route, req: ClientRequest): WeightedBackend | undefined {
  const balance = route.balance;
  if (route.backends.length === 1 || balance?.kind !== "cookie" || req.headers.cookie === undefined) return undefined;
  const cookie = parseCookies(req.headers.cookie).get(balance.name);
  if (cookie === undefined) return undefined;
  return route.backends.find((b) => snapshot.pools.get(b.backend.key)?.ownsAffinityCookie(cookie));
}

/** The 503 of a pool with no endpoint to offer, with Retry-After when some are only out for now. */
export function noEndpoint(pool: ServicePool): { status: number; detail: string; headers?: Record<string, string> } {
  if (pool.spec.unavailable !== undefined) return { status: 503, detail: pool.spec.unavailable };
  if (pool.endpoints.length === 0) return { status: 503, detail: `Service ${pool.key} has no ready endpoints` };
  return {
    status: 503,
    detail: `every endpoint of Service ${pool.key} is out of rotation (failing health checks)`,
    headers: { "retry-after": String(pool.retryAfterSeconds()) },
  };
}

/** `a=1; b=2` → a map; the first of a repeated name wins, as nginx's `$cookie_` reads it. */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    const name = part.slice(0, eq).trim();
    if (name !== "" && !out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}
