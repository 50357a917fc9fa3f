import { NGINX_PREFIX, type AnnotationReader } from "./annotationReader.js";
import { INGRESS_NGINX_ANNOTATIONS } from "./knownAnnotations.js";
import { closestName } from "../../model/editDistance.js";

/** Raw nginx configuration: ingressd never runs it (nor would a future ingress-nginx). */
const SNIPPETS = new Set(["configuration-snippet", "server-snippet", "auth-snippet", "stream-snippet", "modsecurity-snippet"]);

/** Every nginx annotation no group read: a warning naming it, never silence. */
export function reportUnsupported(a: AnnotationReader): void {
  for (const full of a.unread()) {
    const name = full.slice(NGINX_PREFIX.length);
    if (SNIPPETS.has(name)) {
      a.warn(name, "is raw nginx configuration, which ingressd never executes: it is ignored", "unsupported-annotation");
    } else if (INGRESS_NGINX_ANNOTATIONS.has(name)) {
      a.warn(name, "is not supported by ingressd: it is ignored", "unsupported-annotation");
    } else {
      const near = closestName(name, INGRESS_NGINX_ANNOTATIONS);
      a.warn(name, `is not an ingress-nginx annotation${near ? ` (did you mean ${NGINX_PREFIX}${near}?)` : ""}: it is ignored`, "unknown-annotation");
    }
  }
}
