import type { KubeObject } from "./objectText.js";

/** The ingress-nginx annotations that name a Secret ingressd reads (as `name` or `namespace/name`). */
const SECRET_ANNOTATIONS = ["nginx.ingress.kubernetes.io/auth-secret", "nginx.ingress.kubernetes.io/proxy-ssl-secret"];

const DNS_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** `namespace/name` of a Secret named as `name` (in `namespace`) or `other/name`; undefined when it cannot name one. */
function qualified(ref: string, namespace: string): string | undefined {
  const parts = ref.split("/");
  if (parts.length === 1 && DNS_NAME.test(parts[0]!)) return `${namespace}/${parts[0]}`;
  if (parts.length === 2 && DNS_NAME.test(parts[0]!) && DNS_NAME.test(parts[1]!)) return ref;
  return undefined;
}

/**
 * The Secrets (`namespace/name`) an Ingress or Gateway refers to: the TLS certificates
 * of an Ingress's `spec.tls` and of a Gateway's HTTPS listeners, and the Secrets of the
 * auth-secret and proxy-ssl-secret annotations. `--source kubernetes` reads exactly
 * these, one by one: Secrets are never listed or watched.
 */
export function secretReferences(kind: string, object: KubeObject): string[] {
  const namespace = object.metadata?.namespace ?? "default";
  const refs = new Set<string>();
  const add = (ref: unknown, ns = namespace): void => {
    const q = typeof ref === "string" ? qualified(ref, ns) : undefined;
    if (q) refs.add(q);
  };
  const spec = (object.spec ?? {}) as Record<string, unknown>;
  if (kind === "Ingress") {
    for (const tls of asArray(spec.tls)) add((tls as { secretName?: unknown }).secretName);
    const annotations = (object.metadata?.annotations ?? {}) as Record<string, unknown>;
    for (const name of SECRET_ANNOTATIONS) add(annotations[name]);
  } else if (kind === "Gateway") {
    for (const listener of asArray(spec.listeners)) {
      const tls = (listener as { tls?: { certificateRefs?: unknown } }).tls;
      for (const ref of asArray(tls?.certificateRefs)) {
        const r = ref as { group?: unknown; kind?: unknown; name?: unknown; namespace?: unknown };
        if ((r.group ?? "") !== "" || (r.kind ?? "Secret") !== "Secret" || typeof r.name !== "string") continue;
        add(r.name, typeof r.namespace === "string" ? r.namespace : namespace);
      }
    }
  }
  return [...refs];
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v.filter((x) => typeof x === "object" && x !== null) : [];
}
