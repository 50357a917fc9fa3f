import { Server as HttpServer } from "node:http";
import type { Http2Session } from "node:http2";
import type { AddressInfo, Server as NetServer } from "node:net";
import type { Logger } from "pino";
import type { HttpFrontend } from "../proxy/httpFrontend.js";
import { RouteTable } from "../routing/routeTable.js";
import type { Snapshot, SnapshotSource } from "../snapshot/snapshot.js";

export type GatewayPortProtocol = "HTTP" | "HTTPS";

export interface GatewayPortsOptions {
  /** The address ports are opened on (`--bind`). */
  bind: string;
  logger: Logger;
  /** A front end for one port: it reads `snapshots`, whose routing table is that port's. */
  frontendFor(protocol: GatewayPortProtocol, snapshots: SnapshotSource): HttpFrontend;
  /** An HTTP or HTTPS server serving `frontend`, set up as ingressd's own ports are (timeouts, TLS by SNI, HTTP/2 by ALPN). */
  serverFor(protocol: GatewayPortProtocol, frontend: HttpFrontend): Promise<NetServer>;
}

/** One opened port as `/api/config` shows it. */
export interface GatewayPortStatus {
  port: number;
  protocol: GatewayPortProtocol;
  state: "opening" | "listening" | "error";
  error?: string;
}

interface OpenPort {
  protocol: GatewayPortProtocol;
  state: GatewayPortStatus["state"];
  error?: string;
  frontend?: HttpFrontend;
  server?: NetServer;
  /** HTTP/2 sessions of an HTTPS port: sent GOAWAY on close, destroyed after the grace period. */
  sessions: Set<Http2Session>;
  opened: Promise<void>;
}

/**
 * The ports Gateway listeners ask for besides ingressd's HTTP and HTTPS ports: opened when
 * a configuration asks for them, closed when none does any more, as the L4 listeners of
 * NodePort Services are. Each serves the routes attached to its listeners, through a front
 * end of its own that reads the current snapshot with that port's routing table.
 */
export class GatewayPorts {
  private readonly open = new Map<number, OpenPort>();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly snapshots: SnapshotSource,
    private readonly options: GatewayPortsOptions,
  ) {}

  /** Opens and closes ports to match `wanted` (applied in order: a later call waits for an earlier one). */
  reconcile(wanted: ReadonlyMap<number, { protocol: GatewayPortProtocol }>): Promise<void> {
    const run = async (): Promise<void> => {
      for (const [port, open] of this.open) {
        if (wanted.get(port)?.protocol === open.protocol) continue;
        this.open.delete(port);
        await this.closeOne(port, open, 0);
      }
      const opening: Promise<void>[] = [];
      for (const [port, { protocol }] of wanted) {
        if (this.open.has(port)) continue;
        const entry: OpenPort = { protocol, state: "opening", sessions: new Set(), opened: Promise.resolve() };
        entry.opened = this.openOne(port, entry);
        this.open.set(port, entry);
        opening.push(entry.opened);
      }
      await Promise.all(opening);
    };
    this.queue = this.queue.then(run, run);
    return this.queue;
  }

  /** Whether every port asked for has been tried (listening or failed). */
  get settled(): boolean {
    return [...this.open.values()].every((p) => p.state !== "opening");
  }

  status(): GatewayPortStatus[] {
    return [...this.open].map(([port, p]) => ({ port, protocol: p.protocol, state: p.state, ...(p.error !== undefined ? { error: p.error } : {}) }));
  }

  /** Stops accepting, lets requests under way finish for up to `graceMs`, then closes what is left. */
  async close(graceMs: number): Promise<void> {
    await this.queue.catch(() => undefined);
    const all = [...this.open];
    this.open.clear();
    await Promise.all(all.map(([port, p]) => this.closeOne(port, p, graceMs)));
  }

  private async openOne(port: number, entry: OpenPort): Promise<void> {
    const { logger, bind } = this.options;
    try {
      const frontend = this.options.frontendFor(entry.protocol, new PortSnapshots(this.snapshots, port));
      const server = await this.options.serverFor(entry.protocol, frontend);
      entry.frontend = frontend;
      entry.server = server;
      server.on("session", (session: Http2Session) => {
        entry.sessions.add(session);
        session.once("close", () => entry.sessions.delete(session));
      });
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, bind, () => {
          server.off("error", reject);
          resolve();
        });
      });
      entry.state = "listening";
      logger.info({ port: (server.address() as AddressInfo).port, protocol: entry.protocol }, `Gateway listener port ${port} open (${entry.protocol})`);
    } catch (err) {
      entry.state = "error";
      const code = (err as NodeJS.ErrnoException).code;
      entry.error = code === "EADDRINUSE" ? `port ${port} is already in use` : code === "EACCES" ? `permission denied for port ${port}` : (err as Error).message;
      logger.error({ port, err: entry.error }, `Gateway listener port ${port} cannot be opened: ${entry.error}`);
    }
  }

  private async closeOne(port: number, p: OpenPort, graceMs: number): Promise<void> {
    await p.opened;
    const server = p.server;
    if (!server || p.state !== "listening") return;
    // An HTTPS port's HTTP/1.1 connections are node:http's, as on ingressd's own HTTPS port.
    const http1 = server as HttpServer;
    const closed = new Promise<void>((res) => server.close(() => res()));
    p.frontend?.drain(() => HttpServer.prototype.closeIdleConnections.call(http1));
    HttpServer.prototype.closeIdleConnections.call(http1);
    for (const s of p.sessions) s.close();
    p.frontend?.closeTunnels();
    const timer = setTimeout(() => {
      HttpServer.prototype.closeAllConnections.call(http1);
      for (const s of p.sessions) s.destroy();
    }, graceMs);
    await closed;
    clearTimeout(timer);
    this.options.logger.info({ port }, `Gateway listener port ${port} closed`);
  }
}

/**
 * The current snapshot as one opened port serves it: the same pools, TLS and settings,
 * with that port's routing table (derived once per configuration generation).
 */
class PortSnapshots implements SnapshotSource {
  private readonly derived = new WeakMap<Snapshot, Snapshot>();
  constructor(
    private readonly source: SnapshotSource,
    private readonly port: number,
  ) {}
  get current(): Snapshot {
    const s = this.source.current;
    let view = this.derived.get(s);
    if (!view) this.derived.set(s, (view = { ...s, routes: s.gatewayPorts.get(this.port)?.table ?? RouteTable.empty() }));
    return view;
  }
}
