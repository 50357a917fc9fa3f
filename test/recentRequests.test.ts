import { describe, expect, it } from "vitest";
import type { AccessLog, AccessRecord } from "../src/model/observers.js";
import { keepingRecent, RECENT_REQUESTS, RecentRequests } from "../src/telemetry/recentRequests.js";

function record(i: number): AccessRecord {
  return { method: "GET", host: "a.localhost", path: `/r${i}`, status: 200, backend: "default/a:80", upstream: "127.0.0.1:1", duration_ms: 1, bytes: 2, request_id: `id${i}`, client: "127.0.0.1", error: undefined };
}

describe("recent requests: a ring of the last 200 access records (dashboard, issue 11)", () => {
  it("keeps the last 200, oldest first, each with its time and sequence number", () => {
    const recent = new RecentRequests();
    expect(recent.capacity).toBe(RECENT_REQUESTS);
    for (let i = 0; i < 205; i++) recent.add(record(i), 1_000 + i);
    const all = recent.since();
    expect(all).toHaveLength(200);
    expect(all[0]).toMatchObject({ seq: 5, time: 1_005, path: "/r5", status: 200, upstream: "127.0.0.1:1" });
    expect(all[199]).toMatchObject({ seq: 204, path: "/r204" });
    expect(recent.total).toBe(205);
  });

  it("since(n) gives only what came from sequence n on; nothing when up to date", () => {
    const recent = new RecentRequests(4);
    for (let i = 0; i < 3; i++) recent.add(record(i), i);
    expect(recent.since(1).map((r) => r.path)).toEqual(["/r1", "/r2"]);
    expect(recent.since(3)).toEqual([]);
    for (let i = 3; i < 10; i++) recent.add(record(i), i);
    // Asked for more than the ring still holds: what it holds.
    expect(recent.since(2).map((r) => r.seq)).toEqual([6, 7, 8, 9]);
  });

  it("keepingRecent keeps each record the access log writes, the same object, and still writes it", () => {
    const recent = new RecentRequests();
    const written: AccessRecord[] = [];
    let flushed = 0;
    const log: AccessLog = Object.assign((_level: "info" | "warn", r: AccessRecord) => void written.push(r), { flush: () => void flushed++ });
    const keeping = keepingRecent(log, recent);
    const r = record(1);
    keeping("warn", r);
    keeping.flush();
    expect(written).toEqual([r]);
    expect(flushed).toBe(1);
    expect(recent.since()).toEqual([{ seq: 0, time: expect.any(Number), ...r }]);
  });
});
