import type { AnnotationReader } from "./annotationReader.js";

/** What whitelist/allowlist/denylist-source-range, auth-type, auth-secret, auth-realm ask for. */
export interface AccessSettings {}

/** Placeholder: these annotations are not read yet, so they are reported as unsupported. */
export function readAccess(_a: AnnotationReader): AccessSettings {
  return {};
}
