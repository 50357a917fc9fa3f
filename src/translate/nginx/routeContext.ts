import type { Loaded, ResourceSet } from "../../config/resources.js";
import type { NginxSettings } from "../../config/nginx/settings.js";
import type { ConfigIssue } from "../../model/issues.js";

/** What building one Ingress path's route may consult. */
export interface RouteContext {
  ing: Loaded<"Ingress">;
  /** `namespace/name` of the Ingress. */
  ingress: string;
  /** The rule's host, or null for every host. */
  host: string | null;
  /** The path as written. */
  path: string;
  /** Field path of the Ingress path (`spec.rules[i].http.paths[j]`), or of `spec.defaultBackend`. */
  at: (string | number)[];
  settings: NginxSettings;
  resources: ResourceSet;
  /** Whether `host` is a TLS host of some served Ingress. */
  isTlsHost(host: string): boolean;
  /** Reports a problem found while translating (e.g. a Secret that does not exist), at a field of the Ingress. */
  issue(severity: ConfigIssue["severity"], code: string, field: (string | number)[], message: string): void;
}
