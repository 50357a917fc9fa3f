import type { PathReplacement } from "../../model/route.js";

/**
 * The path a Gateway API filter (RequestRedirect, URLRewrite) makes of `path`: the whole
 * path replaced, or the route's matched prefix replaced on whole path elements, keeping
 * what follows it (case-sensitive, as PathPrefix matches): prefix `/foo` by `/bar` makes
 * `/foo/x` → `/bar/x` and `/foo` → `/bar`; by `/`, `/foo/x` → `/x` and `/foo` → `/`.
 * A path the prefix does not start (the route matched otherwise) is kept as it is.
 */
export function compilePathReplacement(r: PathReplacement): (path: string) => string {
  if (r.kind === "full") {
    const full = r.path;
    return () => full;
  }
  // Trailing slashes dropped on both sides: `/foo/` matches `/foo/x` as `/foo` does, and `/bar/` + `/x` is `/bar/x`.
  const prefix = withoutTrailingSlash(r.prefix);
  const replacement = withoutTrailingSlash(r.replacement);
  return (path) => {
    if (!path.startsWith(prefix)) return path;
    const rest = path.slice(prefix.length);
    if (rest !== "" && rest.charCodeAt(0) !== 47 /* "/" */) return path; // `/foobar` is not under `/foo`
    const out = replacement + rest;
    return out === "" ? "/" : out;
  };
}

function withoutTrailingSlash(p: string): string {
  let end = p.length;
  while (end > 0 && p.charCodeAt(end - 1) === 47) end--;
  return p.slice(0, end);
}

/** `?a=1` of an origin-form target, or "" without a query. */
export function queryOf(target: string): string {
  const q = target.indexOf("?");
  return q === -1 ? "" : target.slice(q);
}
