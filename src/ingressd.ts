import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { createAdminServer } from "./admin/adminServer.js";
import { FileSource } from "./config/fileSource.js";
import { HttpFrontend } from "./proxy/httpFrontend.js";
import { createAccessLog } from "./log.js";
import { Runtime } from "./runtime.js";

export interface IngressdOptions {
  rules: string[];
  bind: string;
  httpPort: number;
  adminBind: string;
  adminPort: number;
  ingressClass: string;
  watch: boolean;
  logger: Logger;
  /** Upstream connect timeout (default 5 s) and read timeout (default 60 s). */
  connectTimeoutMs?: number;
  readTimeoutMs?: number;
  /** Quiet time before file changes apply (default 100 ms). */
  debounceMs?: number;
  /** Grace period for in-flight requests on shutdown (default 10 s). */
  shutdownGraceMs?: number;
}

export interface Ingressd {
  runtime: Runtime;
  httpPort: number;
  adminPort: number;
  /** Stops accepting, lets in-flight requests finish (up to the grace period), closes upstream sockets. */
  close(): Promise<void>;
}

/** Wires source → runtime → front end and admin, and opens the listeners. */
export async function startIngressd(options: IngressdOptions): Promise<Ingressd> {
  const { logger } = options;
  const source = new FileSource({
    paths: options.rules,
    debounceMs: options.debounceMs ?? 100,
    onError: (err) => logger.error({ err }, "watching the rules failed"),
  });
  const runtime = new Runtime({
    source,
    watch: options.watch,
    ingressClass: options.ingressClass,
    timeouts: { connectMs: options.connectTimeoutMs ?? 5_000, readMs: options.readTimeoutMs ?? 60_000 },
    logger,
  });
  const frontend = new HttpFrontend({ snapshots: runtime, accessLog: createAccessLog(logger), proto: "http" });
  const http = createServer({ keepAliveTimeout: 75_000, headersTimeout: 60_000, requestTimeout: 0 }, frontend.handleRequest);
  http.on("upgrade", frontend.handleUpgrade);
  http.on("clientError", (_err, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nServer: ingressd\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });
  const admin = createAdminServer(runtime);

  // Admin first, so /readyz answers 503 while the first configuration loads.
  const adminPort = await listen(admin, options.adminPort, options.adminBind);
  await runtime.start();
  const httpPort = await listen(http, options.httpPort, options.bind);
  logger.info({ http: `${options.bind}:${httpPort}`, admin: `${options.adminBind}:${adminPort}` }, "ingressd listening");

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      const grace = options.shutdownGraceMs ?? 10_000;
      const drained = new Promise<void>((res) => http.close(() => res()));
      frontend.drain(() => http.closeIdleConnections());
      http.closeIdleConnections();
      frontend.closeTunnels();
      const timer = setTimeout(() => http.closeAllConnections(), grace);
      await drained;
      clearTimeout(timer);
      await runtime.stop();
      await new Promise<void>((res) => {
        admin.close(() => res());
        admin.closeAllConnections();
      });
    })());
  return { runtime, httpPort, adminPort, close };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
