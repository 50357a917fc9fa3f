/**
 * The path a request is routed by: no query string, and — as nginx matches locations —
 * dot segments resolved and repeated slashes merged, so `/public/../admin` is routed as
 * `/admin`, never by the `/public` rule. (The upstream still gets the target as sent.)
 */
export function requestPath(url: string | undefined): string {
  const target = originForm(url);
  const q = target.indexOf("?");
  const path = q === -1 ? target : target.slice(0, q);
  // Fast path: nothing to normalize in the common case.
  if (!path.includes("/.") && !path.includes("//") && !/%2e/i.test(path)) return path;
  return normalizePath(path);
}

/** RFC 3986 remove_dot_segments, with `%2e` as a dot and empty segments merged. */
export function normalizePath(path: string): string {
  const out: string[] = [];
  const segments = path.replace(/%2e/gi, ".").split("/");
  const trailing = segments.length > 1 && (segments[segments.length - 1] === "" || segments[segments.length - 1] === "." || segments[segments.length - 1] === "..");
  for (const seg of segments) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  const joined = "/" + out.join("/");
  return trailing && joined !== "/" ? joined + "/" : joined;
}

/**
 * The origin-form (`/path?query`) of a request target: absolute-form
 * (`http://host/path?q`) loses its scheme and authority, `*` becomes `/`.
 */
export function originForm(url: string | undefined): string {
  if (!url) return "/";
  if (url.charCodeAt(0) === 47 /* / */) return url;
  const scheme = url.indexOf("://");
  if (scheme === -1) return "/";
  // The authority ends at the first `/`, `?` or `#`: a `/` inside the query is not the path.
  const rest = url.slice(scheme + 3);
  const end = rest.search(/[/?#]/);
  if (end === -1) return "/";
  const tail = rest.slice(end);
  if (tail.charCodeAt(0) === 47) return tail;
  return tail.startsWith("?") ? `/${tail}` : "/";
}
