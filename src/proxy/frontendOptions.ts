import type { AccessLog, RequestObserver } from "../model/observers.js";
import type { SnapshotSource } from "../snapshot/snapshot.js";
import type { ClientAddressResolver } from "./clientAddress.js";

/** What an HTTP(S) front end is built with (one per listener: plain HTTP, HTTPS). */
export interface FrontendOptions {
  snapshots: SnapshotSource;
  /** Access log: one line per request. */
  accessLog: AccessLog;
  proto: "http" | "https";
  clientAddress: ClientAddressResolver;
  /** How long to hold a request while every endpoint refuses (`--upstream-try-duration`); 0 = not at all. */
  tryDurationMs: number;
  /** Metrics: told of every answered request and every failed upstream connection. */
  observer?: RequestObserver;
  /** The longest a client may send nothing of a request body (nginx's client_body_timeout). */
  clientBodyTimeoutMs: number;
  /** Debug log lines of what never reaches the access log (a mirror's failure). */
  debug?: (fields: Record<string, unknown>, msg: string) => void;
}

