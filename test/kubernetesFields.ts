import * as k8s from "@kubernetes/client-node";

/**
 * Fields of a manifest that its kind does not define, as `kubectl apply`'s strict field
 * validation reports them. kubernetes-models' schemas let unknown fields pass (they do
 * not set additionalProperties: false), so a misspelled `readOnlyRootFileSytem` would be
 * silently dropped by the API server; @kubernetes/client-node's generated models list
 * every field of every type, which is what this walks.
 */
export function unknownManifestFields(value: Record<string, unknown>): string[] {
  const version = String(value.apiVersion).split("/").at(-1)!;
  const type = `${version[0]!.toUpperCase()}${version.slice(1)}${String(value.kind)}`;
  const out: string[] = [];
  walk(value, type, String(value.kind), out);
  return out;
}

interface Attribute {
  baseName: string;
  type: string;
}
type Model = { getAttributeTypeMap(): Attribute[] };

const ARRAY = /^Array<(.+)>$/;
const MAP = /^\{ \[key: string\]: (.+); \}$/;

function walk(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  const array = ARRAY.exec(type);
  if (array) {
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, array[1]!, `${path}[${i}]`, out));
    return;
  }
  const map = MAP.exec(type);
  if (map) {
    if (typeof value === "object") for (const [k, v] of Object.entries(value)) walk(v, map[1]!, `${path}.${k}`, out);
    return;
  }
  const model = (k8s as unknown as Record<string, Model | undefined>)[type];
  // Primitives (string, number, boolean, Date, IntOrString, object) have no fields to check.
  if (typeof model?.getAttributeTypeMap !== "function" || typeof value !== "object") return;
  const fields = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [key, v] of Object.entries(value)) {
    const fieldType = fields.get(key);
    if (fieldType === undefined) out.push(`${path}.${key}`);
    else walk(v, fieldType, `${path}.${key}`, out);
  }
}
