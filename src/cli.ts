#!/usr/bin/env node
import { startIngressd } from "./server/ingressd.js";
import { createLogger } from "./telemetry/log.js";
import { checkCommand } from "./commands/check.js";
import { routesCommand } from "./commands/routes.js";
import { parseOptions, parseToolOptions, TOOL_USAGE, USAGE, UsageError } from "./server/options.js";
import { LocalCa, trustInstructions } from "./tls/localCa.js";

/** The only place that reads argv and the environment. */
async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === "ca") {
    await caCommand(argv.slice(1));
    return;
  }
  if (argv[0] === "check" || argv[0] === "routes") {
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
  const logger = createLogger(options.logLevel, options.logFormat);
  const server = await startIngressd({ ...options, logger });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down: finishing in-flight requests");
    server.close().then(
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

main().catch((err: unknown) => {
  process.stderr.write(`ingressd: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

/** `ingressd ca path [--data-dir DIR]`: the local CA's certificate (created if needed) and how to trust it. */
async function caCommand(argv: string[]): Promise<void> {
  if (argv[0] !== "path") {
    process.stderr.write(`ingressd: unknown command "ca ${argv[0] ?? ""}"\n\nUsage: ingressd ca path [--data-dir DIR]\n`);
    process.exit(2);
  }
  let options;
  try {
    options = parseOptions(argv.slice(1), process.env);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`ingressd: ${err.message}\n\nUsage: ingressd ca path [--data-dir DIR]\n`);
      process.exit(2);
    }
    throw err;
  }
  if (options === "help") {
    process.stdout.write("Usage: ingressd ca path [--data-dir DIR]\n\nPrints the local development CA's certificate path (creating the CA if needed) and how to trust it.\n");
    return;
  }
  const ca = await LocalCa.open(options.dataDir);
  process.stdout.write(trustInstructions(ca.certPath));
}

/** `ingressd check` and `ingressd routes`: load, validate, print, exit with the verdict. */
async function toolCommand(command: "check" | "routes", argv: string[]): Promise<void> {
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
  const common = { ingressClass: options.ingressClass, format: options.format, cwd: process.cwd() };
  const result =
    command === "check"
      ? await checkCommand(options.rules, common)
      : await routesCommand(options.rules, { ...common, ...(options.explain !== undefined ? { explain: options.explain } : {}) });
  (result.exitCode === 2 ? process.stderr : process.stdout).write(result.output);
  process.exitCode = result.exitCode;
}
