import { AggregatorRegistry, type Registry } from "prom-client";
import { sumStats, type MetricsReader, type StatsDocument } from "./statsDocument.js";

/**
 * The metrics of every worker of `--workers N`, read by the primary when asked: the
 * Prometheus text merged by prom-client's AggregatorRegistry (each metric by its
 * `aggregator`: sums, except what every worker counts alike), `/api/stats` added up.
 */
export class ClusterMetrics implements MetricsReader {
  private readonly aggregator = new AggregatorRegistry();

  /** `workerStats`: each live worker's own `/api/stats` document. */
  constructor(private readonly workerStats: () => Promise<StatsDocument[]>) {}

  async statsDocument(time: number): Promise<StatsDocument> {
    return sumStats(time, await this.workerStats());
  }

  async exposition(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.aggregator.contentType, text: await this.aggregator.clusterMetrics() };
  }

  /** In a worker: answers the primary's requests with `registry` (the worker's Metrics). */
  static serveFromWorker(registry: Registry): void {
    new AggregatorRegistry(); // adds the worker's listener for the primary's requests
    AggregatorRegistry.setRegistries([registry]);
  }
}
