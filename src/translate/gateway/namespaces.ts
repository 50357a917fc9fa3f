import type { ResourceSet } from "../../config/resources.js";

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/**
 * The labels of each namespace named by a Namespace resource, plus the one Kubernetes
 * sets on every namespace (`kubernetes.io/metadata.name`), so a selector on it works for
 * namespaces no file defines.
 */
export function namespaceLabels(resources: ResourceSet): (namespace: string) => Record<string, string> {
  const byName = new Map(resources.namespaces.map((n) => [n.name, n.object.metadata?.labels ?? {}]));
  return (namespace) => ({ ...byName.get(namespace), "kubernetes.io/metadata.name": namespace });
}

/** Kubernetes label selector semantics: every matchLabels entry and every expression holds. */
export function selectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case "In": if (!has || !values.includes(labels[e.key]!)) return false; break;
      case "NotIn": if (has && values.includes(labels[e.key]!)) return false; break;
      case "Exists": if (!has) return false; break;
      case "DoesNotExist": if (has) return false; break;
      default: return false;
    }
  }
  return true;
}
