import pino, { type Logger } from "pino";

export type LogFormat = "json" | "pretty";

/**
 * JSON to stdout by default. Writes are asynchronous (buffered) so that access
 * logging stays off the request's critical path; `flush` on shutdown.
 */
export function createLogger(level: string, format: LogFormat): Logger {
  if (format === "pretty") {
    return pino({ level, base: undefined, transport: { target: "pino-pretty", options: { colorize: process.stdout.isTTY, translateTime: "SYS:HH:MM:ss.l" } } });
  }
  // Epoch-millisecond `time` (pino's default): formatting an ISO date per access-log line costs more.
  return pino({ level, base: undefined }, pino.destination({ dest: 1, sync: false, minLength: 4096 }));
}
