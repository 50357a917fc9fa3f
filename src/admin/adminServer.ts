import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { L4ListenerStatus } from "../l4/listeners.js";
import type { Runtime } from "../snapshot/runtime.js";
import { configView, type LocalCaCertificates } from "./configView.js";
import { DASHBOARD_HTML } from "./dashboard.js";
import type { MetricsReader } from "../telemetry/statsDocument.js";
import { register, type RegistrationTarget } from "./registrations.js";
import type { RecentRequests } from "../telemetry/recentRequests.js";
import { streamRecentRequests } from "./requestStream.js";

/** What the dashboard reads beside the snapshot and the metrics. */
export interface AdminSources {
  /** The last requests (`/api/requests`). */
  recent?: RecentRequests;
  /** The local CA's certificates (`/api/config` `localCa`). */
  localCa?: () => LocalCaCertificates;
  /** Where `ingressd run` names go (`POST /api/registrations`). */
  registrations?: RegistrationTarget;
  /** The processes of `--workers N` (`/api/config` `workers`). */
  workers?: () => unknown[];
  /** The ports opened for Gateway listeners, with their state (`/api/config` `gatewayPorts`). */
  gatewayPorts?: () => unknown[];
  /** With `--source kubernetes`: leadership and what was written to the cluster (`/api/config` `cluster`). */
  cluster?: () => unknown;
}

/**
 * Health, readiness and the configuration API, on their own (loopback by default) port.
 * `notReady` says why ingressd is not ready yet, or undefined once it is; `registrations`
 * is where `ingressd run` names go (`POST /api/registrations`).
 */
export function createAdminServer(runtime: Runtime, l4Status: () => L4ListenerStatus[], metrics: MetricsReader, notReady: () => string | undefined, sources: AdminSources = {}): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, "text/plain", `${(err as Error).message}\n`);
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const [path, query = ""] = (req.url ?? "/").split("?", 2) as [string, string?];
    if (path === "/api/registrations" && req.method === "POST" && sources.registrations) return register(req, res, sources.registrations);
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "text/plain", "method not allowed\n");
    switch (path) {
      case "/healthz":
        return send(res, 200, "text/plain", "ok\n");
      case "/readyz": {
        const reason = notReady();
        return reason === undefined ? send(res, 200, "text/plain", "ready\n") : send(res, 503, "text/plain", `${reason}\n`);
      }
      case "/api/config":
        const view = configView(runtime.current, notReady() === undefined, l4Status(), sources.localCa?.());
        const status = runtime.sourceStatus();
        const extra = {
          source: { ...status, since: status.since.toISOString() },
          ...(sources.cluster ? { cluster: sources.cluster() } : {}), ...(sources.workers ? { workers: sources.workers() } : {}), ...(sources.gatewayPorts ? { gatewayPorts: sources.gatewayPorts() } : {}) };
        return send(res, 200, "application/json", JSON.stringify({ ...view, ...extra }, null, 2) + "\n");
      case "/api/stats":
        return send(res, 200, "application/json", JSON.stringify(await metrics.statsDocument(Date.now())) + "\n");
      case "/api/requests": {
        const since = Number(new URLSearchParams(query).get("since") ?? 0);
        const recent = sources.recent;
        return send(res, 200, "application/json", JSON.stringify({ total: recent?.total ?? 0, requests: recent?.since(Number.isSafeInteger(since) ? since : 0) ?? [] }) + "\n");
      }
      case "/api/requests/stream":
        if (!sources.recent) return send(res, 404, "text/plain", "not found\n");
        return streamRecentRequests(req, res, sources.recent);
      case "/metrics": {
        const { contentType, text } = await metrics.exposition();
        return send(res, 200, contentType, text);
      }
      case "/":
        return send(res, 200, "text/html", DASHBOARD_HTML);
      default:
        return send(res, 404, "text/plain", "not found\n");
    }
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { "content-type": type.includes("charset") ? type : `${type}; charset=utf-8`, "content-length": Buffer.byteLength(body), "cache-control": "no-store", server: "ingressd" });
  res.end(body);
}
