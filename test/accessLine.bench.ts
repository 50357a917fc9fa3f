import pino from "pino";
import { bench, describe } from "vitest";
import type { AccessRecord } from "../src/model/observers.js";
import { accessLineMaxBytes, encodeAccessLine } from "../src/telemetry/accessLine.js";

// The access-log line, once per request: encodeAccessLine writes it straight into the
// log sink's chunk; the alternatives build it with JSON.stringify (and copy it into the
// chunk, as the string-based log did), or log it through pino's generic path (what
// createAccessLog does for any stream but a LogSink). test/log.test.ts checks the bytes
// are the same.
// Run with `npx vitest bench --run test/accessLine.bench.ts`.

const ascii: AccessRecord = {
  method: "GET",
  host: "app.example.com:8443",
  path: "/api/v1/users/42",
  status: 200,
  backend: "default/api:80",
  upstream: "10.0.3.17:8080",
  duration_ms: 1.25,
  bytes: 5123,
  request_id: "0c46433f-aef7-4719-9639-1b0316cbf0c5",
  client: "203.0.113.7",
  error: undefined,
};

/** A quote and non-ASCII in the path, a newline in the error: those fields go through JSON.stringify. */
const escaped: AccessRecord = { ...ascii, path: '/search/"caf\u00e9"/\u65e5\u672c', status: 502, error: "connect ECONNREFUSED 10.0.3.17:8080\nretried once" };

/** Room for many lines, reused as the sink reuses its 64 KiB chunk. */
const chunk = Buffer.allocUnsafeSlow(64 * 1024);

/** pino as createAccessLog uses it without a LogSink, into a stream that drops the line. */
const discard = { write(): void {} };
const pinoEpoch = pino({ level: "info", base: undefined }, discard);
const pinoIso = pino({ level: "info", base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, discard);

/** Every line in a new millisecond: the encoded time is not reused (a quiet proxy). */
let tick = 1_795_622_617_981;

function stringLine(r: AccessRecord): string {
  return `${JSON.stringify({ level: 30, time: Date.now(), log: "access", ...r, msg: "request" })}\n`;
}

for (const [name, record] of [["ASCII record", ascii], ["record needing escapes", escaped]] as const) {
  describe(`access line, ${name}`, () => {
    bench("encodeAccessLine into a buffer", () => {
      encodeAccessLine(chunk, 0, 30, Date.now(), record);
    });
    bench("accessLineMaxBytes + encodeAccessLine (what the access log does)", () => {
      accessLineMaxBytes(record);
      encodeAccessLine(chunk, 0, 30, Date.now(), record);
    });
    bench("encodeAccessLine, each line in a new millisecond", () => {
      encodeAccessLine(chunk, 0, 30, tick++, record);
    });
    bench("JSON.stringify of the same record (a string)", () => {
      stringLine(record);
    });
    bench("JSON.stringify, then copied into a buffer", () => {
      chunk.write(stringLine(record), 0, "utf8");
    });
    bench("pino logger.info (epoch-ms time, the format ingressd uses)", () => {
      pinoEpoch.info({ log: "access", ...record }, "request");
    });
    bench("pino logger.info with an ISO time", () => {
      pinoIso.info({ log: "access", ...record }, "request");
    });
  });
}
