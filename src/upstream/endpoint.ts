import { createHash } from "node:crypto";
import { Pool, type Dispatcher } from "undici";
import type { EndpointAddress, EndpointTls } from "./backendSpec.js";
import { Http2Upstream } from "./h2Session.js";
import { clientClosingUnusedConnections } from "./unusedConnections.js";

export interface UpstreamTimeouts {
  connectMs: number;
  readMs: number;
}

/** `host:port`, with IPv6 literals bracketed: the identity of an endpoint. */
export function endpointAddress(target: EndpointAddress): string {
  const host = target.host.includes(":") ? `[${target.host}]` : target.host;
  return `${host}:${target.port}`;
}

/**
 * What tells endpoints apart: the address, plus for TLS a digest of its settings (a
 * different SNI, CA or client certificate is another connection pool), and HTTP/2 (gRPC).
 */
export function endpointId(target: EndpointAddress, tls?: EndpointTls, http2 = false): string {
  const address = endpointAddress(target);
  const id = tls ? `https://${address}#${createHash("sha256").update(JSON.stringify(tls)).digest("hex").slice(0, 16)}` : address;
  return http2 ? `h2:${id}` : id;
}

/** A Service's view of an endpoint's shared passive health: its own limits, and where it hears of changes. */
export interface PassiveHealthReader {
  readonly maxFails: number;
  readonly failTimeoutMs: number;
  /** `ep` went out of rotation under these limits (`healthy` false), or a success brought it back. */
  passiveHealthChanged(ep: Endpoint, healthy: boolean, reason: string): void;
}

/** Failures an endpoint remembers before any Service asks for more (the default max-fails). */
const DEFAULT_FAILURES_KEPT = 3;
/** A larger max-fails is counted as this many: enough to tell a dead endpoint, and bounded memory. */
export const MAX_FAILURES_KEPT = 1024;

/**
 * One upstream address and its keep-alive connection pool. Shared by every Service
 * port that resolves to the same address and carried across reloads while any
 * configuration still names it, so keep-alive sockets survive unrelated edits.
 */
export class Endpoint {
  readonly origin: string;
  /** `host:port`, how logs and the API name it. */
  readonly address: string;
  /** What `reconcilePools` keeps it by (see `endpointId`). */
  readonly id: string;
  private pool: Pool | undefined;
  private h2: Http2Upstream | undefined;
  /** Set once no configuration names this endpoint any more. */
  private retired = false;
  /**
   * Passive health, shared by every Service naming this endpoint: the times of the
   * refused or reset connections since the last success, newest at `newest`, in a ring
   * as long as the largest max-fails a Service reads it with. Each Service applies its
   * own max-fails and fail-timeout when it reads them (cf. Caddy's shared Host fail
   * count, read by each Upstream against its own MaxFails).
   */
  private failureTimes = new Float64Array(DEFAULT_FAILURES_KEPT);
  private newest = -1;
  /** Failures since the last success; may exceed what the ring keeps. */
  private failures = 0;
  /** Services reading this endpoint's passive health, told when their verdict changes. */
  private readonly readers = new Set<PassiveHealthReader>();

  constructor(
    readonly target: EndpointAddress,
    private readonly timeouts: UpstreamTimeouts,
    /** TLS to this endpoint (backend-protocol HTTPS); plain HTTP without. */
    readonly tls?: EndpointTls,
    id?: string,
    /** Spoken to over HTTP/2 (gRPC: backend-protocol GRPC, GRPCS): requests go through `http2`, not `dispatcher`. */
    readonly http2 = false,
  ) {
    this.address = endpointAddress(target);
    this.origin = `${tls ? "https" : "http"}://${this.address}`;
    this.id = id ?? endpointId(target, tls, http2);
  }

  /** The HTTP/2 connection of an HTTP/2 endpoint, made on first use. */
  get http2Session(): Http2Upstream {
    return (this.h2 ??= new Http2Upstream(this.origin, this.timeouts.connectMs, this.tls));
  }

  /** The pool is made on first use: a configuration may name endpoints that never get traffic. */
  get dispatcher(): Pool {
    if (this.retired) {
      // A request still running on an old snapshot (a retry) may land here after the
      // endpoint was retired: serve it on a pool that closes once that request is done.
      const oneOff = this.createPool();
      queueMicrotask(() => void oneOff.close().catch(() => undefined));
      return oneOff;
    }
    this.pool ??= this.createPool();
    return this.pool;
  }

