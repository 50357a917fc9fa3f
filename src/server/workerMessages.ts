import type { ConfigChange } from "../config/source.js";
import type { L4ListenerStatus } from "../l4/listeners.js";
import type { RecentRequest } from "../telemetry/recentRequests.js";
import type { StatsDocument } from "../telemetry/statsDocument.js";

/**
 * What the primary of `--workers N` and its workers say over the cluster's IPC channel.
 * Configuration travels as inputs (file texts), never as snapshots: a snapshot holds
 * live sockets and TLS contexts, and each worker compiles the same inputs into its own.
 */
export type ToWorker =
  /** The inputs as of batch `version`; batches after it follow as `changes`. */
  | { type: "ingressd:start"; inputs: ConfigChange[]; version: number }
  | { type: "ingressd:changes"; changes: ConfigChange[]; version: number }
  | { type: "ingressd:stats"; id: number }
  /** Stop accepting, finish in-flight requests, exit 0 (the primary got SIGTERM). */
  | { type: "ingressd:drain" };

/** What one worker serves, as the primary's `/readyz` and `/api/config` read it. */
export interface WorkerState {
  /** Why the worker is not ready, or undefined once it is. */
  notReady: string | undefined;
  httpPort: number | undefined;
  httpsPort: number | undefined;
  l4: L4ListenerStatus[];
  /** Requests answered so far: which workers serve shows in `/api/config` `workers`. */
  requests: number;
  /** The local CA's leaves this worker issued (times as ISO strings: the channel carries JSON). */
  localCa: { certPath: string; leaves: { host: string; notAfter: string; default?: true }[] } | undefined;
}

export type FromWorker =
  /** The worker listens for messages: the primary answers with `start`. */
  | { type: "ingressd:hello" }
  /**
   * The worker's runtime swapped in the snapshot of batch `version`: at `at` (ms since the
   * epoch) when it happened as a change arrived, undefined for what it loaded while starting.
   */
  | { type: "ingressd:swapped"; version: number; at?: number }
  | ({ type: "ingressd:state" } & WorkerState)
  | { type: "ingressd:stats"; id: number; stats: StatsDocument }
  /** Requests answered since the last such message (at most the last ones kept), for the dashboard's recent view. */
  | { type: "ingressd:requests"; requests: RecentRequest[] };

/** Whether a message on the channel is one of ours (prom-client and cluster speak on it too). */
export function isIngressdMessage(m: unknown): m is { type: string } {
  return typeof m === "object" && m !== null && typeof (m as { type?: unknown }).type === "string" && (m as { type: string }).type.startsWith("ingressd:");
}
