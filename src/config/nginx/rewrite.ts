import type { AnnotationReader } from "./annotationReader.js";

/** What use-regex, rewrite-target, app-root, x-forwarded-prefix, upstream-vhost ask for. */
export interface RewriteSettings {
  /** use-regex: the Ingress's paths are regular expressions (`~*` locations). */
  useRegex: boolean;
  /** rewrite-target: the path sent upstream, with `$1`…`$9` from the path's expression. */
  rewriteTarget?: string;
  /** app-root: where a request for `/` is redirected (302). */
  appRoot?: string;
  /** x-forwarded-prefix: sent as X-Forwarded-Prefix along with a rewrite. */
  xForwardedPrefix?: string;
  /** upstream-vhost: the Host header sent upstream. */
  upstreamVhost?: string;
}

/**
 * ingress-nginx's `RegexPathWithCapture` (letters, digits, `-._~/:$`), plus a query
 * (`?&=`): nginx appends the request's own query after one, which ingressd does too.
 */
const REWRITE_TARGET = /^[/$][-._~a-zA-Z0-9/:$?&=]*$/;
/** A path without captures or query, as app-root and x-forwarded-prefix take. */
const PLAIN_PATH = /^\/[-._~a-zA-Z0-9/:]*$/;
/** A host name or address with an optional port: what a Host header may hold. */
const HOST_HEADER = /^(?:[a-zA-Z0-9](?:[-a-zA-Z0-9.]*[a-zA-Z0-9])?|\[[0-9a-fA-F:.]+\])(?::\d{1,5})?$/;

/** ingress-nginx docs, "Use Regex", "Rewrite", "X-Forwarded-Prefix Header", "Custom NGINX upstream vhost". */
export function readRewrite(a: AnnotationReader): RewriteSettings {
  // An empty value is no value, as ingress-nginx reads it (a missing annotation).
  const settings: RewriteSettings = { useRegex: a.bool("use-regex", false) };
  const target = a.get("rewrite-target") || undefined;
  if (target !== undefined) {
    if (!REWRITE_TARGET.test(target)) {
      a.error("rewrite-target", `must be a path starting with "/" (or "$1"…"$9"), of letters, digits and -._~/:$?&=, not "${target}"`);
    } else if (/\$(?![1-9])/.test(target)) {
      a.error("rewrite-target", `may use only the captures $1…$9 of the path's regular expression, not "${target}" (nginx variables are not supported)`);
    } else settings.rewriteTarget = target;
  }
  const appRoot = a.get("app-root") || undefined;
  if (appRoot !== undefined) {
    if (PLAIN_PATH.test(appRoot)) settings.appRoot = appRoot;
    else a.error("app-root", `must be a path starting with "/" (letters, digits and -._~/:), not "${appRoot}"`);
  }
  const prefix = a.get("x-forwarded-prefix") || undefined;
  if (prefix !== undefined) {
    if (!PLAIN_PATH.test(prefix)) a.error("x-forwarded-prefix", `must be a path starting with "/" (letters, digits and -._~/:), not "${prefix}"`);
    else if (settings.rewriteTarget === undefined) a.warn("x-forwarded-prefix", "has no effect without rewrite-target (ingress-nginx sends the header only along with a rewrite)");
    else settings.xForwardedPrefix = prefix;
  }
  const vhost = a.get("upstream-vhost") || undefined;
  if (vhost !== undefined) {
    if (HOST_HEADER.test(vhost)) settings.upstreamVhost = vhost;
    else a.error("upstream-vhost", `must be a host name with an optional port, as a Host header holds, not "${vhost}"`);
  }
  return settings;
}

/** Whether the Ingress rewrites requests of `path`: ingress-nginx skips a rewrite-target equal to the path. */
export function rewritesPath(settings: RewriteSettings, path: string): boolean {
  return settings.rewriteTarget !== undefined && settings.rewriteTarget !== path;
}

/** Whether `path` of the Ingress is a regular expression by its own annotations (use-regex, or a rewrite). */
export function isRegexPath(settings: RewriteSettings, path: string): boolean {
  return settings.useRegex || rewritesPath(settings, path);
}
