import type { AnnotationReader } from "./annotationReader.js";

/** What canary, canary-by-*, canary-weight* ask for. */
export interface CanarySettings {}

/** Placeholder: these annotations are not read yet, so they are reported as unsupported. */
export function readCanary(_a: AnnotationReader): CanarySettings {
  return {};
}
