import { NGINX_PREFIX, type AnnotationReader } from "./annotationReader.js";
import { INGRESS_NGINX_ANNOTATIONS } from "./knownAnnotations.js";

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
      const near = closest(name);
      a.warn(name, `is not an ingress-nginx annotation${near ? ` (did you mean ${NGINX_PREFIX}${near}?)` : ""}: it is ignored`, "unknown-annotation");
    }
  }
}

/** The known name within two edits of `name`, if one is: the likely intended one. */
function closest(name: string): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const known of INGRESS_NGINX_ANNOTATIONS) {
    if (Math.abs(known.length - name.length) >= bestDistance) continue;
    const d = editDistance(name, known);
    if (d < bestDistance) [best, bestDistance] = [known, d];
  }
  return best;
}

/** Levenshtein distance (names are short; runs only for an unknown annotation, at load time). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}
