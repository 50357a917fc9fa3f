import { connect, createServer, type Server, type Socket } from "node:net";
import type { Logger } from "pino";
import type { SnapshotSource } from "../snapshot/snapshot.js";
import type { Endpoint } from "../upstream/endpoint.js";
import type { ServicePool } from "../upstream/servicePool.js";
import { peerAddress } from "../net/peerAddress.js";
import type { SourceLocation } from "../model/issues.js";
import type { L4ListenerSpec } from "./plan.js";
import { relay } from "../net/relay.js";

export interface L4ListenerStatus extends Omit<L4ListenerSpec, "locate">, SourceLocation {
  state: "listening" | "error" | "draining";
  error?: string;
  connections: number;
}

interface Listener {
  spec: L4ListenerSpec;
  server: Server;
  state: L4ListenerStatus["state"];
  error?: string;
  /** Client sockets and the endpoint each goes to (the one being tried while connecting). */
  connections: Map<Socket, Endpoint | undefined>;
}

export interface L4Options {
  snapshots: SnapshotSource;
  logger: Logger;
  connectTimeoutMs: number;
  /** How long connections of a removed listener may go on (default 30 s). */
  drainMs?: number;
  /** Told of every accepted connection (metrics). */
  onConnection?: (spec: L4ListenerSpec) => void;
}

/**
 * The TCP listeners of NodePort and LoadBalancer Services, as kube-proxy would have
 * them: bytes relayed both ways to an endpoint the Service's policy picks (round-robin
 * or ClientIP affinity), half-close honoured. Reconciled on every reload: a listener
 * that stays keeps its socket and its connections, except those whose endpoint left
 * the Service; a removed one stops accepting and its connections drain; a port that
 * cannot be bound is an error on that Service, never a crash.
 */
