import type { Loaded } from "../../config/resources.js";
import { NGINX_PREFIX } from "../../config/nginx/annotationReader.js";
import { fieldPath } from "../../model/issues.js";

/** Something of an Ingress the Gateway API output does not say (or says differently), and why. */
export interface LeftOut {
  /** `namespace/name` of the Ingress. */
  ingress: string;
  file: string;
  line: number;
  col: number;
  /** The annotation's short name (`limit-rps`) or the field (`spec.rules[0].http.paths[1].pathType`). */
  subject: string;
  message: string;
}

/** Collects what one Ingress leaves out, each located where it is written in its file. */
export class LeftOutList {
  readonly items: LeftOut[] = [];

  /** `path` is the field's path in the Ingress, used for the location and, without `subject`, as the subject. */
  add(ing: Loaded<"Ingress">, path: (string | number)[], message: string, subject = fieldPath(path)): void {
    const { file, line, col } = ing.locate(path);
    this.items.push({ ingress: `${ing.namespace}/${ing.name}`, file, line, col, subject, message });
  }

  /** An nginx annotation (short name) of `ing`. */
  annotation(ing: Loaded<"Ingress">, name: string, message: string): void {
    this.add(ing, ["metadata", "annotations", NGINX_PREFIX + name], message, name);
  }
}

/** `file:line:col: Ingress ns/name: subject: message`, one line, as the CLI prints it. */
export function formatLeftOut(item: LeftOut): string {
  return `${item.file}:${item.line}:${item.col}: Ingress ${item.ingress}: ${item.subject}: ${item.message}`;
}
