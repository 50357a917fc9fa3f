import type { AnnotationReader } from "./annotationReader.js";

/** What proxy-body-size, proxy-*-timeout, limit-rps, limit-rpm, limit-connections, limit-whitelist ask for. */
export interface LimitSettings {}

/** Placeholder: these annotations are not read yet, so they are reported as unsupported. */
export function readLimit(_a: AnnotationReader): LimitSettings {
  return {};
}
