import type { IncomingMessage, ServerResponse } from "node:http";
import { inlineName, inlineRulesYaml } from "../config/inlineRules.js";
import type { MemorySource } from "../config/memorySource.js";
import { isLoopback } from "../net/cidr.js";

/** What a registration needs from the server: where its rules go, and its addresses once they serve. */
export interface RegistrationTarget {
  memory: MemorySource;
  /** Resolves once the rules given so far serve, with the URLs a name is reached at. */
  served(host: string): Promise<{ http: string; https?: string }>;
  /** The problems the configuration now has with one in-memory entry (a host the rules route already). */
  issuesOf(path: string): string[];
}

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_BODY = 4096;

/**
 * `POST /api/registrations` `{"name": "web", "port": 41234}`: what `ingressd run` does
 * when an ingressd already serves the ports. NAME.localhost is served to 127.0.0.1:port
 * for as long as this request stays open: the answer is one JSON line, then the response
 * is held, and the name goes when the connection closes (the run ended, or was killed —
 * no heartbeat to miss). Only loopback peers may register, and no browser: a web page
 * could otherwise point a name of this machine at any port.
 */
export async function register(req: IncomingMessage, res: ServerResponse, target: RegistrationTarget): Promise<void> {
  const refuse = (status: number, error: string): void => {
    const body = JSON.stringify({ error }) + "\n";
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body), "cache-control": "no-store" });
    res.end(body);
  };
  if (!isLoopback(req.socket.remoteAddress ?? "")) return refuse(403, "registrations are accepted from this machine (loopback) only");
  if (req.headers.origin !== undefined) return refuse(403, "registrations are not accepted from browsers");
  if (!(req.headers["content-type"] ?? "").startsWith("application/json")) return refuse(415, "send application/json: {\"name\": \"web\", \"port\": 3000}");
  let text = "";
  for await (const chunk of req as AsyncIterable<Buffer>) {
    text += chunk.toString("utf8");
    if (text.length > MAX_BODY) return refuse(413, "registration too large");
  }
  let body: { name?: unknown; port?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return refuse(400, "the body is not JSON: {\"name\": \"web\", \"port\": 3000}");
  }
  const { name, port } = body ?? {};
  if (typeof name !== "string" || !NAME.test(name)) return refuse(400, `name must be a DNS label such as "web", not ${JSON.stringify(name)}`);
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) return refuse(400, `port must be a port number 1-65535, not ${JSON.stringify(port)}`);
  const host = `${name}.localhost`;
  const path = `<ingressd run ${name}>`;
  if (target.memory.has(path)) return refuse(409, `${host} is already registered by another ingressd run`);
  const route = { host, path: "/", targets: [{ scheme: "http" as const, host: "127.0.0.1", port }] };
  target.memory.set(path, inlineRulesYaml(route, inlineName(route), `ingressd run ${name}: registered over the admin API`));
  res.on("close", () => target.memory.delete(path));
  const urls = await target.served(host);
  if (res.destroyed) return;
  // A name the rules already serve would not be served: say so rather than register a name that does nothing.
  const issues = target.issuesOf(path);
  if (issues.length > 0) {
    target.memory.delete(path);
    return refuse(409, `${host} cannot be served: ${issues.join("; ")}`);
  }
  res.writeHead(200, { "content-type": "application/x-ndjson; charset=utf-8", "cache-control": "no-store" });
  res.write(JSON.stringify({ host, ...urls }) + "\n");
}
