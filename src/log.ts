import pino, { type Logger } from "pino";

export type LogFormat = "json" | "pretty";

/**
 * JSON to stdout by default. Writes are asynchronous, so access logging stays off
 * the request's critical path: lines written while a write is pending are batched
 * into the next one. No minimum batch size, so a quiet proxy's lines appear at once
 * (`kubectl logs`, `docker logs`). `flush` on shutdown.
 */
export function createLogger(level: string, format: LogFormat): Logger {
  if (format === "pretty") {
    return pino({ level, base: undefined, transport: { target: "pino-pretty", options: { colorize: process.stdout.isTTY, translateTime: "SYS:HH:MM:ss.l" } } });
  }
  // Epoch-millisecond `time` (pino's default): formatting an ISO date per access-log line costs more.
  return pino({ level, base: undefined }, pino.destination({ dest: 1, sync: false }));
}

/** One access-log line's fields (after `level`, `time`, `log`). */
export type AccessEntry = Record<string, string | number | undefined>;
export type AccessLog = (level: "info" | "warn", entry: AccessEntry) => void;

const LEVEL_VALUES = { info: 30, warn: 40 } as const;

/**
 * The per-request access log. It writes the same JSON line pino would
 * (`{"level":30,"time":…,"log":"access",…,"msg":"request"}`) into the logger's own
 * destination, but serializes with one native `JSON.stringify` instead of pino's
 * generic per-field path: measured here, that is most of the access log's cost per
 * request. Lines go through the same stream, so they never interleave with pino's
 * (and `--log-format pretty` formats them like any other line).
 */
export function createAccessLog(logger: Logger): AccessLog {
  const stream = (logger as unknown as Record<symbol, { write(line: string): void } | undefined>)[pino.symbols.streamSym];
  if (!stream) return (level, entry) => logger[level](entry, "request");
  return (level, entry) => {
    const value = LEVEL_VALUES[level];
    if (value < logger.levelVal) return;
    stream.write(`{"level":${value},"time":${Date.now()},"log":"access",${JSON.stringify(entry).slice(1, -1)},"msg":"request"}\n`);
  };
}
