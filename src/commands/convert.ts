import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { FileSource } from "../config/fileSource.js";
import { missingRulesPaths } from "../config/missingRulesPaths.js";
import { ConfigStore } from "../config/store.js";
import { formatIssue, type ConfigIssue } from "../model/issues.js";
import { compileConfig } from "../snapshot/compileConfig.js";
import { UsageError } from "../server/options.js";
import { convertToGateway } from "../translate/toGateway/convertIngresses.js";
import { formatLeftOut, type LeftOut } from "../translate/toGateway/leftOut.js";
import { displayPath } from "./loadRules.js";

export const CONVERT_USAGE = `Usage: ingressd convert --to gateway [--ingress-class NAME] FILE...

Prints the Gateway API equivalent of the Ingresses in FILEs (files or folders), as
ingress2gateway does for ingress-nginx: a GatewayClass "ingressd", per namespace a
Gateway named after the ingress class (HTTP listeners per host, HTTPS with the host's
TLS Secret), an HTTPRoute per Ingress and host; ingress-nginx annotations become
matches and filters where Gateway API can say them. What it cannot say is listed on
stderr and in a comment at the top of the output, each at its file:line.

Only Ingresses are converted: Services, Secrets and the rest are not printed (Services
are read to resolve named ports), and the TLS Secrets stay as they are.

  --to gateway          the target (the only one)
  --ingress-class NAME  convert Ingresses of this class (and those without)  [ingressd]

Exit status: 0 converted, 1 a file cannot be read or has errors (or holds no Ingress),
2 usage.
`;

export interface ConvertOptions {
  files: string[];
  ingressClass: string;
}

/** `ingressd convert` flags; positional arguments are the files. */
export function parseConvertOptions(argv: string[], env: Record<string, string | undefined>): ConvertOptions | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { to: { type: "string" }, "ingress-class": { type: "string" }, help: { type: "boolean", short: "h" } },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values as { to?: string; "ingress-class"?: string; help?: boolean };
  if (v.help) return "help";
  if (v.to === undefined) throw new UsageError("--to is required: --to gateway");
  if (v.to !== "gateway") throw new UsageError(`--to must be gateway, not "${v.to}"`);
  if (parsed.positionals.length === 0) throw new UsageError("no files: name the Ingress files (or folders) to convert");
  return { files: parsed.positionals, ingressClass: v["ingress-class"] ?? (env.INGRESSD_INGRESS_CLASS || "ingressd") };
}

export interface ConvertResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Loads the files as the server does (errors as `check` prints them), then converts their Ingresses. */
export async function convertCommand(options: ConvertOptions & { cwd: string }): Promise<ConvertResult> {
  const store = new ConfigStore();
  store.apply(await new FileSource({ paths: options.files }).readAll());
  const { resources, issues } = store.serve((set) => compileConfig(set, { ingressClass: options.ingressClass, bind: "0.0.0.0" }));
  const errors = [...missingRulesPaths(options.files), ...issues]
    .filter((i) => i.severity === "error")
    .map((i): ConfigIssue => ({ ...i, file: displayPath(i.file, options.cwd) }));
  if (errors.length > 0) {
    const plural = errors.length === 1 ? "" : "s";
    return { stdout: "", stderr: `${errors.map(formatIssue).join("\n")}\n${errors.length} error${plural}: nothing converted\n`, exitCode: 1 };
  }
  const conversion = convertToGateway(resources, options.ingressClass);
  const leftOut = conversion.leftOut.map((l): LeftOut => ({ ...l, file: displayPath(l.file, options.cwd) })).map(formatLeftOut);
  const listed = leftOut.length === 0 ? "" : `left out (${leftOut.length}):\n${leftOut.map((l) => `  ${l}\n`).join("")}`;
  if (conversion.converted === 0) {
    return { stdout: "", stderr: `${listed}no Ingress of class ${options.ingressClass} (or without a class) in ${options.files.join(", ")}: nothing converted\n`, exitCode: 1 };
  }
  const header = [
    `# ingressd convert --to gateway: ${conversion.converted} Ingress${conversion.converted === 1 ? "" : "es"} of class ${options.ingressClass}.`,
    ...(leftOut.length === 0 ? ["# Nothing left out."] : [`# Left out (${leftOut.length}):`, ...leftOut.map((l) => `#   ${l}`)]),
  ].join("\n");
  // YAML 1.1 quoting (`"yes"`, `"on"`): kubectl reads YAML 1.1, where those unquoted are booleans.
  const documents = conversion.documents.map((d) => stringify(d, { lineWidth: 0, aliasDuplicateObjects: false, version: "1.1" })).join("---\n");
  return { stdout: `${header}\n${documents}`, stderr: listed, exitCode: 0 };
}
