import type { OutgoingHttpHeaders } from "node:http";
import type { ClientRequest } from "./clientMessage.js";

/**
 * gRPC's "HTTP to gRPC Status Code Mapping" (grpc/doc/http-grpc-status-mapping.md) for
 * ingressd's own answers: 404 UNIMPLEMENTED, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED,
 * 429/502/503/504 UNAVAILABLE, 400 INTERNAL, anything else UNKNOWN.
 */
const GRPC_STATUS_OF_HTTP: Readonly<Record<number, number>> = { 400: 13, 401: 16, 403: 7, 404: 12, 429: 14, 502: 14, 503: 14, 504: 14 };
const UNKNOWN = 2;

/** A gRPC call (gRPC over HTTP/2, or gRPC-Web): its errors are answered the gRPC way. */
export function isGrpcRequest(req: ClientRequest): boolean {
  const type = req.headers["content-type"];
  return type !== undefined && type.startsWith("application/grpc");
}

export function grpcStatusOf(httpStatus: number): number {
  return GRPC_STATUS_OF_HTTP[httpStatus] ?? UNKNOWN;
}

/**
 * The head of a trailers-only gRPC answer standing for HTTP `status`: HTTP 200 (gRPC
 * clients read the status from grpc-status, and take a non-200 for a broken proxy),
 * grpc-status, and grpc-message percent-encoded as the protocol asks.
 */
/** gRPC's percent-encoding of grpc-message: `%` and what is not printable ASCII, as UTF-8 bytes; the rest as is. */
function percentEncoded(message: string): string {
  return message.replace(/[^\x20-\x24\x26-\x7e]+/g, (s) => encodeURIComponent(s));
}

export function grpcErrorHeaders(status: number, message: string): OutgoingHttpHeaders {
  return { "content-type": "application/grpc", "grpc-status": String(grpcStatusOf(status)), "grpc-message": percentEncoded(message) };
}
