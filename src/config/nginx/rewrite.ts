import type { AnnotationReader } from "./annotationReader.js";

/** What use-regex, rewrite-target, app-root, x-forwarded-prefix, upstream-vhost ask for. */
export interface RewriteSettings {}

/** Placeholder: these annotations are not read yet, so they are reported as unsupported. */
export function readRewrite(_a: AnnotationReader): RewriteSettings {
  return {};
}
