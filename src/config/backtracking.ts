import safeRegex from "safe-regex2";

/**
 * Whether a regular expression from the configuration may take exponential time on
 * some input (nested quantifiers such as `(a+)+`). ingressd runs paths and header
 * patterns in JavaScript's backtracking engine, which unlike nginx's PCRE has no
 * backtracking limit: such an expression lets one crafted request path stall the
 * proxy, so it is worth a warning at its line.
 */
export function mayBacktrackExponentially(source: string): boolean {
  return !safeRegex(source);
}

export const BACKTRACKING_WARNING =
  "has nested quantifiers (as in (a+)+): a crafted request can make matching take exponential time and stall the proxy; rewrite it without a repeated group that itself repeats";
