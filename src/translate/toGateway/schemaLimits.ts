/**
 * Sizes the Gateway API v1 schema caps (and ingressd's validation enforces): a bigger
 * object is split, which means the same: rules of all HTTPRoutes on a listener are
 * ranked together, and a host's listeners may live on any Gateway of the class.
 */
export const MAX_RULES_PER_ROUTE = 16;
export const MAX_LISTENERS_PER_GATEWAY = 64;

/** `items` in runs of at most `size`; one empty run for no items (a route still says where it attaches). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out.length === 0 ? [[]] : out;
}
