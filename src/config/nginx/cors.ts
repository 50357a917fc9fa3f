import type { CorsFilter } from "../../model/route.js";
import type { AnnotationReader } from "./annotationReader.js";

/** What enable-cors and cors-* ask for: the CORS filter's settings, when enabled. */
export interface CorsSettings {
  cors?: Omit<CorsFilter, "type">;
}

/** ingress-nginx's defaults (internal/ingress/annotations/cors/main.go). */
export const CORS_DEFAULTS = {
  allowMethods: "GET, PUT, POST, DELETE, PATCH, OPTIONS",
  allowHeaders: "DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization",
  maxAgeSeconds: 1728000,
} as const;

/**
 * One origin as ingress-nginx's corsOriginRegex accepts it: `scheme://host[:port]` with
 * a lower-case scheme and an optional leading `*.` label, or `null`. (`*` is handled apart.)
 */
const ORIGIN = /^[a-z]+:\/\/(?:\*\.)?[A-Za-z0-9\-.]+(?::\d+)?$/;
// ingress-nginx's own patterns nest quantifiers (`^([A-Za-z]+,?\s?)+$`), which backtrack
// exponentially on a long bad value; these accept the same lists with one separator a time.
const METHODS = /^[A-Za-z]+(?:(?:,\s?|\s)[A-Za-z]+)*,?$/;
const HEADERS = /^[A-Za-z0-9\-_, ]*$/;
const EXPOSE = /^(?:[A-Za-z0-9\-_]+|\*)(?:(?:,\s?|\s)(?:[A-Za-z0-9\-_]+|\*))*,?$/;

const CORS_OPTIONS = ["cors-allow-origin", "cors-allow-methods", "cors-allow-headers", "cors-expose-headers", "cors-allow-credentials", "cors-max-age"];

/**
 * ingress-nginx docs, "Enable CORS". Values are sent as written. Unlike ingress-nginx
 * (which skips a bad origin or falls back to the default), a bad value is an error: a
 * typo in an origin list would otherwise silently change who may call the API.
 */
export function readCors(a: AnnotationReader): CorsSettings {
  if (!a.bool("enable-cors", false)) {
    for (const name of CORS_OPTIONS) if (a.get(name) !== undefined) a.warn(name, `has no effect without enable-cors: "true"`);
    return {};
  }
  const allowOrigins = readOrigins(a);
  const allowMethods = readList(a, "cors-allow-methods", METHODS, CORS_DEFAULTS.allowMethods, "a list of methods such as \"GET, POST\"");
  const allowHeaders = readList(a, "cors-allow-headers", HEADERS, CORS_DEFAULTS.allowHeaders, "a list of header names (letters, digits, - and _)");
  const exposeHeaders = readList(a, "cors-expose-headers", EXPOSE, "", "a list of header names (letters, digits, - and _) or *");
  const allowCredentials = a.bool("cors-allow-credentials", true);
  const maxAgeSeconds = a.int("cors-max-age") ?? CORS_DEFAULTS.maxAgeSeconds;
  return { cors: { allowOrigins, allowMethods, allowHeaders, exposeHeaders, allowCredentials, maxAgeSeconds } };
}

/** `*` (the default, and what a list containing `*` means), or the listed origins. */
function readOrigins(a: AnnotationReader): string[] {
  const v = a.get("cors-allow-origin");
  if (v === undefined || v === "") return ["*"];
  const origins = v.split(",").map((o) => o.trim()).filter((o) => o !== "");
  const bad = origins.filter((o) => o !== "*" && o !== "null" && !ORIGIN.test(o));
  if (bad.length > 0) {
    a.error("cors-allow-origin", `has ${bad.map((o) => `"${o}"`).join(", ")}, not an origin: each must be scheme://host[:port] (lower-case scheme, no path), optionally with one leading *. label (https://*.example.com), or * or null`);
  }
  return origins.includes("*") ? ["*"] : origins;
}

function readList(a: AnnotationReader, name: string, pattern: RegExp, fallback: string, expected: string): string {
  const v = a.get(name);
  if (v === undefined || v === "") return fallback;
  if (!pattern.test(v)) a.error(name, `must be ${expected}, not "${v}"`);
  return v;
}
