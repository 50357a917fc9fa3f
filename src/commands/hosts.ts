import type { ConfigChange } from "../config/source.js";
import type { CommandResult } from "./check.js";
import { loadRules, type RuleClasses } from "./loadRules.js";

/**
 * `ingressd hosts`: an /etc/hosts line for every host the rules serve, for the programs
 * whose resolver does not map `*.localhost` to loopback (Node, Python, getent without
 * nss-myhostname). Wildcard hosts cannot be listed there: they are named in a comment.
 */
export async function hostsCommand(rules: string[], options: RuleClasses & { format: "text" | "json"; inline?: ConfigChange[] }): Promise<CommandResult> {
  const loaded = await loadRules(rules, options, "0.0.0.0", options.inline);
  const names = new Set<string>();
  for (const r of loaded.compiled.routes.table.routes()) if (r.match.host !== null) names.add(r.match.host);
  const sorted = [...names].sort();
  const exact = sorted.filter((h) => !h.startsWith("*."));
  const wildcards = sorted.filter((h) => h.startsWith("*."));
  if (options.format === "json") return { output: JSON.stringify({ hosts: exact, wildcards }, null, 2) + "\n", exitCode: 0 };
  const lines = exact.map((h) => `127.0.0.1 ${h}`);
  for (const w of wildcards) lines.push(`# ${w}: /etc/hosts has no wildcards; add a line for each name you use (127.0.0.1 docs${w.slice(1)})`);
  if (lines.length === 0) lines.push("# no host is served by these rules");
  return { output: lines.join("\n") + "\n", exitCode: 0 };
}
