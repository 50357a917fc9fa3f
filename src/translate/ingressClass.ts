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
  const time = (i: Loaded<"Ingress">): number => {
    const t = i.object.metadata?.creationTimestamp;
    const ms = t ? Date.parse(t) : NaN;
    return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
  };
  return [...ingresses].sort(
    (a, b) => time(a) - time(b) || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.docIndex - b.docIndex,
  );
}
