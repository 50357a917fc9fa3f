import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";

/** One HTTP/2 exchange's response: head (the final one), 1xx heads seen before it, body, trailers. */
export interface H2Response {
  headers: IncomingHttpHeaders;
  informational: IncomingHttpHeaders[];
  body: Buffer;
  trailers: IncomingHttpHeaders | undefined;
}

/** Sends `headers` (and `body`) on a new stream of `session`; resolves once the response ended. */
export function h2Request(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: Buffer | string): Promise<H2Response> {
  const stream = session.request(headers, { endStream: body === undefined });
  if (body !== undefined) stream.end(body);
  return h2Response(stream);
}

export function h2Response(stream: ClientHttp2Stream): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const informational: IncomingHttpHeaders[] = [];
    const chunks: Buffer[] = [];
    let head: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders | undefined;
    stream.on("headers", (h) => informational.push(h));
    stream.on("response", (h) => (head = h));
    stream.on("trailers", (t) => (trailers = t));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => resolve({ headers: head, informational, body: Buffer.concat(chunks), trailers }));
    stream.on("error", reject);
  });
}
