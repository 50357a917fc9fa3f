import { rewritesPath, type RewriteSettings } from "../../config/nginx/rewrite.js";
import type { RouteFilter, RouteMatch } from "./gatewayObjects.js";

type UrlRewrite = NonNullable<RouteFilter["urlRewrite"]>;

export interface ConvertedRewrite {
  /** The URLRewrite's path, when the rewrite has a Gateway API form. */
  path?: UrlRewrite["path"];
  /** The match the rewrite needs instead of the path's own (ReplacePrefixMatch needs a PathPrefix). */
  match?: RouteMatch;
  /** Why rewrite-target is left out, when it is. */
  leftOut?: string;
}

/** ingress-nginx's documented idiom `path: /foo(/|$)(.*)` with `rewrite-target: /bar/$2`: a prefix swap. */
const PREFIX_IDIOM_PATH = /^(\/[-._~a-zA-Z0-9/:]*?)\/?\(\/\|\$\)\(\.\*\)$/;
const PREFIX_IDIOM_TARGET = /^(\/[-._~a-zA-Z0-9/:]*)\$2$/;

/**
 * rewrite-target as a URLRewrite path. nginx's `rewrite "(?i)<path>" <target> break;`
 * replaces the whole URI when the path matches, so a target without captures is a
 * ReplaceFullPath; the `(/|$)(.*)` → `…$2` idiom replaces the prefix (ReplacePrefixMatch
 * on a PathPrefix). Other captures, or a query in the target, have no Gateway API form.
 */
export function rewriteOf(settings: RewriteSettings, path: string): ConvertedRewrite {
  if (!rewritesPath(settings, path)) return {};
  const target = settings.rewriteTarget!;
  if (target.includes("?")) return { leftOut: `"${target}" adds a query; URLRewrite cannot set one: left out` };
  if (!target.includes("$")) return { path: { type: "ReplaceFullPath", replaceFullPath: target } };
  const prefix = PREFIX_IDIOM_PATH.exec(path);
  const replacement = PREFIX_IDIOM_TARGET.exec(target);
  if (prefix && replacement && prefix[1] !== "") {
    // Gateway API joins the rest of the path on with one "/": "/bar/" and "/bar" are the same here.
    const replacePrefixMatch = replacement[1]!.length > 1 ? replacement[1]!.replace(/\/+$/, "") : "/";
    return { path: { type: "ReplacePrefixMatch", replacePrefixMatch }, match: { path: { type: "PathPrefix", value: prefix[1]! } } };
  }
  return { leftOut: `"${target}" uses capture groups of the path's regular expression; URLRewrite has no captures: left out (the path is still matched)` };
}
