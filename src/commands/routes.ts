import { explainRequest } from "../routing/explain.js";
import type { Route } from "../routing/route.js";
import type { CommandResult } from "./check.js";
import { displayPath, loadRules } from "./loadRules.js";

interface RouteRow {
  host: string;
  path: string;
  pathType: string;
  backend: string;
  endpoints: string[];
  source: string;
}

/**
 * `ingressd routes`: the compiled table, one row per route (host, path, pathType,
 * Service:port, endpoints, where it is written); `--explain URL` tells which rule a
 * URL meets and why the others lost.
 */
export async function routesCommand(
  rules: string[],
  options: { ingressClass: string; format: "text" | "json"; cwd: string; explain?: string },
): Promise<CommandResult> {
  const loaded = await loadRules(rules, options.ingressClass);
  const { table } = loaded.compiled.routes;
  const backends = loaded.compiled.backends;
  const row = (r: Route, host: string, path: string): RouteRow => ({
    host,
    path,
    pathType: r.pathType,
    backend: `${r.backend.namespace}/${r.backend.service}:${r.backend.port}`,
    endpoints: backends.get(r.backend.key)?.endpoints.map((e) => `${e.host}:${e.port}`) ?? [],
    source: `${displayPath(r.source.file, options.cwd)}:${r.source.line}`,
  });

  if (options.explain !== undefined) {
    let explanation;
    try {
      explanation = explainRequest(table, options.explain);
    } catch {
      return { output: `ingressd: --explain needs a URL such as http://api.localhost/v1/users, not "${options.explain}"\n`, exitCode: 2 };
    }
    if (options.format === "json") {
      const json = {
        host: explanation.host,
        path: explanation.path,
        match: explanation.winner ? row(explanation.winner, explanation.winner.host ?? "*", explanation.winner.path) : null,
        reason: explanation.winnerReason,
        candidates: explanation.candidates.map((c) => ({ ...row(c.route, c.route.host ?? "*", c.route.path), group: c.group, matched: c.matched, reason: c.reason })),
      };
      return { output: JSON.stringify(json, null, 2) + "\n", exitCode: explanation.winner ? 0 : 1 };
    }
    const lines = [`${explanation.host} ${explanation.path}`];
    const describe = (r: Route): string => `${r.host ?? "*"} ${r.path} (${r.pathType}) → ${r.backend.namespace}/${r.backend.service}:${r.backend.port}  [Ingress ${r.ingress}, ${displayPath(r.source.file, options.cwd)}:${r.source.line}]`;
    if (explanation.winner) lines.push(`  match: ${describe(explanation.winner)}`, `         ${explanation.winnerReason}`);
    else lines.push(`  no match: ${explanation.winnerReason} → 404`);
    for (const c of explanation.candidates) {
      if (c.route === explanation.winner) continue;
      lines.push(`  lost:  ${describe(c.route)}`, `         ${c.reason}`);
    }
    return { output: lines.join("\n") + "\n", exitCode: explanation.winner ? 0 : 1 };
  }

  const rows = table
    .routes()
    .map((r) => row(r, r.host ?? "*", r.path))
    .sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : a.pathType < b.pathType ? -1 : 1));
  if (table.defaultBackend) rows.push(row(table.defaultBackend, "*", "(default backend)"));
  if (options.format === "json") return { output: JSON.stringify(rows, null, 2) + "\n", exitCode: 0 };
  const header = ["HOST", "PATH", "TYPE", "BACKEND", "ENDPOINTS", "SOURCE"];
  const cells = rows.map((r) => [r.host, r.path, r.pathType, r.backend, r.endpoints.join(",") || "-", r.source]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const format = (c: string[]): string => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!))).join("  ");
  return { output: [format(header), ...cells.map(format)].join("\n") + "\n", exitCode: 0 };
}