  private createPool(): Pool {
    const tls = this.tls;
    const pool = new Pool(this.origin, {
      connect: {
        timeout: this.timeouts.connectMs,
        ...(tls && {
          servername: tls.serverName,
          // Verified only against the CAs given (proxy-ssl-verify), as nginx's proxy_ssl_verify.
          rejectUnauthorized: tls.ca !== undefined,
          ...(tls.ca !== undefined && { ca: tls.ca }),
          ...(tls.cert !== undefined && { cert: tls.cert, key: tls.key }),
        }),
      },
      headersTimeout: this.timeouts.readMs,
      bodyTimeout: this.timeouts.readMs,
      // Proxied requests are not retried on a new socket behind our back: retries
      // are the proxy's decision (only before the body is sent).
      pipelining: 1,
      factory: clientClosingUnusedConnections,
    });
    if (!tls) return pool;
    // undici takes a request's SNI from its Host header (the client's host, or a health
    // check's) before the connect options: every request here names the endpoint's own,
    // which also keeps undici from reconnecting whenever the Host changes.
    // (compose gives a Proxy of the Pool whose other members are the Pool's own.)
    const servername = tls.serverName;
    return pool.compose((dispatch) => (opts, handler) => dispatch({ ...opts, servername } as Dispatcher.DispatchOptions, handler)) as unknown as Pool;
  }

  /**
   * Until when `maxFails` failures within `failTimeoutMs` keep this endpoint out of
   * rotation (nginx's max_fails/fail_timeout): `failTimeoutMs` after the newest failure,
   * when the newest `maxFails` failures fall within one `failTimeoutMs` window (both ends
   * included); 0 when they do not, and always when `maxFails` is 0. Allocation-free:
   * asked for every endpoint of every request.
   */
  outUntil(maxFails: number, failTimeoutMs: number): number {
    if (maxFails <= 0 || this.failures < maxFails) return 0;
    const ring = this.failureTimes;
    const latest = ring[this.newest]!;
    const oldest = ring[(this.newest - Math.min(maxFails, ring.length) + 1 + ring.length) % ring.length]!;
    return latest - oldest <= failTimeoutMs ? latest + failTimeoutMs : 0;
  }

  /** A Service reading this endpoint's passive health from now on (see `PassiveHealthReader`). */
  addReader(reader: PassiveHealthReader): void {
    this.readers.add(reader);
    const keep = Math.min(Math.max(reader.maxFails, 1), MAX_FAILURES_KEPT);
    if (keep > this.failureTimes.length) this.growRing(keep);
  }

  removeReader(reader: PassiveHealthReader): void {
    this.readers.delete(reader);
  }

  /** A refused or reset connection at `now`; each reader whose limits it crosses is told. */
  recordFailure(now: number, reason: string): void {
    const wasOut = this.readers.size === 0 ? [] : [...this.readers].map((r) => this.outUntil(r.maxFails, r.failTimeoutMs) > now);
    this.newest = (this.newest + 1) % this.failureTimes.length;
    this.failureTimes[this.newest] = now;
    this.failures++;
    let i = 0;
    for (const r of this.readers) {
      if (!wasOut[i++] && this.outUntil(r.maxFails, r.failTimeoutMs) > now) r.passiveHealthChanged(this, false, reason);
    }
  }

  /** A connection that worked: the failures are forgotten, and readers it had ejected are told it is back. */
  recordSuccess(): void {
    if (this.failures === 0) return;
    for (const r of this.readers) if (this.outUntil(r.maxFails, r.failTimeoutMs) !== 0) r.passiveHealthChanged(this, true, "connection succeeded");
    this.failures = 0;
  }

  private growRing(length: number): void {
    const grown = new Float64Array(length);
    const kept = Math.min(this.failures, this.failureTimes.length);
    // Oldest first, so the newest failure ends at index kept - 1.
    for (let i = 0; i < kept; i++) grown[i] = this.failureTimes[(this.newest - kept + 1 + i + this.failureTimes.length) % this.failureTimes.length]!;
    this.failureTimes = grown;
    this.newest = kept - 1;
  }

  /** Lets in-flight requests finish, then closes the sockets. */
  async close(): Promise<void> {
    this.retired = true;
    this.h2?.close();
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close().catch(() => undefined);
  }

  /** Closes now, aborting in-flight requests (shutdown after the grace period). */
  async destroy(): Promise<void> {
    this.retired = true;
    this.h2?.destroy();
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy().catch(() => undefined);
  }
}
