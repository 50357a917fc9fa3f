import { Pool } from "undici";
import type { EndpointAddress } from "./backendSpec.js";
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
 * One upstream address and its keep-alive connection pool. Shared by every Service
 * port that resolves to the same address and carried across reloads while any
 * configuration still names it, so keep-alive sockets survive unrelated edits.
 */
export class Endpoint {
  readonly origin: string;
  /** `host:port`, how logs and the API name it. */
  readonly address: string;
  private pool: Pool | undefined;
  /** Set once no configuration names this endpoint any more. */
  private retired = false;
  /** Passive health (nginx's max_fails/fail_timeout): failures counted in the current window. */
  private failures = 0;
  private windowStart = 0;
  /** Out of rotation until this time (ms since epoch); 0 when in. */
  ejectedUntil = 0;

  constructor(
    readonly target: EndpointAddress,
    private readonly timeouts: UpstreamTimeouts,
  ) {
    this.address = endpointAddress(target);
    this.origin = `http://${this.address}`;
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
    return new Pool(this.origin, {
      connect: { timeout: this.timeouts.connectMs },
      headersTimeout: this.timeouts.readMs,
      bodyTimeout: this.timeouts.readMs,
      // Proxied requests are not retried on a new socket behind our back: retries
      // are the proxy's decision (only before the body is sent).
      pipelining: 1,
      factory: clientClosingUnusedConnections,
    });
  }

  isEjected(now: number): boolean {
    return this.ejectedUntil > now;
  }

  /**
   * A refused or reset connection. `maxFails` of them within `failTimeoutMs` take the
   * endpoint out of rotation for `failTimeoutMs`. Returns true when this one did.
   */
  recordFailure(now: number, maxFails: number, failTimeoutMs: number): boolean {
    if (maxFails <= 0) return false;
    if (now - this.windowStart > failTimeoutMs) {
      this.windowStart = now;
      this.failures = 0;
    }
    this.failures++;
    if (this.failures < maxFails || this.isEjected(now)) return false;
    this.ejectedUntil = now + failTimeoutMs;
    this.failures = 0;
    return true;
  }

  /** A connection that worked: the failure count starts over and an ejection ends. Returns true if it was ejected. */
  recordSuccess(): boolean {
    const wasEjected = this.ejectedUntil !== 0;
    if (this.failures !== 0) this.failures = 0;
    if (wasEjected) this.ejectedUntil = 0;
    return wasEjected;
  }

  /** Lets in-flight requests finish, then closes the sockets. */
  async close(): Promise<void> {
    this.retired = true;
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close().catch(() => undefined);
  }

  /** Closes now, aborting in-flight requests (shutdown after the grace period). */
  async destroy(): Promise<void> {
    this.retired = true;
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy().catch(() => undefined);
  }
}
