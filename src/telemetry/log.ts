import pino, { type Logger } from "pino";
import type { AccessLog, AccessRecord } from "../model/observers.js";
import { accessLineMaxBytes, encodeAccessLine } from "./accessLine.js";
import { LogSink } from "./logSink.js";

export type LogFormat = "json" | "pretty";

/**
 * JSON to stdout by default, through a `LogSink` (batched writes; see there), or
 * pretty-printed by pino-pretty for a person at a terminal.
 */
export function createLogger(level: string, format: LogFormat): Logger {
  if (format === "pretty") {
    return pino({ level, base: undefined, transport: { target: "pino-pretty", options: { colorize: process.stdout.isTTY, translateTime: "SYS:HH:MM:ss.l" } } });
  }
  // Epoch-millisecond `time` (pino's default): formatting an ISO date per access-log line costs more.
  return pino({ level, base: undefined }, new LogSink(1));
}


const LEVEL_VALUES = { info: 30, warn: 40 } as const;

/**
 * The per-request access log. Into a `LogSink` it writes the same JSON line pino
 * would (`{"level":30,"time":…,"log":"access",…,"msg":"request"}`), encoded by
 * `encodeAccessLine` instead of pino's generic per-field path: measured here, that
 * path was most of the access log's cost per request. Through any other stream
 * (pretty output, tests) it is an ordinary pino line.
 */
export function createAccessLog(logger: Logger): AccessLog {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  if (!(stream instanceof LogSink)) {
    return Object.assign((level: "info" | "warn", record: AccessRecord) => logger[level]({ log: "access", ...record }, "request"), { flush() {} });
  }
  const log = (level: "info" | "warn", record: AccessRecord): void => {
    const value = LEVEL_VALUES[level];
    if (value < logger.levelVal) return;
    const buf = stream.reserve(accessLineMaxBytes(record));
    stream.commit(encodeAccessLine(buf, stream.offset, value, Date.now(), record));
  };
  return Object.assign(log, { flush: () => stream.flush() });
}
