import type { AnnotationReader } from "./annotationReader.js";

export interface RedirectSettings {
  /** ssl-redirect (default true): a TLS host's plain-HTTP requests get 308 to HTTPS. */
  sslRedirect: boolean;
  /** force-ssl-redirect: redirect to HTTPS even without TLS for the host. */
  forceSslRedirect: boolean;
}

/** ingress-nginx docs, "Server-side HTTPS enforcement through redirect". */
export function readRedirects(a: AnnotationReader): RedirectSettings {
  return {
    sslRedirect: a.bool("ssl-redirect", true),
    forceSslRedirect: a.bool("force-ssl-redirect", false),
  };
}