export class L4Listeners {
  private readonly listeners = new Map<string, Listener>();
  private readonly draining = new Set<Listener>();
  /** The bind error last logged per listener id. */
  private readonly failures = new Map<string, string>();
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: L4Options) {}

  /** Applies a plan; calls are serialized, so overlapping reloads apply in order. */
  reconcile(specs: readonly L4ListenerSpec[]): Promise<void> {
    this.queue = this.queue.then(() => this.apply(specs));
    return this.queue;
  }

  status(): L4ListenerStatus[] {
    return [...this.listeners.values(), ...this.draining].map(({ spec: { locate, ...spec }, ...l }) => ({
      ...spec,
      ...locate(),
      state: l.state,
      ...(l.error ? { error: l.error } : {}),
      connections: l.connections.size,
    }));
  }

  /** Stops every listener and cuts what is still connected after `graceMs`. */
  async close(graceMs: number): Promise<void> {
    await this.queue;
    const all = [...this.listeners.values(), ...this.draining];
    this.listeners.clear();
    await Promise.all(all.map((l) => this.drain(l, graceMs)));
  }

  private async apply(specs: readonly L4ListenerSpec[]): Promise<void> {
    const wanted = new Map(specs.map((s) => [s.id, s]));
    for (const [id, l] of this.listeners) {
      const spec = wanted.get(id);
      if (spec && l.state === "listening") {
        l.spec = spec; // same address and port: keep the socket, follow the new backend
        this.cutDeparted(l);
        continue;
      }
      this.listeners.delete(id);
      if (l.state === "listening") {
        this.options.logger.info({ listener: id, service: l.spec.service }, "L4 listener removed; draining its connections");
        void this.drain(l, this.options.drainMs ?? 30_000);
      }
    }
    await Promise.all(
      [...wanted.values()].filter((s) => !this.listeners.has(s.id)).map((s) => this.open(s)),
    );
  }

  private open(spec: L4ListenerSpec): Promise<void> {
    const l: Listener = { spec, server: createServer({ allowHalfOpen: true }), state: "listening", connections: new Map() };
    l.server.on("connection", (socket) => this.accept(l, socket));
    this.listeners.set(spec.id, l);
    return new Promise((resolve) => {
      l.server.once("error", (err: NodeJS.ErrnoException) => {
        l.state = "error";
        l.error = err.code === "EADDRINUSE" ? `port ${spec.port} on ${spec.address} is already in use` : err.code === "EACCES" ? `not allowed to listen on ${spec.address}:${spec.port} (privileged port?)` : err.message;
        // Tried again on every reload (the port may have been freed); said once until it changes.
        const said = this.failures.get(spec.id) === l.error;
        this.failures.set(spec.id, l.error);
        if (!said) {
          const at = spec.locate();
          this.options.logger.error({ listener: spec.id, service: spec.service, code: err.code, file: at.file, line: at.line, col: at.col, field: spec.field }, `${at.file}:${at.line}:${at.col}: cannot open L4 listener for Service ${spec.service}: ${l.error}`);
        }
        resolve();
      });
      l.server.listen(spec.port, spec.address, () => {
        this.failures.delete(spec.id);
        this.options.logger.info({ listener: spec.id, service: spec.service, backend: spec.backend, kind: spec.kind }, "L4 listener open");
        resolve();
      });
    });
  }

  private accept(l: Listener, client: Socket): void {
    l.connections.set(client, undefined);
    this.options.onConnection?.(l.spec);
    client.once("close", () => l.connections.delete(client));
    client.on("error", () => client.destroy());
    const pool = this.options.snapshots.current.pools.get(l.spec.backend);
    const clientIp = peerAddress(client.remoteAddress);
    const first = pool?.pick({ clientIp });
    if (!pool || !first) {
      client.destroy();
      return;
    }
    this.connectUpstream(l, pool, first, client, clientIp, 0);
  }

  /**
   * Cuts the connections whose endpoint is no longer one of the Service's, as kube-proxy
   * forgets their conntrack entries; every other connection keeps its sockets.
   */
  private cutDeparted(l: Listener): void {
    const pool = this.options.snapshots.current.pools.get(l.spec.backend);
    if (!pool) return; // the Service port is gone: its listener goes on the next reconcile, and drains
    const current = new Set(pool.endpoints.map((e) => e.address));
    let cut = 0;
    for (const [client, ep] of l.connections) {
      if (ep === undefined || current.has(ep.address)) continue;
      client.destroy();
      cut++;
    }
    if (cut > 0) this.options.logger.info({ listener: l.spec.id, service: l.spec.service, connections: cut }, "L4 connections closed: their endpoint left the Service");
  }

  /** Connects, then relays; a failed connect tries one other endpoint, then closes the client. */
  private connectUpstream(l: Listener, pool: ServicePool, ep: Endpoint, client: Socket, clientIp: string, attempt: number): void {
    if (l.connections.has(client)) l.connections.set(client, ep);
    const upstream = connect({ host: ep.target.host, port: ep.target.port, allowHalfOpen: true });
    upstream.setTimeout(this.options.connectTimeoutMs, () => upstream.destroy(Object.assign(new Error("connect timeout"), { code: "ETIMEDOUT" })));
    const onConnectError = (err: NodeJS.ErrnoException): void => {
      client.off("close", abandon);
      pool.reportFailure(ep, err.code ?? err.message);
      const other = attempt === 0 && !client.destroyed ? pool.pickOther(ep, { clientIp }) : undefined;
      if (other) this.connectUpstream(l, pool, other, client, clientIp, 1);
      else client.destroy();
    };
    // A client that leaves while we connect takes the attempt with it; once connected,
    // the relay decides (the upstream may still be writing when the client is done).
    const abandon = (): void => void upstream.destroy();
    upstream.once("error", onConnectError);
    client.once("close", abandon);
    upstream.once("connect", () => {
      upstream.setTimeout(0);
      upstream.off("error", onConnectError);
      client.off("close", abandon);
      pool.reportSuccess(ep);
      relay(client, upstream);
    });
  }

  private async drain(l: Listener, graceMs: number): Promise<void> {
    if (l.state === "error") return;
    l.state = "draining";
    this.draining.add(l);
    const closed = new Promise<void>((resolve) => l.server.close(() => resolve()));
    const timer = setTimeout(() => {
      for (const c of l.connections.keys()) c.destroy();
    }, graceMs);
    timer.unref();
    await closed;
    clearTimeout(timer);
    this.draining.delete(l);
  }
}
