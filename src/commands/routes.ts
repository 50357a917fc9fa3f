import type { ConfigChange } from "../config/source.js";
import { explainRequest } from "../routing/explain.js";
import { describeBackends, describeBalance, describeConditions, describeDestination, describeFilter, describeSplit } from "../model/describeRoute.js";
import type { Route } from "../model/route.js";
import type { CommandResult } from "./check.js";
import { displayPath, loadRules, type RuleClasses } from "./loadRules.js";

interface RouteRow {
  host: string;
  path: string;
  pathType: string;
  /** Canary conditions (header, cookie), when the route has some. */
  conditions?: string;
  backend: string;
  endpoints: string[];
  /** What the route does to a request, in order. */
  filters: string[];
  /** How endpoints are picked when the route says (cookie affinity, upstream-hash-by). */
  balance?: string;
  source: string;
}

/**
 * `ingressd routes`: the compiled table, one row per route (host, path, pathType,
 * Service:port, endpoints, where it is written); `--explain URL` tells which rule a
 * URL meets and why the others lost.
 */
export async function routesCommand(
  rules: string[],
  options: RuleClasses & { format: "text" | "json"; cwd: string; explain?: string; inline?: ConfigChange[] },
): Promise<CommandResult> {
  const loaded = await loadRules(rules, options, "0.0.0.0", options.inline);
  const { table } = loaded.compiled.routes;
  const backends = loaded.compiled.backends;
  const row = (r: Route, host: string, path: string): RouteRow => {
    const conditions = describeConditions(r);
    return {
      host,
      path,
      pathType: r.match.pathType,
      ...(conditions ? { conditions } : {}),
      backend: describeDestination(r),
      endpoints: r.backends.flatMap((b) => backends.get(b.backend.key)?.endpoints.map((e) => `${e.host}:${e.port}`) ?? []),
      filters: r.filters.map(describeFilter),
      ...(r.balance ? { balance: describeBalance(r.balance) } : {}),
      source: `${displayPath(r.origin.source.file, options.cwd)}:${r.origin.source.line}`,
    };
  };

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
        match: explanation.winner ? row(explanation.winner, explanation.winner.match.host ?? "*", explanation.winner.match.path) : null,
        reason: explanation.winnerReason,
        candidates: explanation.candidates.map((c) => ({ ...row(c.route, c.route.match.host ?? "*", c.route.match.path), group: c.group, matched: c.matched, reason: c.reason })),
      };
      return { output: JSON.stringify(json, null, 2) + "\n", exitCode: explanation.winner ? 0 : 1 };
    }
    const lines = [`${explanation.host} ${explanation.path}`];
    const describe = (r: Route): string => {
      const when = describeConditions(r);
      return `${r.match.host ?? "*"} ${r.match.path} (${r.match.pathType})${when ? ` when ${when}` : ""} → ${describeDestination(r)}  [${r.origin.kind} ${r.origin.name}, ${displayPath(r.origin.source.file, options.cwd)}:${r.origin.source.line}]`;
    };
    if (explanation.winner) {
      lines.push(`  match: ${describe(explanation.winner)}`, `         ${explanation.winnerReason}`);
      for (const f of explanation.winner.filters) lines.push(`  filter: ${describeFilter(f)}`);
      if (explanation.winner.balance) lines.push(`  balance: ${describeBalance(explanation.winner.balance)}`);
      const { backends } = explanation.winner;
      const split = backends.length > 1 ? `by weight — ${describeSplit(backends)}` : describeDestination(explanation.winner);
      if (explanation.canaryRules.length > 0) {
        // The canary decision, in the order it is taken (ingress-nginx: header, cookie, weight).
        const origin = explanation.canaryRules[0]!.origin;
        lines.push(`  canary: the first rule that holds decides  [${origin.kind} ${origin.name}, ${displayPath(origin.source.file, options.cwd)}:${origin.source.line}]`);
        for (const r of explanation.canaryRules) lines.push(`    when ${describeConditions(r)} → ${describeBackends(r.backends)}`);
        lines.push(`    otherwise → ${split}`);
      } else if (backends.length > 1) {
        lines.push(`  backend: ${split}`);
      }
    }
    else lines.push(`  no match: ${explanation.winnerReason} → 404`);
    for (const c of explanation.candidates) {
      if (c.route === explanation.winner || explanation.canaryRules.includes(c.route)) continue;
      lines.push(`  lost:  ${describe(c.route)}`, `         ${c.reason}`);
    }
    return { output: lines.join("\n") + "\n", exitCode: explanation.winner ? 0 : 1 };
  }

  const rows = table
    .routes()
    .map((r) => row(r, r.match.host ?? "*", r.match.path))
    .sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : a.pathType < b.pathType ? -1 : a.pathType > b.pathType ? 1 : 0));
  if (table.defaultBackend) rows.push(row(table.defaultBackend, "*", "(default backend)"));
  if (options.format === "json") return { output: JSON.stringify(rows, null, 2) + "\n", exitCode: 0 };
  const header = ["HOST", "PATH", "TYPE", "BACKEND", "ENDPOINTS", "SOURCE"];
  // A canary's rules share their main route's path: the condition tells them apart (stable sort: in the order tried).
  const cells = rows.map((r) => [r.host, r.conditions ? `${r.path} when ${r.conditions}` : r.path, r.pathType, r.backend, r.endpoints.join(",") || "-", r.source]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const format = (c: string[]): string => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!))).join("  ");
  return { output: [format(header), ...cells.map(format)].join("\n") + "\n", exitCode: 0 };
}
