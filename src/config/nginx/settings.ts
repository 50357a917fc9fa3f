import { AnnotationReader, NGINX_PREFIX, type AnnotationProblem } from "./annotationReader.js";
import { readAccess, type AccessSettings } from "./access.js";
import { readAffinity, type AffinitySettings } from "./affinity.js";
import { readBackendProtocol, type BackendProtocolSettings } from "./backendProtocol.js";
import { readCanary, type CanarySettings } from "./canary.js";
import { readCors, type CorsSettings } from "./cors.js";
import { readLimit, type LimitSettings } from "./limits.js";
import { readRedirects, type RedirectSettings } from "./redirects.js";
import { readRewrite, type RewriteSettings } from "./rewrite.js";
import { reportUnsupported } from "./unsupported.js";

/**
 * What an Ingress's ingress-nginx annotations ask for, parsed and checked: one group of
 * annotations per file, as ingress-nginx's own parsers are laid out. Validation reports
 * the problems (so a bad value is an error at its line, and the Ingress keeps its last
 * good version); translation builds the route's filters from the settings.
 */
export type NginxSettings = RedirectSettings &
  RewriteSettings &
  LimitSettings &
  AccessSettings &
  CorsSettings &
  AffinitySettings &
  CanarySettings &
  BackendProtocolSettings;

export function readNginxSettings(annotations: Readonly<Record<string, string>> | undefined): { settings: NginxSettings; problems: AnnotationProblem[]; annotated: boolean } {
  // Most Ingresses carry no nginx annotation: their settings are the defaults, read once
  // (a reload of 1,000 Ingresses read every group's names for each of them, twice).
  // A fresh object each time: translation keeps per-Ingress results keyed by it.
  if (!hasNginxAnnotation(annotations)) return { settings: { ...(defaults ??= readAll({}).settings) }, problems: [], annotated: false };
  return { ...readAll(annotations!), annotated: true };
}

let defaults: NginxSettings | undefined;

function hasNginxAnnotation(annotations: Readonly<Record<string, string>> | undefined): boolean {
  for (const name in annotations) if (name.startsWith(NGINX_PREFIX)) return true;
  return false;
}

function readAll(annotations: Readonly<Record<string, string>>): { settings: NginxSettings; problems: AnnotationProblem[] } {
  const a = new AnnotationReader(annotations);
  const settings: NginxSettings = {
    ...readRedirects(a),
    ...readRewrite(a),
    ...readLimit(a),
    ...readAccess(a),
    ...readCors(a),
    ...readAffinity(a),
    ...readCanary(a),
    ...readBackendProtocol(a),
  };
  reportUnsupported(a);
  return { settings, problems: a.problems };
}
