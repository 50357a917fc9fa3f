import type { AnnotationReader } from "./annotationReader.js";

/** What backend-protocol, proxy-ssl-* ask for. */
export interface BackendProtocolSettings {}

/** Placeholder: these annotations are not read yet, so they are reported as unsupported. */
export function readBackendProtocol(_a: AnnotationReader): BackendProtocolSettings {
  return {};
}
