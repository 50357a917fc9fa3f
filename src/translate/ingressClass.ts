import type { Loaded, ResourceSet } from "../config/resources.js";

export const CONTROLLER_NAME = "ingressd.io/ingress-controller";

/** The ingress classes served: `--ingress-class`, and IngressClasses naming ingressd's controller. */
export function servedClasses(resources: ResourceSet, ingressClass: string): Set<string> {
  const classes = new Set([ingressClass]);
  for (const c of resources.ingressClasses) if (c.object.spec?.controller === CONTROLLER_NAME) classes.add(c.name);
  return classes;
}

export function ingressClassOf(ing: Loaded<"Ingress">): string | undefined {
  return ing.object.spec?.ingressClassName ?? ing.object.metadata?.annotations?.["kubernetes.io/ingress.class"];
}

/** Whether this instance serves `ing` (its class is one of `classes`, or it has none). */
export function isServedIngress(ing: Loaded<"Ingress">, classes: ReadonlySet<string>): boolean {
  const cls = ingressClassOf(ing);
  return cls === undefined || classes.has(cls);
}

/**
 * Older creationTimestamp first (resources without one count as newest), then file
 * path, then document order — the order conflicts are settled in.
 */
export function byPrecedence(ingresses: readonly Loaded<"Ingress">[]): Loaded<"Ingress">[] {
  // Keys once per resource, not per comparison: a reload sorts thousands.
  const keys = new Map(ingresses.map((i) => [i, precedenceKey(i)]));
  return [...ingresses].sort((a, b) => {
    const x = keys.get(a)!;
    const y = keys.get(b)!;
    return x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0) || x[2] - y[2];
  });
}

/** [creation time in ms (none: newest), file, document index]: the older resource sorts first. */
export function precedenceKey(r: Loaded): readonly [number, string, number] {
  const t = (r.object as { metadata?: { creationTimestamp?: string } }).metadata?.creationTimestamp;
  const ms = t ? Date.parse(t) : NaN;
  return [Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms, r.file, r.docIndex];
}
