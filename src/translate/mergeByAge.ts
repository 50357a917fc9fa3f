import type { Loaded, ResourceSet } from "../config/resources.js";
import type { Route } from "../model/route.js";
import { precedenceKey } from "./ingressClass.js";

/**
 * Ingress routes and HTTPRoute routes, each list already in its own precedence order, →
 * one list where the routes of the older resource come first (creation time, then file,
 * then document — the rule between two Ingresses), each list's own order kept. Where an
 * Ingress rule and an HTTPRoute claim the same host and path, the first one wins.
 */
export function mergeByAge(ingressRoutes: readonly Route[], gatewayRoutes: readonly Route[], resources: ResourceSet): Route[] {
  const byId = new Map<string, Loaded>();
  for (const r of resources.ingresses) byId.set(r.id, r);
  for (const r of resources.httpRoutes) byId.set(r.id, r);
  const keys = new Map<string, readonly [number, string, number]>();
  const keyOf = (route: Route): readonly [number, string, number] => {
    let key = keys.get(route.origin.resource);
    if (!key) keys.set(route.origin.resource, (key = precedenceKey(byId.get(route.origin.resource)!)));
    return key;
  };
  const out: Route[] = [];
  let i = 0;
  let j = 0;
  while (i < ingressRoutes.length && j < gatewayRoutes.length) {
    const a = keyOf(ingressRoutes[i]!);
    const b = keyOf(gatewayRoutes[j]!);
    const older = a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0) || a[2] - b[2];
    out.push(older <= 0 ? ingressRoutes[i++]! : gatewayRoutes[j++]!);
  }
  while (i < ingressRoutes.length) out.push(ingressRoutes[i++]!);
  while (j < gatewayRoutes.length) out.push(gatewayRoutes[j++]!);
  return out;
}
