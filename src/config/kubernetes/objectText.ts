import { stringify } from "yaml";
import type { WatchedKind } from "./watchedKinds.js";

/** An object as the API server sends it: enough of its shape to name it. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; [field: string]: unknown };
  [field: string]: unknown;
}

/**
 * What a cluster object is called where a file's path would be: in errors
 * (`kubernetes:Ingress/shop/web:7:9 spec.rules[0].host …`), in `/api/config`'s files
 * and on the dashboard. The text under it is the object as YAML (see `objectText`).
 */
export function objectPathName(kind: string, namespace: string | undefined, name: string): string {
  return namespace ? `kubernetes:${kind}/${namespace}/${name}` : `kubernetes:${kind}/${name}`;
}

/** The kind, namespace and name a path of `objectPathName` stands for; undefined for a file's path. */
export function objectOfPathName(path: string): { kind: string; namespace?: string; name: string } | undefined {
  if (!path.startsWith("kubernetes:")) return undefined;
  const parts = path.slice("kubernetes:".length).split("/");
  if (parts.length === 3) return { kind: parts[0]!, namespace: parts[1]!, name: parts[2]! };
  if (parts.length === 2) return { kind: parts[0]!, name: parts[1]! };
  return undefined;
}

/** Written by kubectl apply: a second copy of the object, never configuration. */
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

/**
 * The object as ingressd reads it, as YAML: what the API server sent, with `kind` and
 * `apiVersion` filled in (a list's items lack them) and without what changes without
 * the configuration changing — `status` (ingressd writes the Ingresses' and Gateways'
 * own), `resourceVersion`, `managedFields`, kubectl's last-applied copy — so a status
 * write is not a reload. The same object always gives the same text.
 */
export function objectText(kind: WatchedKind, object: KubeObject): string {
  const { status: _status, metadata = {}, ...rest } = object;
  const { resourceVersion: _rv, managedFields: _mf, annotations, ...meta } = metadata as Record<string, unknown> & { annotations?: Record<string, string> };
  const kept = annotations ? Object.fromEntries(Object.entries(annotations).filter(([k]) => k !== LAST_APPLIED)) : undefined;
  const shaped = {
    ...rest,
    apiVersion: object.apiVersion ?? kind.apiVersion,
    kind: object.kind ?? kind.kind,
    metadata: { ...meta, ...(kept && Object.keys(kept).length > 0 ? { annotations: kept } : {}) },
  };
  // apiVersion and kind first, as kubectl prints them.
  const { apiVersion, kind: k, metadata: m, ...body } = shaped;
  return stringify({ apiVersion, kind: k, metadata: m, ...body }, { lineWidth: 0 });
}
