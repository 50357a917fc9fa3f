/**
 * A regex path (ingress-nginx's use-regex) as nginx's `location ~* "^<path>"` matches
 * it: from the path's start, any case, not anchored at the end.
 */
export function regexPath(path: string): RegExp {
  return new RegExp(`^(?:${path})`, "i");
}

/** A Gateway API RegularExpression path as Envoy Gateway matches it: the whole path, case-sensitive. */
export function fullRegexPath(path: string): RegExp {
  return new RegExp(`^(?:${path})$`);
}

/** Why `path` cannot be a regex path (the engine's message), or undefined when it can. */
export function regexPathProblem(path: string): string | undefined {
  try {
    // Alone first: `/a)|(.*` compiles once wrapped in `(?:…)`, yet is no expression by itself.
    new RegExp(path);
    regexPath(path);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
