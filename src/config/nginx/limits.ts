import { splitCidr } from "../../net/cidr.js";
import type { AnnotationReader } from "./annotationReader.js";

/** What proxy-body-size, proxy-*-timeout, limit-rps, limit-rpm, limit-connections, limit-whitelist ask for. */
export interface LimitSettings {
  /** proxy-body-size in bytes; 0 = unlimited; absent = ingressd's default (unlimited). */
  proxyBodySize?: number;
  /** proxy-connect-timeout, proxy-send-timeout, proxy-read-timeout, in seconds. */
  proxyConnectTimeout?: number;
  proxySendTimeout?: number;
  proxyReadTimeout?: number;
  /** Requests per second / per minute, concurrent requests, per client; 0 or absent = no limit. */
  limitRps?: number;
  limitRpm?: number;
  limitConnections?: number;
  /** burst = rate × this (limit-burst-multiplier, default 5). */
  limitBurstMultiplier: number;
  /** Client CIDRs never limited (limit-allowlist, or its older name limit-whitelist). */
  limitAllowlist: readonly string[];
}

/** ingress-nginx's `defBurst`. */
export const DEFAULT_BURST_MULTIPLIER = 5;

/** The longest timeout a Node timer holds (2^31 - 1 ms), in whole seconds. */
const MAX_TIMEOUT_SECONDS = Math.floor(0x7fffffff / 1000);

export function readLimit(a: AnnotationReader): LimitSettings {
  const settings: LimitSettings = {
    limitBurstMultiplier: a.int("limit-burst-multiplier", 1) ?? DEFAULT_BURST_MULTIPLIER,
    limitAllowlist: readAllowlist(a),
  };
  const bodySize = readBodySize(a);
  if (bodySize !== undefined) settings.proxyBodySize = bodySize;
  for (const [name, key] of [
    ["proxy-connect-timeout", "proxyConnectTimeout"],
    ["proxy-send-timeout", "proxySendTimeout"],
    ["proxy-read-timeout", "proxyReadTimeout"],
  ] as const) {
    const seconds = readTimeout(a, name);
    if (seconds !== undefined) settings[key] = seconds;
  }
  for (const [name, key] of [
    ["limit-rps", "limitRps"],
    ["limit-rpm", "limitRpm"],
    ["limit-connections", "limitConnections"],
  ] as const) {
    const n = a.int(name);
    if (n !== undefined) settings[key] = n;
  }
  return settings;
}

/**
 * A size as nginx's client_max_body_size reads it (`ngx_parse_offset`): bytes, or a
 * number with `k`, `m` or `g` (either case), 1024-based. Undefined when it is not one.
 */
export function parseSize(value: string): number | undefined {
  const m = /^(\d+)([kmg]?)$/i.exec(value);
  if (!m) return undefined;
  const scale = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as "" | "k" | "m" | "g"];
  const bytes = Number(m[1]) * scale;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

function readBodySize(a: AnnotationReader): number | undefined {
  const v = a.get("proxy-body-size");
  if (v === undefined) return undefined;
  const bytes = parseSize(v);
  if (bytes !== undefined) return bytes;
  if (/^\d+b$/i.test(v)) {
    // ingress-nginx's annotation check lets `b` through, but its template leaves out a size nginx cannot read.
    a.warn("proxy-body-size", `"${v}" is not a size nginx reads (bytes, or k, m, g): ingress-nginx leaves it out, so the body size stays unlimited`);
    return undefined;
  }
  a.error("proxy-body-size", `must be a size such as 1048576, 8m or 1g (k, m, g = 1024-based; 0 = unlimited), not "${v}"`);
  return undefined;
}

/** ingress-nginx reads timeouts with strconv.Atoi: unitless whole seconds (`"5s"` is not one). */
function readTimeout(a: AnnotationReader, name: string): number | undefined {
  const v = a.get(name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > MAX_TIMEOUT_SECONDS) {
    a.error(name, `must be a whole number of seconds from 1 to ${MAX_TIMEOUT_SECONDS}, without a unit, not "${v}"`);
    return undefined;
  }
  return Number(v);
}

/** `10.0.0.0/8, 192.168.1.7`: CIDRs or plain addresses, comma-separated. */
function readAllowlist(a: AnnotationReader): string[] {
  const canonical = a.get("limit-allowlist");
  const alias = a.get("limit-whitelist");
  if (canonical !== undefined && alias !== undefined && canonical !== alias) {
    a.warn("limit-whitelist", `is ignored: limit-allowlist is also set, and ingress-nginx reads that one`);
  }
  const name = canonical !== undefined ? "limit-allowlist" : "limit-whitelist";
  const v = canonical ?? alias;
  if (v === undefined) return [];
  const cidrs = v.split(",").map((c) => c.trim()).filter((c) => c !== "");
  const bad = cidrs.filter((c) => !splitCidr(c));
  if (bad.length > 0) {
    a.error(name, `must be comma-separated CIDRs or addresses such as 10.0.0.0/8, 192.168.1.7; "${bad.join('", "')}" ${bad.length === 1 ? "is" : "are"} not (in "${v}")`);
    return [];
  }
  return cidrs;
}
