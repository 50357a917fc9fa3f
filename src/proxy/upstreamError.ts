/**
 * What an upstream's failure means, for requests and upgrades alike. The kinds follow
 * nginx's proxy_next_upstream: `error` (connection refused or broken), `timeout`
 * (connecting, or waiting for the response head), `invalid_header` (an empty or invalid
 * response). nginx always counts all three as unsuccessful attempts for max_fails.
 */
export type UpstreamFailureKind =
  /** No connection was made: nothing reached the upstream. */
  | "unreachable"
  /** The connection broke (reset, closed) while the request or response was under way. */
  | "broken"
  /** No response head within the read timeout. */
  | "read-timeout"
  /** The response body stalled past the read timeout (only once the response is under way). */
  | "body-timeout"
  /** The upstream took none of the request body for the send timeout (proxy-send-timeout). */
  | "send-timeout"
  /** The upstream answered something that is not an acceptable HTTP response. */
  | "invalid"
  /** The upstream answered an upgrade request without switching protocols: it works, it declined. */
  | "declined-upgrade"
  | "other";

export interface UpstreamFailure {
  kind: UpstreamFailureKind;
  /** The error's code, for the access log. */
  code: string;
  /** What the client is told: 504 for timeouts, 502 for everything else. */
  status: 502 | 504;
  /** Counts against the endpoint's max-fails (passive health). */
  passive: boolean;
  /** The connection failed (refused, reset, timed out connecting): the connect-errors metric. */
  connection: boolean;
  /** In nginx's default `proxy_next_upstream error timeout`: an idempotent request may go to another endpoint. */
  nextUpstream: boolean;
  /** Short, for the client's error body. */
  description: string;
}

const UNREACHABLE = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT"]);
const BROKEN = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_CLOSED"]);
/** Response heads undici's parser or Node's header checks refuse; undici's parser errors are `HPE_*`. */
const INVALID = new Set(["UND_ERR_HEADERS_OVERFLOW", "ERR_INVALID_CHAR", "ERR_INVALID_HTTP_TOKEN", "ERR_HTTP_INVALID_HEADER_VALUE"]);

const DESCRIPTIONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  UND_ERR_SOCKET: "connection closed",
  UND_ERR_CONNECT_TIMEOUT: "connect timeout",
  UND_ERR_HEADERS_TIMEOUT: "no response in time (read timeout)",
  UND_ERR_BODY_TIMEOUT: "response body stalled (read timeout)",
  UND_ERR_HEADERS_OVERFLOW: "response headers too large",
  INGRESSD_SEND_TIMEOUT: "request body not taken in time (send timeout)",
  ENOTFOUND: "host name not found",
};

/** What stops an upstream request whose body the upstream stopped taking (see watchSendStall). */
export function sendTimeout(ms: number): Error {
  return Object.assign(new Error(`the upstream took none of the request body for ${ms} ms`), { code: "INGRESSD_SEND_TIMEOUT" });
}

function errorCode(err: Error): string {
  return (err as { code?: string }).code ?? err.name;
}

/**
 * An undici error, as the client and passive health see it. Asked only before a response
 * reached the client: a failure once one is under way cuts it and counts for nothing, as
 * nginx counts an error in the middle of a response body against no server.
 */
export function classify(err: Error): UpstreamFailure {
  const code = errorCode(err);
  const kind = kindOf(err, code);
  const timeout = code === "UND_ERR_CONNECT_TIMEOUT" || kind === "read-timeout" || kind === "body-timeout" || kind === "send-timeout";
  return {
    kind,
    code,
    status: timeout ? 504 : 502,
    passive: kind === "unreachable" || kind === "broken" || kind === "read-timeout" || kind === "send-timeout" || kind === "invalid",
    connection: kind === "unreachable" || kind === "broken",
    nextUpstream: kind === "unreachable" || kind === "broken" || kind === "read-timeout",
    description: DESCRIPTIONS[code] ?? (kind === "invalid" ? `invalid response (${code})` : kind === "declined-upgrade" ? "answered without switching protocols" : code),
  };
}

function kindOf(err: Error, code: string): UpstreamFailureKind {
  // undici's upgrade API rejects any answer but 101 with this SocketError (api-upgrade.js).
  if (code === "UND_ERR_SOCKET" && err.message === "bad upgrade") return "declined-upgrade";
  if (UNREACHABLE.has(code)) return "unreachable";
  if (BROKEN.has(code)) return "broken";
  if (code === "UND_ERR_HEADERS_TIMEOUT") return "read-timeout";
  if (code === "UND_ERR_BODY_TIMEOUT") return "body-timeout";
  if (code === "INGRESSD_SEND_TIMEOUT") return "send-timeout";
  if (INVALID.has(code) || code.startsWith("HPE_") || err.name === "HTTPParserError") return "invalid";
  return "other";
}

/** nginx's non-idempotent methods: never passed to another server once sent (proxy_next_upstream non_idempotent off). */
const NON_IDEMPOTENT = new Set(["POST", "LOCK", "PATCH"]);

/**
 * Whether a request that failed with an `error` or `timeout` (nginx's default
 * proxy_next_upstream) may go to another endpoint, or be held and sent again: when no body
 * was read (a streamed body cannot be sent twice) and either nothing of it was sent or, as
 * nginx, its method is idempotent.
 */
export function mayResend(failure: UpstreamFailure, request: { sent: boolean; method: string; bodyRead: boolean }): boolean {
  if (!failure.nextUpstream || request.bodyRead) return false;
  return !request.sent || !NON_IDEMPOTENT.has(request.method);
}
