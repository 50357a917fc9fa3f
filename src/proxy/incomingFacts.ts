import type { Entry } from "../model/route.js";
import type { RequestFacts } from "../routing/requestFacts.js";
import type { ClientRequest } from "./clientMessage.js";
import { parseCookies } from "./target.js";

/**
 * A request's facts for routes with conditions (canaries, Gateway API matches): headers
 * read as asked, cookies and the query parsed only when a route asks for one.
 */
export class IncomingFacts implements RequestFacts {
  private cookies: Map<string, string> | undefined;
  private params: URLSearchParams | undefined;
  readonly method: string;
  constructor(
    private readonly req: ClientRequest,
    readonly entry: Entry,
  ) {
    this.method = req.method ?? "GET";
  }
  header(name: string): string | undefined {
    const v = this.req.headers[name];
    return Array.isArray(v) ? v.join(", ") : v;
  }
  cookie(name: string): string | undefined {
    return (this.cookies ??= parseCookies(this.req.headers.cookie)).get(name);
  }
  /** The first value of `name` in the query, decoded (Gateway API leaves repeated names to the implementation; Envoy takes the first). */
  query(name: string): string | undefined {
    if (!this.params) {
      const url = this.req.url ?? "";
      const q = url.indexOf("?");
      this.params = new URLSearchParams(q === -1 ? "" : url.slice(q + 1));
    }
    return this.params.get(name) ?? undefined;
  }
}
