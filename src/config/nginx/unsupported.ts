import { NGINX_PREFIX, type AnnotationReader } from "./annotationReader.js";

/** Raw nginx configuration: ingressd never runs it (nor would a future ingress-nginx). */
const SNIPPETS = new Set(["configuration-snippet", "server-snippet", "auth-snippet", "stream-snippet", "modsecurity-snippet"]);

/** Every nginx annotation no group read: a warning naming it, never silence. */
export function reportUnsupported(a: AnnotationReader): void {
  for (const full of a.unread()) {
    const name = full.slice(NGINX_PREFIX.length);
    if (SNIPPETS.has(name)) a.warn(name, "is raw nginx configuration, which ingressd never executes: it is ignored", "unsupported-annotation");
    else a.warn(name, "is not supported by ingressd: it is ignored", "unsupported-annotation");
  }
}
