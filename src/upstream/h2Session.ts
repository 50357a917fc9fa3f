import { connect, type ClientHttp2Session, type SecureClientSessionOptions } from "node:http2";
import type { EndpointTls } from "./backendSpec.js";

/**
 * The HTTP/2 connection to one endpoint (gRPC upstreams: h2c, or h2 over TLS): one session,
 * its streams multiplexed, reused by every request. undici's HTTP/2 speaks h2 over TLS
 * only, so node:http2 does this. A session that closed, failed or got a GOAWAY is
 * replaced by a new one for the next request; streams under way on it finish.
 */
export class Http2Upstream {
  private current: ClientHttp2Session | undefined;
  private closed = false;

  constructor(
    private readonly origin: string,
    private readonly connectTimeoutMs: number,
    private readonly tls?: EndpointTls,
  ) {}

  /** The session to open the next stream on, connecting if there is none usable. */
  session(): ClientHttp2Session {
    if (this.closed) {
      // A request still running on an old snapshot (a retry) after the endpoint was retired:
      // a session of its own, closed once that request's stream is done.
      const oneOff = this.connect();
      queueMicrotask(() => oneOff.close());
      return oneOff;
    }
    const s = this.current;
    if (s && !s.closed && !s.destroyed) return s;
    return (this.current = this.connect());
  }

  private connect(): ClientHttp2Session {
    const tls = this.tls;
    const options: SecureClientSessionOptions = tls
      ? {
          servername: tls.serverName,
          // Verified only against the CAs given (proxy-ssl-verify), as for HTTPS upstreams.
          rejectUnauthorized: tls.ca !== undefined,
          ...(tls.ca !== undefined && { ca: tls.ca }),
          ...(tls.cert !== undefined && { cert: tls.cert, key: tls.key }),
        }
      : {};
    const session = connect(this.origin, options);
    const forget = (): void => {
      if (this.current === session) this.current = undefined;
    };
    // A failed session fails its streams (each request answers its own error); nothing throws here.
    session.on("error", forget);
    session.once("close", forget);
    session.once("goaway", forget);
    // An endpoint that accepts nothing in time: its streams fail as a connect timeout.
    const timer = setTimeout(() => {
      const err = Object.assign(new Error(`no HTTP/2 connection within ${this.connectTimeoutMs} ms`), { code: "UND_ERR_CONNECT_TIMEOUT" });
      session.destroy(err);
    }, this.connectTimeoutMs);
    session.once("connect", () => clearTimeout(timer));
    session.once("close", () => clearTimeout(timer));
    // An idle session does not hold the process open.
    session.unref();
    return session;
  }

  /** Lets streams under way finish, then closes. */
  close(): void {
    this.closed = true;
    this.current?.close();
  }

  destroy(): void {
    this.closed = true;
    this.current?.destroy();
  }
}
