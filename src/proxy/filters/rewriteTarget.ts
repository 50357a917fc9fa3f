import { regexPath } from "../../model/regexPath.js";

/** A compiled rewrite: the request target to send upstream for a routing path and the request's own target. */
export type Rewrite = (path: string, requestTarget: string) => string;

/**
 * nginx's `rewrite "(?i)<pattern>" <target> break;` as ingress-nginx renders
 * rewrite-target: where `pattern` matches the path, the whole path becomes `target`
 * with `$1`…`$9` replaced by the captures (an unmatched one by nothing). The request's
 * query follows (`?args`, or `&args` when the target has its own query; a target
 * ending in `?` drops it, as in nginx). The target is split once, here, not per request.
 */
export function compileRewrite(pattern: string, target: string): Rewrite {
  const re = regexPath(pattern);
  const parts = target.split(/\$([1-9])/).map((s, i) => (i % 2 === 1 ? Number(s) : s));
  const ownQuery = target.includes("?");
  const dropQuery = target.endsWith("?");
  return (path, requestTarget) => {
    const m = re.exec(path);
    if (m === null) return requestTarget;
    let out = "";
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      out += typeof p === "number" ? (m[p] ?? "") : p;
    }
    if (out.charCodeAt(0) !== 47 /* / */) out = "/" + out;
    if (dropQuery) return out.slice(0, -1);
    const q = requestTarget.indexOf("?");
    if (q === -1 || q === requestTarget.length - 1) return out;
    return out + (ownQuery ? "&" : "?") + requestTarget.slice(q + 1);
  };
}
