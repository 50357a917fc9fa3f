import cluster, { type Worker } from "node:cluster";
import { createAdminServer } from "../admin/adminServer.js";
import { MemorySource } from "../config/memorySource.js";
import { MirroredSource } from "../config/mirroredSource.js";
import { Runtime } from "../snapshot/runtime.js";
import { ClusterMetrics } from "../telemetry/clusterMetrics.js";
import { RecentRequests } from "../telemetry/recentRequests.js";
import type { StatsDocument } from "../telemetry/statsDocument.js";
import { rulesSource } from "./configSources.js";
import { listen, urlOf, type IngressdOptions } from "./ingressd.js";
import { mergedL4Status, mergedLocalCa } from "./workerStates.js";
import { isIngressdMessage, type FromWorker, type ToWorker, type WorkerState } from "./workerMessages.js";

/** How long the primary waits for a worker's answer (`/api/stats`) before leaving it out. */
const ASK_TIMEOUT_MS = 2_000;

/** A worker ended before it listened (a port in use): it said why; the primary stops too. */
export class WorkerStartError extends Error {}

export interface PrimaryOptions extends Omit<IngressdOptions, "source" | "admin"> {
  workers: number;
}

/** One worker as the primary knows it. */
interface WorkerEntry {
  worker: Worker;
  forkedAt: number;
  /** Sent its inputs: batches go to it from then on. */
  started: boolean;
  /** The last batch version it swapped in. */
  version: number;
  /** When it swapped in the last few versions it received as changes (ms since the epoch). */
  swaps: Map<number, number>;
  state: WorkerState | undefined;
}

/** What `/api/config` says of each worker. */
export interface WorkerView {
  id: number;
  pid: number | undefined;
  /** The configuration version (batch of inputs) it serves: the same in every worker once a change is applied. */
  version: number;
  /** When it swapped that version in; absent when it loaded it while starting. */
  swappedAt: string | undefined;
  ready: boolean;
  /** Requests this worker answered (since it started). */
  requests: number;
}

export interface Primary {
  /** Drains every worker (each closes as a single ingressd does), then the admin server. */
  close(): Promise<void>;
}

/**
 * The primary of `--workers N`: forks N workers that serve the same listeners (the
 * cluster module shares them), watches the rules and owns the in-memory ones
 * (registrations of `ingressd run`), and sends every batch of inputs to every worker,
 * which compiles it as a single ingressd would. It compiles the same inputs itself for
 * the admin server it runs alone (`/api/config`, registrations); `/metrics` and
 * `/api/stats` add up the workers'. A worker that dies is logged and replaced.
 */
