import type { ConfigChange } from "../config/source.js";
import { formatIssue, type ConfigIssue } from "../model/issues.js";
import { describeGatewayApiStatus } from "../translate/gateway/describeStatus.js";
import { displayPath, loadRules, type RuleClasses } from "./loadRules.js";

export interface CommandResult {
  output: string;
  exitCode: number;
}

/**
 * `ingressd check`: validates a rules folder as the server would (like `nginx -t`),
 * every problem as `file:line:col: severity: message (field)`, then a summary.
 * Exit 0 when there is no error (warnings allowed), 1 with errors.
 */
export async function checkCommand(rules: string[], options: RuleClasses & { format: "text" | "json"; cwd: string; inline?: ConfigChange[] }): Promise<CommandResult> {
  const loaded = await loadRules(rules, options, "0.0.0.0", options.inline);
  const issues = loaded.issues
    .map((i): ConfigIssue => ({ ...i, file: displayPath(i.file, options.cwd) }))
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.col - b.col));
  const errors = issues.filter((i) => i.severity === "error");
  const warnings = issues.filter((i) => i.severity === "warning");
  const exitCode = errors.length > 0 ? 1 : 0;
  const summary = {
    files: loaded.files.length,
    resources: loaded.resourceCount,
    errors: errors.length,
    warnings: warnings.length,
  };
  if (options.format === "json") {
    const files = loaded.files.map((f) => ({ ...f, path: displayPath(f.path, options.cwd) }));
    const gatewayApi = loaded.compiled.routes.gateway;
    const hasGatewayApi = gatewayApi.gateways.length + gatewayApi.httpRoutes.length + gatewayApi.gatewayClasses.length > 0;
    return { output: JSON.stringify({ ok: exitCode === 0, summary, files, errors, warnings, ...(hasGatewayApi ? { gatewayApi } : {}) }, null, 2) + "\n", exitCode };
  }
  const lines = issues.map(formatIssue);
  // What a Gateway API user reads first: the status conditions a cluster would show.
  const status = describeGatewayApiStatus(loaded.compiled.routes.gateway);
  if (status.length > 0) lines.push(...(lines.length > 0 ? [""] : []), ...status, "");
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;
  lines.push(
    `${plural(summary.files, "file")}, ${plural(summary.resources, "resource")}: ${plural(summary.errors, "error")}, ${plural(summary.warnings, "warning")}` +
      (exitCode === 0 ? " — ok" : ""),
  );
  return { output: lines.join("\n") + "\n", exitCode };
}
