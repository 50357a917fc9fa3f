import { isRegexPath } from "../../config/nginx/rewrite.js";
import type { RewriteSettings } from "../../config/nginx/rewrite.js";
import type { RouteMatch } from "./gatewayObjects.js";

/** Characters that make a path an expression rather than a literal prefix. */
const REGEX_CHARS = /[\\^$.|?*+()[\]{}]/;

export interface ConvertedPath {
  match: RouteMatch;
  /** Why the match is not exactly what ingress-nginx (and ingressd) do, when it is not. */
  note?: string;
}

/**
 * An Ingress path as an HTTPRoute path match: Prefix → PathPrefix, Exact → Exact,
 * ImplementationSpecific → PathPrefix (ingressd serves it as Prefix). A regex path
 * (use-regex, or a rewrite) is nginx's `location ~* "^<path>"`: anchored at the start
 * only, so the RegularExpression (which matches the whole path) gets a trailing `.*`.
 * A regex path with no regex character in it is the literal prefix it reads as.
 * (nginx also ignores case there: the Ingress says so once, see `caseInsensitiveNote`.)
 */
export function pathMatch(path: string, pathType: string, settings: RewriteSettings): ConvertedPath {
  if (isRegexPath(settings, path)) {
    if (!REGEX_CHARS.test(path)) return { match: { path: { type: "PathPrefix", value: path } } };
    return { match: { path: { type: "RegularExpression", value: `${path}.*` } } };
  }
  if (pathType === "Exact") return { match: { path: { type: "Exact", value: path } } };
  if (pathType === "ImplementationSpecific") {
    return { match: { path: { type: "PathPrefix", value: path } }, note: "ImplementationSpecific is served by ingressd as Prefix: converted to PathPrefix" };
  }
  return { match: { path: { type: "PathPrefix", value: path } } };
}

/**
 * ingress-nginx matches every path of an Ingress with use-regex (or a rewrite) ignoring
 * case; HTTPRoute matches are case-sensitive. Said once per Ingress, on the annotation
 * that makes its paths expressions.
 */
export function caseInsensitiveNote(settings: RewriteSettings, paths: readonly string[]): { annotation: string; note: string } | undefined {
  if (!paths.some((p) => isRegexPath(settings, p))) return undefined;
  return {
    annotation: settings.useRegex ? "use-regex" : "rewrite-target",
    note: "ingress-nginx matches this Ingress's paths as expressions ignoring case; the HTTPRoute's path matches are case-sensitive",
  };
}