export async function startPrimary(options: PrimaryOptions): Promise<Primary> {
  const { logger } = options;
  const entries = new Map<number, WorkerEntry>();
  /** Every worker's last requests, as they tell them: the dashboard's recent view. */
  const recent = new RecentRequests();
  let stopping = false;
  const memory = new MemorySource(options.inline ?? []);
  const { source, reporter: makeReporter } = await rulesSource(options, memory);
  const toStarted = (m: ToWorker): void => {
    for (const e of entries.values()) if (e.started && e.worker.isConnected()) e.worker.send(m);
  };
  const mirrored = new MirroredSource(source, (changes, version) =>
    toStarted({ type: "ingressd:changes", changes, version }),
  );
  const runtime = new Runtime({
    source: mirrored,
    bind: options.bind,
    ingressClass: options.ingressClass,
    // In a cluster, Ingresses without a class may be another controller's: served only while ingressd's class is the default.
    ...(options.cluster ? { classless: "default-class" as const } : {}),
    // kube-proxy opens NodePort and LoadBalancer Services in a cluster: ingressd must not (its own Service is one).
    ...(options.cluster ? { serviceListeners: false } : {}),
    ...(options.gatewayClass !== undefined ? { gatewayClass: options.gatewayClass } : {}),
    httpPort: options.httpPort,
    ...(options.httpsPort !== undefined ? { httpsPort: options.httpsPort } : {}),
    timeouts: { connectMs: options.connectTimeoutMs ?? 5_000, readMs: options.readTimeoutMs ?? 60_000 },
    logger,
    rulesPaths: options.rules,
  });

  const reporter = makeReporter?.(runtime);

  /** Versions whose swap in every worker was logged, and the waiters for a version served by all. */
  let loggedVersion = 0;
  const versionWaiters: { version: number; done: () => void }[] = [];
  const allAt = (version: number): boolean => {
    const live = [...entries.values()].filter((e) => e.worker.isConnected());
    return live.length === options.workers && live.every((e) => e.started && e.version >= version);
  };
  const swappedEverywhere = (version: number): void => {
    if (version > loggedVersion && allAt(version)) {
      loggedVersion = version;
      // Only workers that received this batch as a change have a time for it (one started since loaded it while starting).
      const times = [...entries.values()].map((e) => e.swaps.get(version)).filter((t): t is number => t !== undefined);
      if (times.length > 0) {
        logger.info({ version, generation: runtime.current.generation, workers: times.length, skew_ms: Math.max(...times) - Math.min(...times) }, "configuration swapped in every worker");
      }
    }
    for (const w of versionWaiters.filter((w) => allAt(w.version))) {
      versionWaiters.splice(versionWaiters.indexOf(w), 1);
      w.done();
    }
  };

  let statsId = 0;
  const statsWaiters = new Map<number, (stats: StatsDocument) => void>();
  const askStats = async (): Promise<StatsDocument[]> => {
    const asked = [...entries.values()].filter((e) => e.started && e.worker.isConnected());
    const answers = await Promise.all(
      asked.map(
        (e) =>
          new Promise<StatsDocument | undefined>((res) => {
            const id = ++statsId;
            const timer = setTimeout(() => {
              statsWaiters.delete(id);
              res(undefined);
            }, ASK_TIMEOUT_MS);
            statsWaiters.set(id, (stats) => {
              clearTimeout(timer);
              statsWaiters.delete(id);
              res(stats);
            });
            e.worker.send({ type: "ingressd:stats", id } satisfies ToWorker);
          }),
      ),
    );
    return answers.filter((a): a is StatsDocument => a !== undefined);
  };

  /** While the workers start: told of each state a worker reports, and of a worker that ended before it listened. */
  let starting: { stateChanged(): void; failed(err: Error): void } | undefined;
  const fork = (): void => {
    const worker = cluster.fork();
    const entry: WorkerEntry = { worker, forkedAt: Date.now(), started: false, version: 0, swaps: new Map(), state: undefined };
    entries.set(worker.id, entry);
    // A message to a worker that just died fails on its channel: its exit is handled below, the primary goes on.
    worker.on("error", (err: Error) => logger.warn({ worker: worker.id, err: err.message }, "worker channel error"));
    worker.on("message", (m: unknown) => {
      if (!isIngressdMessage(m)) return;
      const msg = m as FromWorker;
      switch (msg.type) {
        case "ingressd:hello":
          entry.started = true;
          worker.send({ type: "ingressd:start", inputs: mirrored.inputs(), version: mirrored.version } satisfies ToWorker);
          return;
        case "ingressd:swapped":
          entry.version = msg.version;
          if (msg.at !== undefined) entry.swaps.set(msg.version, msg.at);
          // Only the last few are ever compared.
          for (const v of entry.swaps.keys()) if (v < msg.version - 8) entry.swaps.delete(v);
          swappedEverywhere(msg.version);
          return;
        case "ingressd:state": {
          const { type: _type, ...state } = msg;
          entry.state = state;
          starting?.stateChanged();
          return;
        }
        case "ingressd:stats":
          statsWaiters.get(msg.id)?.(msg.stats);
          return;
        case "ingressd:requests":
          for (const { seq: _seq, time, ...record } of msg.requests) recent.add(record, time);
          return;
      }
    });
  };
  cluster.on("exit", (worker, code, signal) => {
    const entry = entries.get(worker.id);
    entries.delete(worker.id);
    if (stopping || !entry) return;
    // A worker of the first start that cannot listen (its error is in the log): the primary gives up rather than fork it forever.
    if (starting) return starting.failed(new WorkerStartError(`worker ${worker.id} ended before it listened (exit code ${code ?? "none"}${signal ? `, ${signal}` : ""}): ingressd stops`));
    logger.error({ worker: worker.id, pid: worker.process.pid, code, signal }, "worker exited; starting another");
    // One that dies at once again is forked a second later, not in a tight loop.
    const lived = Date.now() - entry.forkedAt;
    setTimeout(() => stopping || fork(), lived < 1_000 ? 1_000 : 0);
  });

  const notReady = (): string | undefined => {
    if (!runtime.ready) return "configuration not loaded yet";
    const live = [...entries.values()];
    if (live.length < options.workers) return `${options.workers - live.length} of ${options.workers} workers starting`;
    for (const e of live) {
      if (!e.state) return `worker ${e.worker.id} starting`;
      if (e.state.notReady) return `worker ${e.worker.id}: ${e.state.notReady}`;
    }
    return undefined;
  };
  const states = (): WorkerState[] => [...entries.values()].flatMap((e) => (e.state ? [e.state] : []));
  const workersView = (): WorkerView[] =>
    [...entries.values()].map((e) => {
      const at = e.swaps.get(e.version);
      return { id: e.worker.id, pid: e.worker.process.pid, version: e.version, swappedAt: at === undefined ? undefined : new Date(at).toISOString(), ready: e.state !== undefined && e.state.notReady === undefined, requests: e.state?.requests ?? 0 };
    });
  /** A registration answers once every worker serves it. */
  const served = async (host: string): Promise<{ http: string; https?: string }> => {
    await runtime.settled();
    const version = mirrored.version;
    if (!allAt(version)) await new Promise<void>((done) => versionWaiters.push({ version, done }));
    const state = [...entries.values()][0]?.state;
    return { http: urlOf("http", host, state?.httpPort ?? options.httpPort), ...(state?.httpsPort !== undefined ? { https: urlOf("https", host, state.httpsPort) } : {}) };
  };
  const issuesOf = (path: string): string[] => runtime.current.issues.filter((i) => i.file === path).map((i) => i.message);
  const admin = createAdminServer(runtime, () => mergedL4Status(states()), new ClusterMetrics(askStats), notReady, {
    recent,
    localCa: () => mergedLocalCa(states()),
    registrations: { memory, served, issuesOf },
    workers: workersView,
    ...(reporter ? { cluster: () => reporter.view() } : {}),
  });

  const adminPort = await listen(admin, "admin", options.adminPort, options.adminBind);
  await runtime.start();
  reporter?.start();
  // The workers start after the primary's first load, so their start inputs are the loaded ones.
  const started = new Promise<void>((resolve, reject) => {
    starting = {
      failed: reject,
      stateChanged: () => {
        const states = [...entries.values()].map((e) => e.state);
        if (states.length === options.workers && states.every((s) => s?.httpPort !== undefined)) resolve();
      },
    };
  });
  for (let i = 0; i < options.workers; i++) fork();
  try {
    await started;
  } catch (err) {
    stopping = true;
    for (const e of entries.values()) e.worker.kill("SIGKILL");
    await reporter?.stop();
    await runtime.stop();
    admin.close();
    throw err;
  }
  starting = undefined;
  const first = [...entries.values()][0]!.state!;
  logger.info({ http: `${options.bind}:${first.httpPort}`, admin: `${options.adminBind}:${adminPort}`, workers: options.workers, pids: [...entries.values()].map((e) => e.worker.process.pid) }, "ingressd listening");

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      stopping = true;
      const exited = [...entries.values()].map((e) => new Promise<void>((res) => (e.worker.isDead() ? res() : e.worker.once("exit", () => res()))));
      for (const e of entries.values()) if (e.worker.isConnected()) e.worker.send({ type: "ingressd:drain" } satisfies ToWorker);
      await Promise.all(exited);
      await reporter?.stop();
      await runtime.stop();
      await new Promise<void>((res) => {
        admin.close(() => res());
        admin.closeAllConnections();
      });
    })());
  return { close };
}
