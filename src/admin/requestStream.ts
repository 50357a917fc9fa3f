import type { IncomingMessage, ServerResponse } from "node:http";
import type { RecentRequests } from "../telemetry/recentRequests.js";

/** An open stream is sent what arrived since, this often: batched, never a write per proxied request. */
const STREAM_INTERVAL_MS = 500;

/**
 * `/api/requests/stream`: Server-Sent Events, each a JSON array of the requests since
 * the last one (oldest first), its `id` the sequence number to resume from. The first
 * event holds the recent requests kept; a reconnecting EventSource sends Last-Event-ID
 * and gets only what it missed.
 */
export function streamRecentRequests(req: IncomingMessage, res: ServerResponse, recent: RecentRequests): void {
  const resume = Number(req.headers["last-event-id"]);
  // An id from before a restart (past what this process has seen) starts over.
  let sent = Number.isSafeInteger(resume) && resume >= 0 && resume <= recent.total ? resume : 0;
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", server: "ingressd" });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  const flush = (): void => {
    if (recent.total === sent) return;
    const requests = recent.since(sent);
    sent = recent.total;
    res.write(`id: ${sent}\ndata: ${JSON.stringify(requests)}\n\n`);
  };
  res.write("retry: 2000\n\n");
  flush();
  const timer = setInterval(flush, STREAM_INTERVAL_MS);
  res.once("close", () => clearInterval(timer));
}
