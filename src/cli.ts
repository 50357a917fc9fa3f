#!/usr/bin/env node
import cluster from "node:cluster";
import { readFileSync } from "node:fs";
import type { Logger } from "pino";
import { startIngressd, type Ingressd } from "./server/ingressd.js";
import { startPrimary, WorkerStartError } from "./server/workers.js";
import { runWorker } from "./server/worker.js";
import { printProxyRules, proxyBanner, proxyRules } from "./commands/proxy.js";
import { runCommand, RunError } from "./commands/run.js";
import type { ConfigChange } from "./config/source.js";
import { createLogger } from "./telemetry/log.js";
import { checkCommand } from "./commands/check.js";
import { hostsCommand } from "./commands/hosts.js";
import { routesCommand } from "./commands/routes.js";
import { CONVERT_USAGE, convertCommand, parseConvertOptions } from "./commands/convert.js";
import {
  parseOptions,
  parseProxyOptions,
  parseRunOptions,
  parseToolOptions,
  PROXY_USAGE,
  RUN_USAGE,
  TOOL_USAGE,
  USAGE,
  UsageError,
  type CliOptions,
} from "./server/options.js";
import { LocalCa, trustInstructions } from "./tls/localCa.js";
import { trustCa, untrustCa } from "./tls/trustStore.js";
import { ListenError } from "./server/listenError.js";
import { KubeconfigError } from "./server/kubeconfigError.js";
import { growHeapSteadily } from "./server/heapGrowth.js";

/** The only place that reads argv and the environment. */
async function main(): Promise<void> {
  growHeapSteadily();
  const argv = process.argv.slice(2);
  if (argv[0] === "ca") {
    await caCommand(argv.slice(1));
    return;
  }
  if (argv[0] === "proxy") {
    await proxyCommand(argv.slice(1));
    return;
  }
  if (argv[0] === "run") {
    await runSubcommand(argv.slice(1));
    return;
  }
  if (argv[0] === "convert") {
    await convertSubcommand(argv.slice(1));
    return;
  }
  if (argv[0] === "check" || argv[0] === "routes" || argv[0] === "hosts") {
    await toolCommand(argv[0], argv.slice(1));
    return;
  }
  let options;
  try {
    options = parseOptions(argv, process.env);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`ingressd: ${err.message}\n\n${USAGE}`);
      process.exit(2);
    }
    throw err;
  }
  if (options === "help") {
    process.stdout.write(USAGE);
    return;
  }
  if (options === "version") {
    process.stdout.write(versionLine());
    return;
  }
  if ((options.workers ?? 1) > 1) await serveWorkers(options);
  else await serve(options);
}

/**
 * `--workers N`: this process is the primary (it forks the workers, with the same
 * arguments) or one of its workers. The primary drains every worker on SIGTERM/SIGINT.
 */
async function serveWorkers(options: CliOptions): Promise<void> {
  const logger = createLogger(options.logLevel, options.logFormat);
  if (cluster.isWorker) {
    await runWorker({ ...options, logger: logger.child({ worker: cluster.worker!.id }) });
    return;
  }
  const primary = await startPrimary({ ...options, workers: options.workers!, logger });
  stopOnSignals(logger, () => primary.close());
}

/** Runs the server until SIGTERM or SIGINT, then drains it; `inline` rules are served beside the files. */
async function serve(options: CliOptions, inline?: ConfigChange[]): Promise<Ingressd> {
  const logger = createLogger(options.logLevel, options.logFormat);
  const server = await startIngressd({ ...options, logger, ...(inline ? { inline } : {}) });
  stopOnSignals(logger, () => server.close());
  return server;
}

