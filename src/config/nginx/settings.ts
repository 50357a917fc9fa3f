import { AnnotationReader, type AnnotationProblem } from "./annotationReader.js";
import { readRedirects, type RedirectSettings } from "./redirects.js";
import { reportUnsupported } from "./unsupported.js";

/**
 * What an Ingress's ingress-nginx annotations ask for, parsed and checked: one group of
 * annotations per file, as ingress-nginx's own parsers are laid out. Validation reports
 * the problems (so a bad value is an error at its line); translation builds the route's
 * filters from the settings.
 */
export type NginxSettings = RedirectSettings;

export function readNginxSettings(annotations: Readonly<Record<string, string>> | undefined): { settings: NginxSettings; problems: AnnotationProblem[] } {
  const a = new AnnotationReader(annotations ?? {});
  const settings: NginxSettings = {
    ...readRedirects(a),
  };
  reportUnsupported(a);
  return { settings, problems: a.problems };
}
