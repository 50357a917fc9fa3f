import type { ResourceSet } from "../../config/resources.js";

export interface ReferenceFrom {
  group: string;
  kind: string;
  namespace: string;
}

export interface ReferenceTo {
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

/**
 * Whether a reference across namespaces is allowed: a ReferenceGrant in the target's
 * namespace lists the referrer's group, kind and namespace in `from`, and the target's
 * group and kind (and name, when it gives one) in `to`. A reference within one namespace
 * needs none.
 */
export function referencePermitted(resources: ResourceSet, from: ReferenceFrom, to: ReferenceTo): boolean {
  if (from.namespace === to.namespace) return true;
  return resources.referenceGrants.some((grant) => {
    if (grant.namespace !== to.namespace) return false;
    const spec = grant.object.spec;
    if (!spec) return false;
    const fromOk = spec.from.some((f) => f.group === from.group && f.kind === from.kind && f.namespace === from.namespace);
    const toOk = spec.to.some((t) => t.group === to.group && t.kind === to.kind && (t.name === undefined || t.name === "" || t.name === to.name));
    return fromOk && toOk;
  });
}
