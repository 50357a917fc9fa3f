import { bench, describe } from "vitest";
import type { AccessRecord } from "../src/model/observers.js";
import { RecentRequests } from "../src/telemetry/recentRequests.js";

// Per request the access record is also kept among the last 200: a slot write in a ring
// (the record is the one the access log built), against an array push/shift.
// Run with `npx vitest bench --run test/recentRequests.bench.ts`.

const record: AccessRecord = { method: "GET", host: "app.example.com", path: "/api/v1/users/42", status: 200, backend: "default/api:80", upstream: "10.0.3.17:8080", duration_ms: 1.25, bytes: 5123, request_id: "0c46433f-aef7-4719-9639-1b0316cbf0c5", client: "203.0.113.7", error: undefined };

describe("keeping a request", () => {
  const recent = new RecentRequests();
  bench("RecentRequests.add (ring)", () => recent.add(record, 1));
  const list: AccessRecord[] = [];
  bench("baseline: array push + shift past 200", () => {
    list.push(record);
    if (list.length > 200) list.shift();
  });
});
