import { BACKTRACKING_WARNING, mayBacktrackExponentially } from "../backtracking.js";
import type { AnnotationReader } from "./annotationReader.js";

/**
 * How a canary Ingress takes traffic from the main Ingress of its host and path, in
 * ingress-nginx's order of precedence: header, then cookie, then weight.
 */
export interface CanaryRules {
  /** canary-by-header and how its value is judged (always/never, an exact value, or a pattern). */
  header?: CanaryHeaderRule;
  /** canary-by-cookie: `always` → canary, `never` → main. */
  cookie?: string;
  /** canary-weight out of canary-weight-total: the share of the remaining requests. */
  weight: number;
  weightTotal: number;
}

export interface CanaryHeaderRule {
  /** Lower case: header names are case-insensitive. */
  name: string;
  /** canary-by-header-value: only this exact value (case-sensitive) → canary. */
  value?: string;
  /** canary-by-header-pattern: a value it matches (unanchored, case-sensitive) → canary. */
  pattern?: string;
}

/** What canary, canary-by-*, canary-weight* ask for. */
export interface CanarySettings {
  /** Present when the Ingress is a canary (`canary: "true"`). */
  canary?: CanaryRules;
}

/** An HTTP header or cookie name (RFC 9110 token). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** ingress-nginx's BasicCharsRegex, which canary-by-header-value must match. */
const BASIC_CHARS = /^[/\-._~a-zA-Z0-9:]*$/;
const OPTIONS = ["canary-by-header", "canary-by-header-value", "canary-by-header-pattern", "canary-by-cookie", "canary-weight", "canary-weight-total"];

export function readCanary(a: AnnotationReader): CanarySettings {
  const enabled = a.bool("canary", false);
  if (!enabled) {
    // ingress-nginx: "configured but not enabled" — the Ingress is an ordinary one.
    for (const name of OPTIONS) if (a.get(name) !== undefined) a.warn(name, `has no effect without nginx.ingress.kubernetes.io/canary: "true": this Ingress is not a canary`);
    return {};
  }
  const rules: CanaryRules = { weight: 0, weightTotal: a.int("canary-weight-total", 1) ?? 100 };
  const weight = a.int("canary-weight", 0);
  if (weight !== undefined && weight > rules.weightTotal) {
    a.error("canary-weight", `must be at most canary-weight-total (${rules.weightTotal}), not "${weight}"`);
  } else if (weight !== undefined) {
    rules.weight = weight;
  }

  const header = a.get("canary-by-header");
  const value = a.get("canary-by-header-value");
  const pattern = a.get("canary-by-header-pattern");
  if (header !== undefined && !TOKEN.test(header)) a.error("canary-by-header", `must be an HTTP header name, not "${header}"`);
  if (value !== undefined && !BASIC_CHARS.test(value)) {
    a.error("canary-by-header-value", `must be letters, digits and / - . _ ~ : only, not "${value}"`);
  }
  if (pattern !== undefined) {
    try {
      new RegExp(pattern);
      if (mayBacktrackExponentially(pattern)) a.warn("canary-by-header-pattern", BACKTRACKING_WARNING, "slow-regex");
    } catch (e) {
      a.error("canary-by-header-pattern", `is not a valid regular expression: "${pattern}" (${(e as Error).message})`);
    }
  }
  if (header === undefined) {
    if (value !== undefined) a.warn("canary-by-header-value", "has no effect without nginx.ingress.kubernetes.io/canary-by-header");
    if (pattern !== undefined) a.warn("canary-by-header-pattern", "has no effect without nginx.ingress.kubernetes.io/canary-by-header");
  } else if (TOKEN.test(header)) {
    rules.header = { name: header.toLowerCase() };
    // As balancer.lua: a value, when set, wins over a pattern.
    if (value) rules.header.value = value;
    else if (pattern) rules.header.pattern = pattern;
    if (value && pattern !== undefined) a.warn("canary-by-header-pattern", "is ignored: canary-by-header-value is set and takes precedence");
  }

  const cookie = a.get("canary-by-cookie");
  if (cookie !== undefined && !TOKEN.test(cookie)) a.error("canary-by-cookie", `must be a cookie name, not "${cookie}"`);
  else if (cookie !== undefined) rules.cookie = cookie;
  return { canary: rules };
}
