/**
 * ingressd's own Service annotations. Validated with the resource (so a typo is an
 * error at its line), read again by the upstream side through the same parsers.
 */
export const ANNOTATIONS = {
  maxFails: "ingressd.io/max-fails",
  failTimeout: "ingressd.io/fail-timeout",
  healthCheckPath: "ingressd.io/health-check-path",
  healthCheckInterval: "ingressd.io/health-check-interval",
  tryDuration: "ingressd.io/try-duration",
} as const;

/**
 * `10s`, `500ms`, `1m`, `1m30s`, or a plain number of seconds (as nginx and Caddy
 * accept them) → milliseconds; undefined when malformed.
 */
export function parseDuration(value: string): number | undefined {
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * unit[m[2] as keyof typeof unit];
    end = re.lastIndex;
  }
  return end === text.length && end > 0 ? Math.round(total) : undefined;
}

export interface AnnotationProblem {
  annotation: string;
  message: string;
}

/** Checks ingressd's annotations on a Service; unknown `ingressd.io/` names are reported too. */
export function checkServiceAnnotations(annotations: Record<string, string> | undefined): AnnotationProblem[] {
  const problems: AnnotationProblem[] = [];
  if (!annotations) return problems;
  const known = new Set<string>(Object.values(ANNOTATIONS));
  for (const [name, value] of Object.entries(annotations)) {
    if (!name.startsWith("ingressd.io/")) continue;
    if (!known.has(name)) {
      problems.push({ annotation: name, message: `unknown annotation ${name}; ingressd reads ${[...known].join(", ")}` });
      continue;
    }
    switch (name) {
      case ANNOTATIONS.maxFails:
        if (!/^\d+$/.test(value)) problems.push({ annotation: name, message: `${name} must be a whole number (0 turns passive checks off), not "${value}"` });
        break;
      case ANNOTATIONS.healthCheckPath:
        if (!value.startsWith("/")) problems.push({ annotation: name, message: `${name} must be a path starting with "/", not "${value}"` });
        break;
      default: {
        const ms = parseDuration(value);
        if (ms === undefined) problems.push({ annotation: name, message: `${name} must be a duration such as 10s, 500ms or 1m, not "${value}"` });
        else if (ms <= 0 && name !== ANNOTATIONS.tryDuration) problems.push({ annotation: name, message: `${name} must be longer than 0` });
      }
    }
  }
  return problems;
}
