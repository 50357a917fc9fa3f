/**
 * One access-log record: what happened to one request (or one WebSocket upgrade).
 * Optional fields are left out of the line when unset, as `JSON.stringify` would.
 */
export interface AccessRecord {
  method: string;
  host: string;
  path: string;
  status: number;
  /** `namespace/service:port`. */
  backend: string | undefined;
  /** `address:port` of the endpoint. */
  upstream: string | undefined;
  duration_ms?: number;
  bytes?: number;
  request_id: string;
  /** An IP address (the socket's peer, or a trusted X-Forwarded-For hop). */
  client: string;
  error: string | undefined;
}

/**
 * The access log's JSON line, field for field what `JSON.stringify` gives, built as
 * one template. Per request this is the proxy's largest piece of its own work: the
 * generic serializer walks the object's keys and escapes every string, where here the
 * keys are literal and a string is only escaped when it has a character that needs it.
 */
export function formatAccessLine(level: number, time: number, r: AccessRecord): string {
  let line = `{"level":${level},"time":${time},"log":"access","method":${jsonString(r.method)},"host":${jsonString(r.host)},"path":${jsonString(r.path)},"status":${r.status}`;
  if (r.backend !== undefined) line += `,"backend":${jsonString(r.backend)}`;
  if (r.upstream !== undefined) line += `,"upstream":${jsonString(r.upstream)}`;
  if (r.duration_ms !== undefined) line += `,"duration_ms":${r.duration_ms}`;
  if (r.bytes !== undefined) line += `,"bytes":${r.bytes}`;
  line += `,"request_id":${jsonString(r.request_id)},"client":${jsonString(r.client)}`;
  if (r.error !== undefined) line += `,"error":${jsonString(r.error)}`;
  return `${line},"msg":"request"}\n`;
}

/** A JSON string literal: quoted as is when nothing needs escaping (the common case). */
export function jsonString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // Control characters, `"`, `\`, and anything past ASCII (lone surrogates must be escaped).
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) return JSON.stringify(s);
  }
  return `"${s}"`;
}
