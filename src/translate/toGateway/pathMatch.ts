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
 * ImplementationSpecific → PathPrefix (ingressd serves it as Prefix). On a host whose
 * paths are expressions (`regexHosts`: use-regex or rewrite-target on any Ingress of
 * the host), every path is nginx's `location ~* "^<path>"`, whatever its pathType:
 * anchored at the start only, so the RegularExpression (which matches the whole path)
 * gets a trailing `.*`; one with no regex character is the literal prefix it reads as.
 * (nginx also ignores case there: the Ingress says so once, see `caseInsensitiveNote`.)
 */
export function pathMatch(path: string, pathType: string, regexHost: boolean): ConvertedPath {
  if (regexHost) {
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
 * ingress-nginx matches the paths of a regex host as expressions ignoring case;
 * HTTPRoute path matches are case-sensitive. Said once per Ingress: on the annotation
 * that makes its paths expressions, or on its first rule of a host another Ingress made so.
 */
export function caseInsensitiveNote(
  settings: { useRegex: boolean; rewriteTarget?: string },
  hosts: readonly (string | null)[],
  regexHosts: ReadonlySet<string | null>,
): { annotation?: string; rule?: number; note: string } | undefined {
  const rule = hosts.findIndex((h) => regexHosts.has(h));
  if (rule < 0) return undefined;
  if (settings.useRegex || settings.rewriteTarget !== undefined) {
    return {
      annotation: settings.useRegex ? "use-regex" : "rewrite-target",
      note: "ingress-nginx matches the paths of this Ingress's hosts as expressions ignoring case; the HTTPRoute's path matches are case-sensitive",
    };
  }
  return {
    rule,
    note: "another Ingress of this host uses use-regex or rewrite-target, so ingress-nginx matches its paths as expressions from the start (Exact ones too) ignoring case: converted as such, but case-sensitive",
  };
}
