/** Label and field selectors as the API server parses them (k8s.io/apimachinery labels and fields). */

type Labels = Record<string, string> | undefined;
type Requirement = (labels: Labels) => boolean;

export type Matcher = (obj: KubeObject) => boolean;

export interface KubeObject {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** Splits on commas outside parentheses: "a in (x,y),b" → ["a in (x,y)", "b"]. */
function terms(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      out.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  out.push(selector.slice(start));
  return out.map((t) => t.trim()).filter((t) => t !== "");
}

function requirement(term: string): Requirement {
  let m = /^!\s*([\w./-]+)$/.exec(term);
  if (m) {
    const key = m[1]!;
    return (l) => l?.[key] === undefined;
  }
  m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (m) {
    const [, key, op, list] = m as unknown as [string, string, string, string];
    const values = new Set(list.split(",").map((v) => v.trim()));
    return op === "in" ? (l) => l?.[key] !== undefined && values.has(l[key]!) : (l) => l?.[key] === undefined || !values.has(l[key]!);
  }
  m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(term);
  if (m) {
    const [, key, op, value] = m as unknown as [string, string, string, string];
    return op === "!=" ? (l) => l?.[key] !== value : (l) => l?.[key] === value;
  }
  m = /^([\w./-]+)$/.exec(term);
  if (m) {
    const key = m[1]!;
    return (l) => l?.[key] !== undefined;
  }
  throw new SelectorError(`unable to parse requirement: ${term}`);
}

export class SelectorError extends Error {}

/** Every object when `selector` is empty. Throws SelectorError on a malformed one (the server answers 400). */
export function labelMatcher(selector: string | null): Matcher {
  const reqs = terms(selector ?? "").map(requirement);
  return (obj) => reqs.every((r) => r(obj.metadata.labels));
}

/** The fields every kind supports: metadata.name and metadata.namespace, with =, == and !=. */
export function fieldMatcher(selector: string | null): Matcher {
  const reqs = terms(selector ?? "").map((term): Matcher => {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw new SelectorError(`invalid field selector: ${term}`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    if (field !== "metadata.name" && field !== "metadata.namespace") throw new SelectorError(`field label not supported: ${field}`);
    const get = (o: KubeObject): string => (field === "metadata.name" ? o.metadata.name : (o.metadata.namespace ?? ""));
    return op === "!=" ? (o) => get(o) !== value : (o) => get(o) === value;
  });
  return (obj) => reqs.every((r) => r(obj));
}
