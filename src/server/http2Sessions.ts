import type { EventEmitter } from "node:events";
import type { Http2Session } from "node:http2";

/**
 * The open HTTP/2 sessions of a server. Node's server.close() waits for them but never
 * ends them, and an idle one would hold its connection forever: this closes an idle
 * session after `idleMs` (as keepAliveTimeout does an HTTP/1.1 connection), and on
 * shutdown sends each a GOAWAY, then destroys what is left once the grace period is over.
 */
export class Http2Sessions {
  private readonly open = new Set<Http2Session>();

  constructor(server: EventEmitter, idleMs: number) {
    server.on("session", (session: Http2Session) => {
      this.open.add(session);
      session.once("close", () => this.open.delete(session));
      // close(), not destroy(): a stream under way (a gRPC stream that is quiet) still finishes.
      session.setTimeout(idleMs, () => session.close());
    });
  }

  /** GOAWAY: no new streams; the streams under way finish, then each session closes. */
  close(): void {
    for (const session of this.open) session.close();
  }

  destroy(): void {
    for (const session of this.open) session.destroy();
  }
}
