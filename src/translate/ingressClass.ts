import type { Loaded, ResourceSet } from "../config/resources.js";

export const CONTROLLER_NAME = "ingressd.io/ingress-controller";

/**
 * Which Ingresses without a class are served: all of them (a rules folder is ingressd's
 * alone), or — in a cluster, where other controllers' Ingresses live too — only while an
 * IngressClass of ingressd's is the cluster's default (`ingressclass.kubernetes.io/is-default-class`),
 * as Kubernetes means an Ingress without a class.
 */
export type ClasslessIngresses = "served" | "default-class";

const DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class";

/** The ingress classes served: `--ingress-class`, and IngressClasses naming ingressd's controller. */
export function servedClasses(resources: ResourceSet, ingressClass: string, classless: ClasslessIngresses = "served"): ServedClasses {
  const classes: ServedClasses = new Set([ingressClass]);
  let isDefault = false;
  for (const c of resources.ingressClasses) {
    if (c.name !== ingressClass && c.object.spec?.controller !== CONTROLLER_NAME) continue;
    classes.add(c.name);
    if (c.object.metadata?.annotations?.[DEFAULT_CLASS_ANNOTATION] === "true") isDefault = true;
  }
  if (classless === "served" || isDefault) classes.add(WITHOUT_CLASS);
  return classes;
}

/** Class names, and WITHOUT_CLASS when Ingresses without one are served. */
export type ServedClasses = Set<string>;

/** Stands for "no class" in ServedClasses: no class name is empty. */
const WITHOUT_CLASS = "";

/** The served class names, for messages. */
export function classNames(classes: ServedClasses): string {
  return [...classes].filter((c) => c !== WITHOUT_CLASS).join(", ");
}

export function ingressClassOf(ing: Loaded<"Ingress">): string | undefined {
  return ing.object.spec?.ingressClassName ?? ing.object.metadata?.annotations?.["kubernetes.io/ingress.class"];
}

/** Whether this instance serves `ing`: its class is one of `classes`, or it has none and those are served. */
export function isServedIngress(ing: Loaded<"Ingress">, classes: ReadonlySet<string>): boolean {
  return classes.has(ingressClassOf(ing) ?? WITHOUT_CLASS);
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
