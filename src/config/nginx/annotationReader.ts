/** ingress-nginx's annotation prefix; ingressd reads the same names. */
export const NGINX_PREFIX = "nginx.ingress.kubernetes.io/";

export interface AnnotationProblem {
  severity: "error" | "warning";
  /** The full annotation name, e.g. `nginx.ingress.kubernetes.io/proxy-body-size`. */
  annotation: string;
  code: string;
  message: string;
}

/**
 * An Ingress's `nginx.ingress.kubernetes.io/*` annotations, read by short name. It
 * remembers which names were read, so whatever no group reads is reported as
 * unsupported instead of being silently ignored; a value that does not parse is an
 * error on that annotation (the Ingress then keeps its last good version).
 */
export class AnnotationReader {
  readonly problems: AnnotationProblem[] = [];
  private readonly read = new Set<string>();

  constructor(private readonly annotations: Readonly<Record<string, string>>) {}

  /** The value of `nginx.ingress.kubernetes.io/<name>`, trimmed; undefined when absent. */
  get(name: string): string | undefined {
    const full = NGINX_PREFIX + name;
    this.read.add(full);
    const v = this.annotations[full];
    return v === undefined ? undefined : String(v).trim();
  }

  /** `"true"` / `"false"` (as ingress-nginx parses booleans); `fallback` when absent. */
  bool(name: string, fallback: boolean): boolean {
    const v = this.get(name);
    if (v === undefined) return fallback;
    if (v === "true") return true;
    if (v === "false") return false;
    this.error(name, `must be "true" or "false", not "${v}"`);
    return fallback;
  }

  /** A whole number ≥ `min`; undefined when absent or invalid (invalid is reported). */
  int(name: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const v = this.get(name);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      this.error(name, `must be a whole number${max < Number.MAX_SAFE_INTEGER ? ` from ${min} to ${max}` : min > 0 ? ` of at least ${min}` : ""}, not "${v}"`);
      return undefined;
    }
    return Number(v);
  }

  error(name: string, message: string, code = "invalid-annotation"): void {
    this.problems.push({ severity: "error", annotation: NGINX_PREFIX + name, code, message: `${NGINX_PREFIX + name} ${message}` });
  }

  warn(name: string, message: string, code = "annotation-warning"): void {
    this.problems.push({ severity: "warning", annotation: NGINX_PREFIX + name, code, message: `${NGINX_PREFIX + name} ${message}` });
  }

  /** Full names of the nginx annotations present that nothing read. */
  unread(): string[] {
    return Object.keys(this.annotations).filter((n) => n.startsWith(NGINX_PREFIX) && !this.read.has(n));
  }
}
