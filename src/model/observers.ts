import type { Route } from "./route.js";

/**
 * What the serving side reports to, as interfaces: the proxy and the L4 listeners tell
 * an observer and an access log of each request without knowing who counts or writes
 * (telemetry/ implements both).
 */

/** What the proxy reports per request; labels come from the configuration, never from input. */
export interface RequestObservation {
  /** The matched rule's host as written (`api.localhost`, `*.apps.localhost`, `*`), or `_unmatched`. */
  host: string;
  /** `namespace/service:port`, or "" when no Service was selected. */
  service: string;
  /** The matched route (the dashboard's rates are per route), or undefined when none matched. */
  route: Route | undefined;
  status: number;
  durationMs: number;
  bytes: number;
  /** `HTTP/1.0`, `HTTP/1.1` or `HTTP/2.0`: one of a few constants. */
  protocol: string;
}

export interface RequestObserver {
  request(o: RequestObservation): void;
  connectError(service: string, endpoint: string): void;
}

/**
 * One access-log record: what happened to one request (or one WebSocket upgrade).
 * Optional fields are left out of the line when unset, as `JSON.stringify` would.
 */
export interface AccessRecord {
  method: string;
  host: string;
  path: string;
  /** `HTTP/1.1`, `HTTP/2.0` (`HTTP/1.0`); absent for what the HTTP parser refused. */
  protocol?: string;
  status: number;
  /** `namespace/service:port`. */
  backend: string | undefined;
  /** `address:port` of the endpoint. */
  upstream: string | undefined;
  duration_ms?: number;
  bytes?: number;
  request_id: string;
  /** An IP address (the socket's peer, or a trusted X-Forwarded-For hop). */
  client: string;
  error: string | undefined;
}

/** The per-request access log (telemetry/log.ts writes it). */
export type AccessLog = ((level: "info" | "warn", record: AccessRecord) => void) & {
  /** Hands gathered lines to the output now (shutdown). */
  flush(): void;
};
