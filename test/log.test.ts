import { mkdtemp, readFile, rm } from "node:fs/promises";
import { openSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { accessLineMaxBytes, encodeAccessLine } from "../src/telemetry/accessLine.js";
import type { AccessRecord } from "../src/model/observers.js";
import { createAccessLog } from "../src/telemetry/log.js";
import { LogSink } from "../src/telemetry/logSink.js";
import { waitFor } from "./proxyHelpers.js";

/** `encodeAccessLine`'s bytes, as a string. */
function formatAccessLine(level: number, time: number, r: AccessRecord): string {
  const buf = Buffer.alloc(accessLineMaxBytes(r));
  return buf.toString("utf8", 0, encodeAccessLine(buf, 0, level, time, r));
}

/** Writes one access line through the sink, as the access log does. */
function writeLine(sink: LogSink, r: AccessRecord): void {
  const buf = sink.reserve(accessLineMaxBytes(r));
  sink.commit(encodeAccessLine(buf, sink.offset, 30, 1, r));
}

/** What the line must be: pino's layout, serialized by JSON.stringify. */
function expectedLine(level: number, time: number, r: AccessRecord): string {
  return `${JSON.stringify({ level, time, log: "access", ...r, msg: "request" })}\n`;
}

const record: AccessRecord = {
  method: "GET",
  host: "web.localhost:8080",
  path: "/a/b",
  protocol: "HTTP/1.1",
  status: 200,
  backend: "default/web:80",
  upstream: "127.0.0.1:9101",
  duration_ms: 1.25,
  bytes: 512,
  request_id: "0c46433f-aef7-4719-9639-1b0316cbf0c5",
  client: "127.0.0.1",
  error: undefined,
};

describe("access log line", () => {
  it("is exactly the JSON that JSON.stringify gives, field order included", () => {
    expect(formatAccessLine(30, 1795622617981, record)).toBe(expectedLine(30, 1795622617981, record));
  });

  it("leaves unset fields out and keeps a set error", () => {
    const upgrade: AccessRecord = { ...record, status: 502, duration_ms: undefined, bytes: undefined, backend: undefined, upstream: undefined, error: "ECONNREFUSED" };
    delete upgrade.duration_ms;
    delete upgrade.bytes;
    const line = formatAccessLine(40, 1, upgrade);
    expect(line).toBe(expectedLine(40, 1, upgrade));
    expect(JSON.parse(line)).not.toHaveProperty("backend");
  });

  it.each([
    ["a quote", 'a"b'],
    ["a backslash", "a\\b"],
    ["control characters", "a\u0000b\tc\nd\u001f"],
    ["DEL", "a\u007fb"],
    ["non-ASCII", "/caf\u00e9/\u65e5\u672c/\u{1f600}"],
    ["a lone surrogate", "a\ud800b"],
    ["an empty string", ""],
    ["a long path", `/${"x".repeat(20_000)}"`],
  ])("escapes %s as JSON.stringify does", (_name, s) => {
    const r = { ...record, host: s, path: s, request_id: s, error: s };
    const line = formatAccessLine(30, 2, r);
    expect(line).toBe(expectedLine(30, 2, r));
    expect(JSON.parse(line)).toMatchObject({ host: s, path: s, request_id: s, error: s });
  });

  it("writes numbers as JSON.stringify does", () => {
    const durations = [0, 0.01, 0.1, 0.5, 1, 1.05, 1.5, 2.25, 9.99, 10, 14.11, 99.9, 123456.78, 0.001, 1 / 3, 1e-7, 2 ** 31 + 5, 1e15 + 0.5, 1e21, -1, -0.25, NaN, Infinity];
    for (let h = 0; h < 20_000; h += 7) durations.push(Math.round((h * 1.37) / 100 * 100) / 100);
    for (const d of durations) {
      const r = { ...record, duration_ms: d, bytes: Math.floor(Math.abs(d) * 1000) || 0, status: 200 + (d > 0 ? 1 : 0) };
      expect(formatAccessLine(30, 1795622617981, r), String(d)).toBe(expectedLine(30, 1795622617981, r));
    }
    for (const time of [0, 1, 2 ** 31, 1795622617981, NaN]) expect(formatAccessLine(40, time, record)).toBe(expectedLine(40, time, record));
  });
});

describe("LogSink", () => {
  let dir: string;
  let file: string;
  let fd: number;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ingressd-log-"));
    file = join(dir, "out.log");
    fd = openSync(file, "w");
  });
  afterEach(async () => {
    closeSync(fd);
    await rm(dir, { recursive: true, force: true });
  });

  /** Flushes through pino's destination and resolves once the bytes are in the file. */
  async function flushed(sink: LogSink): Promise<string[]> {
    await new Promise<void>((resolve, reject) => sink.flush((err) => (err ? reject(err) : resolve())));
    return (await readFile(file, "utf8")).split("\n").filter((l) => l !== "");
  }

  it("keeps access lines and pino's own lines in the order they were logged", async () => {
    const sink = new LogSink(fd);
    const logger = pino({ base: undefined }, sink);
    const access = createAccessLog(logger);
    access("info", { ...record, request_id: "first" });
    logger.info("reloaded");
    access("warn", { ...record, status: 502, request_id: "second" });
    const lines = (await flushed(sink)).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.request_id ?? l.msg)).toEqual(["first", "reloaded", "second"]);
    expect(lines[0]).toMatchObject({ level: 30, log: "access", status: 200, msg: "request" });
    expect(lines[2]).toMatchObject({ level: 40, log: "access", status: 502 });
  });

  it("writes lines longer than a chunk whole, in order, multi-byte characters intact", async () => {
    const sink = new LogSink(fd);
    const long = `/${"\u00e9".repeat(40_000)}`;
    const lines = [formatAccessLine(30, 1, { ...record, request_id: "a" }), formatAccessLine(30, 2, { ...record, path: long, request_id: "b" }), formatAccessLine(30, 3, { ...record, request_id: "c" })];
    for (let i = 0; i < 300; i++) lines.push(formatAccessLine(30, 4, { ...record, request_id: `n${i}` }));
    for (const l of lines) {
      const buf = sink.reserve(l.length * 3);
      sink.commit(sink.offset + buf.write(l, sink.offset, "utf8"));
    }
    const out = await flushed(sink);
    expect(out.length).toBe(lines.length);
    expect(out.map((l) => (JSON.parse(l) as { request_id: string }).request_id)).toEqual(lines.map((l) => (JSON.parse(l) as { request_id: string }).request_id));
    expect((JSON.parse(out[1]!) as { path: string }).path).toBe(long);
  });

  it("writes a quiet proxy's line without waiting for more", async () => {
    const sink = new LogSink(fd);
    writeLine(sink, record);
    // No flush: the chunk's timer hands the line over on its own.
    await waitFor(async () => (await readFile(file, "utf8")).length > 0, "the line in the file", 5_000, 20);
    expect(await readFile(file, "utf8")).toBe(formatAccessLine(30, 1, record));
  });

  it("drops access lines below the logger's level", async () => {
    const sink = new LogSink(fd);
    const access = createAccessLog(pino({ base: undefined, level: "warn" }, sink));
    access("info", { ...record, request_id: "quiet" });
    access("warn", { ...record, status: 499, request_id: "loud" });
    const lines = await flushed(sink);
    expect(lines.map((l) => (JSON.parse(l) as { request_id: string }).request_id)).toEqual(["loud"]);
  });
});
