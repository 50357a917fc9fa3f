import type { Endpoint } from "./endpoint.js";

export interface HealthCheckOptions {
  path: string;
  intervalMs: number;
  /** Host header of the probes: the Service's DNS name, as a cluster client would send. */
  host: string;
  /** Called with each probe's verdict. */
  onResult(endpoint: Endpoint, healthy: boolean, detail: string): void;
}

/**
 * Active health checks of one pool (annotation `ingressd.io/health-check-path`):
 * every endpoint is probed with a GET each interval, through its own keep-alive pool;
 * 2xx and 3xx are healthy. The first round runs at once, so a dead endpoint leaves
 * rotation within one probe of a reload rather than one interval.
 */
export class HealthChecker {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly endpoints: readonly Endpoint[],
    private readonly options: HealthCheckOptions,
  ) {}

  start(): void {
    this.round();
    this.timer = setInterval(() => this.round(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  private round(): void {
    for (const ep of this.endpoints) void this.probe(ep);
  }

  private async probe(ep: Endpoint): Promise<void> {
    const timeout = Math.min(this.options.intervalMs, 5_000);
    let healthy: boolean;
    let detail: string;
    try {
      const res = await ep.dispatcher.request({
        path: this.options.path,
        method: "GET",
        headers: { host: this.options.host, "user-agent": "ingressd-health-check" },
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      await res.body.dump();
      healthy = res.statusCode >= 200 && res.statusCode < 400;
      detail = `GET ${this.options.path} answered ${res.statusCode}`;
    } catch (err) {
      healthy = false;
      detail = `GET ${this.options.path} failed: ${(err as { code?: string }).code ?? (err as Error).message}`;
    }
    if (!this.stopped) this.options.onResult(ep, healthy, detail);
  }
}
