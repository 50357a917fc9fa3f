import type { IGateway, IGatewayClass, IHTTPRoute } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1";

/** The Gateway API objects conversion writes, typed by the schema package ingressd validates them with. */
export type GatewayClassObject = IGatewayClass;
export type GatewayObject = IGateway;
export type HTTPRouteObject = IHTTPRoute;
export type Listener = IGateway["spec"]["listeners"][number];
export type RouteRule = NonNullable<NonNullable<IHTTPRoute["spec"]>["rules"]>[number];
export type RouteMatch = NonNullable<RouteRule["matches"]>[number];
export type RouteFilter = NonNullable<RouteRule["filters"]>[number];
export type BackendRef = NonNullable<RouteRule["backendRefs"]>[number];
export type RequestRedirect = NonNullable<RouteFilter["requestRedirect"]>;

export const GATEWAY_API_VERSION = "gateway.networking.k8s.io/v1";
/** ingressd's GatewayClass, and the controller name it serves Gateways of. */
export const GATEWAY_CLASS_NAME = "ingressd";
export { GATEWAY_CONTROLLER_NAME } from "../gateway/listeners.js";

/** A host name as Gateway API's Hostname (RFC 1123, lower case, no port), e.g. URLRewrite's and RequestRedirect's `hostname`. */
export const GATEWAY_HOSTNAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
