import type { Logger } from "pino";
import type { KubeClient } from "../config/kubernetes/kubeClient.js";
import type { Runtime } from "../snapshot/runtime.js";
import { CONTROLLER_NAME } from "../translate/ingressClass.js";
import { IngressEvents } from "./ingressEvents.js";
import { LeaderElection, type LeaderTimings } from "./leaderElection.js";
import { publishedAddresses } from "./publishedAddresses.js";
import { StatusWriter } from "./statusWriter.js";

export const LEASE_NAME = "ingressd-leader";

export interface ClusterReporterOptions {
  client: KubeClient;
  runtime: Runtime;
  logger: Logger;
  /** Where the Lease lives (POD_NAMESPACE) and who this replica is (POD_NAME). */
  leaseNamespace: string;
  identity: string;
  publishService?: { namespace: string; name: string };
  publishStatusAddress?: readonly string[];
  leaderTimings?: LeaderTimings;
  /** How often everything is written again even without a reload (default 60 s): the published address may change. */
  resyncMs?: number;
}

/** What `/api/config` `cluster` says. */
export interface ClusterView {
  identity: string;
  lease: string;
  leader: boolean;
  /** The Lease's holder as last seen. */
  holder?: string;
  lastSync?: string;
  /** The objects whose status could not be written at the last sync, with why. */
  failures: string[];
}

/**
 * Everything ingressd writes to a cluster, done by one replica at a time: the one that
 * holds the `ingressd-leader` Lease writes the status of what it serves and the Events
 * for invalid Ingresses, after each reload and every `resyncMs`. Every replica serves;
 * only writing is elected.
 */
export class ClusterReporter {
  private readonly election: LeaderElection;
  private readonly writer: StatusWriter;
  private readonly events: IngressEvents;
  private resync: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  /** A sync was asked for while one ran: run once more after it. */
  private again = false;
  private busy = false;
  private lastSync: Date | undefined;
  private failures: string[] = [];
  private readonly onReload = (): void => this.sync();
  /** The last leader-election failure logged. */
  private electionError: string | undefined;

  constructor(private readonly options: ClusterReporterOptions) {
    this.writer = new StatusWriter(options.client);
    this.events = new IngressEvents(options.client, { component: CONTROLLER_NAME, instance: options.identity });
    this.election = new LeaderElection({
      client: options.client,
      namespace: options.leaseNamespace,
      name: LEASE_NAME,
      identity: options.identity,
      ...(options.leaderTimings ? { timings: options.leaderTimings } : {}),
      onStartedLeading: () => {
        options.logger.info({ identity: options.identity, lease: `${options.leaseNamespace}/${LEASE_NAME}` }, "leader: this replica writes status to the cluster");
        this.writer.forget();
        this.sync();
      },
      onStoppedLeading: () => options.logger.info({ identity: options.identity }, "no longer leader: another replica writes status"),
      onError: (err) => {
        // Every retry period while the API server is gone: told once, until a try succeeds again.
        if (this.electionError === err.message) return;
        this.electionError = err.message;
        options.logger.warn({ err: err.message }, "leader election: the Lease could not be read or written; retrying");
      },
      onSucceeded: () => (this.electionError = undefined),
    });
  }

  start(): void {
    this.election.start();
    this.options.runtime.on("reload", this.onReload);
    this.resync = setInterval(() => this.sync(), this.options.resyncMs ?? 60_000).unref();
  }

  async stop(): Promise<void> {
    if (this.resync) clearInterval(this.resync);
    this.options.runtime.off("reload", this.onReload);
    await this.running;
    await this.election.stop();
  }

  get isLeader(): boolean {
    return this.election.isLeader;
  }

  view(): ClusterView {
    const holder = this.election.holder;
    return {
      identity: this.options.identity,
      lease: `${this.options.leaseNamespace}/${LEASE_NAME}`,
      leader: this.election.isLeader,
      ...(holder !== undefined ? { holder } : {}),
      ...(this.lastSync ? { lastSync: this.lastSync.toISOString() } : {}),
      failures: this.failures,
    };
  }

  private sync(): void {
    if (!this.election.isLeader) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    this.running = this.write().finally(() => {
      this.busy = false;
      if (this.again) {
        this.again = false;
        this.sync();
      }
    });
  }

  private async write(): Promise<void> {
    const { logger, client } = this.options;
    try {
      const snapshot = this.options.runtime.current;
      const addresses = await publishedAddresses(client, this.options);
      const failures = await this.writer.sync(snapshot, addresses);
      const eventFailures = await this.events.report(snapshot.issues);
      this.failures = [...failures.map((f) => `${f.object}: ${f.error.message}`), ...eventFailures.map((e) => `event: ${e.message}`)];
      for (const f of failures) logger.warn({ object: f.object, err: f.error.message }, "status not written; retried at the next sync");
      for (const e of eventFailures) logger.warn({ err: e.message }, "event not posted");
      this.lastSync = new Date();
    } catch (err) {
      this.failures = [(err as Error).message];
      logger.warn({ err: (err as Error).message }, "status not written: the published Service could not be read; retried at the next sync");
    }
  }
}
