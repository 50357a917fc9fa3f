import type { AnnotationReader } from "./annotationReader.js";

/** What enable-cors and cors-* ask for. */
export interface CorsSettings {}

/** Placeholder: these annotations are not read yet, so they are reported as unsupported. */
export function readCors(_a: AnnotationReader): CorsSettings {
  return {};
}
