import type { AccessRecord } from "../model/observers.js";
import { protocolOf } from "./clientMessage.js";
import type { Exchange } from "./exchange.js";

/** The access-log record of an exchange, built once whichever way it ended. */
export function accessRecord(x: Exchange, status: number, durationMs?: number): AccessRecord {
  const record: AccessRecord = {
    method: x.req.method ?? "GET",
    host: x.fwd.host,
    path: x.path,
    protocol: protocolOf(x.req),
    status,
    backend: x.backend,
    upstream: x.upstream,
    request_id: x.fwd.requestId,
    client: x.fwd.client,
    error: x.error,
  };
  if (durationMs !== undefined) {
    record.duration_ms = Math.round(durationMs * 100) / 100;
    record.bytes = x.bytes;
  }
  return record;
}
