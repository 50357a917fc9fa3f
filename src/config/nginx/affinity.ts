import type { AnnotationReader } from "./annotationReader.js";

/** What affinity, affinity-mode, session-cookie-*, upstream-hash-by ask for. */
export interface AffinitySettings {}

/** Placeholder: these annotations are not read yet, so they are reported as unsupported. */
export function readAffinity(_a: AnnotationReader): AffinitySettings {
  return {};
}
