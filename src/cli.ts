#!/usr/bin/env node
import { startIngressd } from "./ingressd.js";
import { createLogger } from "./log.js";
import { parseOptions, USAGE, UsageError } from "./options.js";

/** The only place that reads argv and the environment. */
async function main(): Promise<void> {
  let options;
  try {
    options = parseOptions(process.argv.slice(2), process.env);
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
