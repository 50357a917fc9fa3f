import type { Loaded } from "../../config/resources.js";
import { isRegexPath } from "../../config/nginx/rewrite.js";
import { readNginxSettings } from "../../config/nginx/settings.js";

/**
 * The hosts (null: the rules without host) whose paths are all regular expressions.
 * ingress-nginx docs, "Use Regex": once use-regex or a rewrite-target is used on any
 * Ingress of a host, the `~*` modifier is enforced on ALL paths of that host, whatever
 * Ingress they are defined on — Exact and Prefix paths then match as expressions too.
 */
export function regexHosts(served: readonly Loaded<"Ingress">[]): Set<string | null> {
  const hosts = new Set<string | null>();
  for (const ing of served) {
    const { settings } = readNginxSettings(ing.object.metadata?.annotations);
    if (!settings.useRegex && settings.rewriteTarget === undefined) continue;
    for (const rule of ing.object.spec?.rules ?? []) {
      if ((rule.http?.paths ?? []).some((p) => isRegexPath(settings, p.path || "/"))) hosts.add(rule.host ?? null);
    }
  }
  return hosts;
}