/** On SIGTERM or SIGINT: `close`, then exit 0 (1 if closing failed). */
function stopOnSignals(logger: Logger, close: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down: finishing in-flight requests");
    close().then(
      () => {
        logger.info("stopped");
        logger.flush();
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        logger.flush();
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

/** Parses a subcommand's flags; a usage error is printed with the subcommand's usage and exits 2. */
function parseOrExit<T>(parse: () => T, usage: string, prefix = "ingressd"): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${prefix}: ${err.message}\n\n${usage}`);
      process.exit(2);
    }
    throw err;
  }
}

/** `ingressd proxy --from HOST --to ADDRESS...`: serve without YAML, or `--print` the YAML. */
async function proxyCommand(argv: string[]): Promise<void> {
  const options = parseOrExit(() => parseProxyOptions(argv, process.env), PROXY_USAGE, "ingressd proxy");
  if (options === "help") return void process.stdout.write(PROXY_USAGE);
  if (options === "version") return void process.stdout.write(versionLine());
  if (options.print) return void process.stdout.write(printProxyRules(options.routes));
  if ((options.workers ?? 1) > 1) singleProcessOnly("ingressd proxy", PROXY_USAGE);
  const server = await serve(options, proxyRules(options.routes));
  const httpsPort = await Promise.race([server.httpsReady(), new Promise<undefined>((res) => setTimeout(() => res(undefined), 5_000).unref())]);
  process.stdout.write(proxyBanner(options.routes, server.httpPort, httpsPort));
}

/** `ingressd convert --to gateway FILE...`: the Gateway API objects on stdout, what is left out on stderr. */
async function convertSubcommand(argv: string[]): Promise<void> {
  const options = parseOrExit(() => parseConvertOptions(argv, process.env), CONVERT_USAGE, "ingressd convert");
  if (options === "help") return void process.stdout.write(CONVERT_USAGE);
  const result = await convertCommand({ ...options, cwd: process.cwd() });
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exitCode = result.exitCode;
}

/** `ingressd run NAME -- COMMAND...`: exits with the command's status. */
async function runSubcommand(argv: string[]): Promise<void> {
  const options = parseOrExit(() => parseRunOptions(argv, process.env), RUN_USAGE, "ingressd run");
  if (options === "help") return void process.stdout.write(RUN_USAGE);
  if (options === "version") return void process.stdout.write(versionLine());
  if ((options.workers ?? 1) > 1) singleProcessOnly("ingressd run", RUN_USAGE);
  const logger = createLogger(options.logLevel, options.logFormat);
  try {
    const status = await runCommand(options, logger, (line) => process.stderr.write(line));
    logger.flush();
    process.exit(status);
  } catch (err) {
    if (!(err instanceof RunError)) throw err;
    process.stderr.write(`ingressd run: ${err.message}\n`);
    process.exit(1);
  }
}

/** `ingressd proxy` and `ingressd run` serve from one process: a usage error (exit 2) rather than a flag ignored. */
function singleProcessOnly(command: string, usage: string): never {
  process.stderr.write(`${command}: --workers is for ingressd serving a rules folder; ${command} serves from one process\n\n${usage}`);
  process.exit(2);
}

/** `ingressd <version>`, read from the package.json next to dist/ (or src/), so it is the one published. */
function versionLine(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  return `ingressd ${pkg.version}\n`;
}

/** `ingressd ca <command>`: one line per command; a new one is a line here and an entry in CA_COMMANDS. */
const CA_USAGE = `Usage: ingressd ca <command> [--data-dir DIR]

The local development CA issues certificates for TLS hosts without a Secret.
  ingressd ca path      print its certificate's path (creating the CA if needed) and how to trust it
  ingressd ca trust     install it in this machine's trust stores (system, and browsers' NSS databases)
  ingressd ca untrust   remove it from them again
`;

const CA_COMMANDS: Record<string, (options: CliOptions) => Promise<void>> = {
  path: async (options) => {
    const ca = await LocalCa.open(options.dataDir);
    process.stdout.write(trustInstructions(ca.certPath));
  },
  trust: (options) => changeTrust(options, trustCa),
  untrust: (options) => changeTrust(options, untrustCa),
};

/** Runs `trustCa`/`untrustCa` and says what each store got; exit 1 when no store could be changed. */
async function changeTrust(options: CliOptions, change: typeof trustCa): Promise<void> {
  const ca = await LocalCa.open(options.dataDir);
  const changes = await change(ca.certPath);
  for (const c of changes) process.stdout.write(`${c.done ? "changed" : "not changed"}: ${c.store}: ${c.detail}\n`);
  if (!changes.some((c) => c.done)) process.exitCode = 1;
}

/** `ingressd ca <command> [--data-dir DIR]`; bare `ingressd ca` (or --help) prints the commands. */
async function caCommand(argv: string[]): Promise<void> {
  const name = argv[0];
  if (name === undefined || name === "--help" || name === "-h") {
    process.stdout.write(CA_USAGE);
    return;
  }
  const command = Object.hasOwn(CA_COMMANDS, name) ? CA_COMMANDS[name] : undefined;
  if (!command) {
    process.stderr.write(`ingressd: unknown command "ca ${name}"\n\n${CA_USAGE}`);
    process.exit(2);
  }
  let options;
  try {
    options = parseOptions(argv.slice(1), process.env);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`ingressd: ${err.message}\n\n${CA_USAGE}`);
      process.exit(2);
    }
    throw err;
  }
  if (options === "help") {
    process.stdout.write(CA_USAGE);
    return;
  }
  if (options === "version") {
    process.stdout.write(versionLine());
    return;
  }
  await command(options);
}

/** `ingressd check` and `ingressd routes`: load, validate, print, exit with the verdict. */
async function toolCommand(command: "check" | "routes" | "hosts", argv: string[]): Promise<void> {
  let options;
  try {
    options = parseToolOptions(command, argv, process.env);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`ingressd ${command}: ${err.message}\n\n${TOOL_USAGE}`);
      process.exit(2);
    }
    throw err;
  }
  if (options === "help") {
    process.stdout.write(TOOL_USAGE);
    return;
  }
  if (options === "version") {
    process.stdout.write(versionLine());
    return;
  }
  const common = { ingressClass: options.ingressClass, gatewayClass: options.gatewayClass, format: options.format, cwd: process.cwd(), inline: proxyRules(options.routes) };
  const result =
    command === "check"
      ? await checkCommand(options.rules, common)
      : command === "hosts"
        ? await hostsCommand(options.rules, common)
        : await routesCommand(options.rules, { ...common, ...(options.explain !== undefined ? { explain: options.explain } : {}) });
  (result.exitCode === 2 ? process.stderr : process.stdout).write(result.output);
  process.exitCode = result.exitCode;
}

// Last, so every constant above is initialised before main runs.
main().catch((err: unknown) => {
  if (err instanceof ListenError || err instanceof WorkerStartError || err instanceof KubeconfigError) {
    process.stderr.write(`ingressd: ${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`ingressd: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
