import type { Logger } from "pino";
import { ReplicaSource } from "../config/replicaSource.js";
import { missingRulesPaths } from "../config/missingRulesPaths.js";
import { ClusterMetrics } from "../telemetry/clusterMetrics.js";
import { startIngressd, type Ingressd, type IngressdOptions } from "./ingressd.js";
import { isIngressdMessage, type FromWorker, type ToWorker, type WorkerState } from "./workerMessages.js";

/** How often a worker looks whether its state (readiness, ports, L4 listeners) changed, to tell the primary. */
const STATE_CHECK_MS = 100;

/**
 * One worker of `--workers N`: serves the inputs its primary sends, on listeners the
 * cluster shares, without an admin server (the primary runs it). Resolves with the
 * server once it listens; the primary's drain message (or the primary gone) closes it
 * and exits 0.
 */
export function runWorker(options: Omit<IngressdOptions, "source" | "admin">): Promise<Ingressd> {
  const { logger } = options;
  const send = (m: FromWorker): void => {
    if (process.connected) process.send!(m);
  };
  let replica: ReplicaSource | undefined;
  /** The last batch version received (the start's inputs are a version too). */
  let received = 0;
  let server: Ingressd | undefined;
  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ why }, "worker shutting down: finishing in-flight requests");
    (server?.close() ?? Promise.resolve()).then(
      () => exit(logger, 0),
      (err: unknown) => {
        logger.error({ err }, "worker shutdown failed");
        exit(logger, 1);
      },
    );
  };
  // Signals are the primary's to act on: Ctrl-C reaches the whole process group, and so
  // does a service manager's SIGTERM (systemd's control-group kill). A worker that ended
  // on its own would be replaced by a primary not yet stopping; the primary drains them all.
  process.on("SIGTERM", () => undefined);
  process.on("SIGINT", () => undefined);
  // Without its primary a worker has no inputs and no admin server: it ends too.
  process.on("disconnect", () => stop("primary gone"));
  /**
   * Tells the primary, with the time, once the runtime has applied the change of batch
   * `version` (and all before it: it applies them in order, a failed one included).
   */
  const swapped = (s: Ingressd, version: number): void => {
    void s.runtime.settled().then(() => send({ type: "ingressd:swapped", version, at: Date.now() }));
  };

  return new Promise<Ingressd>((resolve, reject) => {
    process.on("message", (m: unknown) => {
      if (!isIngressdMessage(m)) return;
      const msg = m as ToWorker;
      switch (msg.type) {
        case "ingressd:start":
          if (replica) return;
          replica = new ReplicaSource(msg.inputs, () => missingRulesPaths(options.rules));
          received = msg.version;
          startIngressd({ ...options, source: replica, admin: false, clientIpPlacement: "address-hash", logConfigIssues: false })
            .then(async (s) => {
              server = s;
              ClusterMetrics.serveFromWorker(s.metrics.registry);
              // What it loaded while starting (changes that came meanwhile included), told before
              // its state: once the primary sees a worker listen, it knows the version it serves.
              const version = received;
              await s.runtime.settled();
              send({ type: "ingressd:swapped", version });
              tellState(s, send);
              resolve(s);
            })
            .catch(reject);
          return;
        case "ingressd:changes":
          received = msg.version;
          replica?.apply(msg.changes);
          if (server) swapped(server, msg.version);
          return;
        case "ingressd:stats":
          if (server) send({ type: "ingressd:stats", id: msg.id, stats: server.metrics.statsDocument(Date.now()) });
          return;
        case "ingressd:drain":
          stop("drain");
          return;
      }
    });
    send({ type: "ingressd:hello" });
  });
}

/**
 * Tells the primary the worker's state whenever it changes. Readiness follows listeners
 * opening after a reload (HTTPS, L4), which have no event of their own: looked at on
 * a short timer, sent only when different. The requests answered since the last look
 * go along (at most the last ones kept): a message per tick, never one per request.
 */
function tellState(server: Ingressd, send: (m: FromWorker) => void): void {
  let last = "";
  let sentRequests = 0;
  const check = (): void => {
    if (server.recent.total > sentRequests) {
      send({ type: "ingressd:requests", requests: server.recent.since(sentRequests) });
      sentRequests = server.recent.total;
    }
    const ca = server.localCaCertificates();
    const state: WorkerState = {
      notReady: server.notReady(),
      httpPort: server.httpPort,
      httpsPort: server.httpsPort,
      l4: server.l4.status(),
      requests: server.metrics.routeStats().total.requests,
      localCa: ca && { certPath: ca.certPath, leaves: ca.leaves.map((l) => ({ ...l, notAfter: l.notAfter.toISOString() })) },
    };
    const text = JSON.stringify(state);
    if (text === last) return;
    last = text;
    send({ type: "ingressd:state", ...state });
  };
  check();
  setInterval(check, STATE_CHECK_MS).unref();
}

function exit(logger: Logger, code: number): void {
  logger.flush();
  process.exit(code);
}
