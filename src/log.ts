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
