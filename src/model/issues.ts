/**
 * A problem found in the configuration. Errors and warnings are values, never
 * exceptions: the loader collects them, keeps serving what is valid, and
 * reports them in the logs and in `/api/config` until they are fixed.
 */
export type Severity = "error" | "warning";

export interface SourceLocation {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  col: number;
}

export interface ConfigIssue extends SourceLocation {
  severity: Severity;
  /** Stable machine-readable code, e.g. `yaml-syntax`, `schema`, `unknown-port`. */
  code: string;
  message: string;
  /** Field path inside the resource, e.g. `spec.rules[0].http.paths[1].pathType`. */
  field?: string;
  /** `Kind namespace/name` of the resource it concerns, when known. */
  resource?: string;
  /**
   * The rules (host, path) this error keeps from being served — every rule of an
   * Ingress rejected whole, or the one path dropped — so the dashboard and `/api/config`
   * can say where their requests go now.
   */
  dropped?: readonly DroppedRule[];
}

/** A rule as written: `host` null for every host; `spec.defaultBackend` is host null, path `/`. */
export interface DroppedRule {
  host: string | null;
  path: string;
}

/** `file:line:col: severity: message (field)` — the form editors and `check` print. */
export function formatIssue(issue: ConfigIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.col}`;
  const field = issue.field ? ` (${issue.field})` : "";
  return `${where}: ${issue.severity}: ${issue.message}${field}`;
}

/**
 * Formats a field path of keys and indexes as `spec.rules[0].host`; keys that are not
 * plain names (annotations, labels) in brackets: `metadata.annotations["ingressd.io/max-fails"]`.
 */
export function fieldPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (!/^[A-Za-z_$][\w$]*$/.test(part)) out += `[${JSON.stringify(part)}]`;
    else out += out === "" ? part : `.${part}`;
  }
  return out;
}
