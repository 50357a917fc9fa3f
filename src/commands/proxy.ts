import { inlineName, inlineRulesYaml, type InlineRoute, type InlineTarget } from "../config/inlineRules.js";
import type { ConfigChange } from "../config/source.js";
import { urlOf } from "../server/ingressd.js";

/** `--to` as the user would write it again. */
function targetText(t: InlineTarget): string {
  const host = t.host.includes(":") ? `[${t.host}]` : t.host;
  return t.scheme === "https" ? `https://${host}:${t.port}` : `${host}:${t.port}`;
}

/**
 * `ingressd proxy`'s routes as in-memory rules files, one per `--from`, each named after
 * its flags ("<ingressd proxy --from app.localhost>") so that errors, `/api/config`, the
 * dashboard and `routes` say where a route came from.
 */
export function proxyRules(routes: readonly InlineRoute[]): ConfigChange[] {
  const names = new Set<string>();
  const paths = new Set<string>();
  return routes.map((route) => {
    const base = inlineName(route);
    let name = base;
    for (let n = 2; names.has(name); n++) name = `${base.slice(0, 60)}-${n}`;
    names.add(name);
    const from = `ingressd proxy --from ${route.host}${route.path === "/" ? "" : route.path}`;
    // In angle brackets, as `<stdin>`: not a file, and `:line:col` after it is not read as a port.
    let path = `<${from}>`;
    for (let n = 2; paths.has(path); n++) path = `<${from} (${n})>`;
    paths.add(path);
    return { path, text: inlineRulesYaml(route, name, `${from} ${route.targets.map((t) => `--to ${targetText(t)}`).join(" ")}`) };
  });
}

/** `ingressd proxy --print`: the YAML of every route, ready for a rules folder. */
export function printProxyRules(routes: readonly InlineRoute[]): string {
  return proxyRules(routes).map((c) => c.text).join("---\n");
}

/** One line per route once serving: where to point the browser, and where it goes. */
export function proxyBanner(routes: readonly InlineRoute[], httpPort: number, httpsPort: number | undefined): string {
  return routes
    .map((r) => {
      const host = r.host.startsWith("*.") ? `x${r.host.slice(1)}` : r.host;
      const path = r.path === "/" ? "/" : r.path;
      const urls = [urlOf("http", host, httpPort) + path, ...(httpsPort !== undefined ? [urlOf("https", host, httpsPort) + path] : [])];
      return `${urls.join("  ")}  → ${r.targets.map(targetText).join(", ")}\n`;
    })
    .join("");
}
