/**
 * Gateway API status conditions, as ingressd would write them to a cluster: the way a
 * Gateway API user reads what became of a resource. `check`, `/api/config` and the
 * dashboard show them.
 */
export interface Condition {
  type: string;
  status: "True" | "False";
  reason: string;
  message: string;
}

export function condition(type: string, ok: boolean, reason: string, message: string): Condition {
  return { type, status: ok ? "True" : "False", reason, message };
}

/** A listener of a served Gateway, with its status. */
export interface ListenerStatus {
  name: string;
  port: number;
  protocol: string;
  hostname?: string;
  /** Route kinds it takes. */
  supportedKinds: string[];
  attachedRoutes: number;
  conditions: Condition[];
}

export interface GatewayStatus {
  /** `namespace/name`. */
  name: string;
  /** `Gateway namespace/name`, as ConfigIssue.resource names it. */
  resource: string;
  gatewayClassName: string;
  conditions: Condition[];
  listeners: ListenerStatus[];
}

/** What a route's parentRef names: a Gateway, or one listener of it (sectionName, port). */
export interface ParentRefView {
  namespace: string;
  name: string;
  sectionName?: string;
  port?: number;
}

export interface RouteParentStatus {
  parentRef: ParentRefView;
  conditions: Condition[];
}

export interface HTTPRouteStatus {
  /** `namespace/name`. */
  name: string;
  resource: string;
  /** One per parentRef naming a Gateway ingressd serves; none when every parent is another controller's. */
  parents: RouteParentStatus[];
}

export interface GatewayClassStatus {
  name: string;
  controllerName: string;
  conditions: Condition[];
}

/** The Gateway API side of a configuration, as status. */
export interface GatewayApiStatus {
  gatewayClasses: GatewayClassStatus[];
  gateways: GatewayStatus[];
  httpRoutes: HTTPRouteStatus[];
}

export function emptyGatewayApiStatus(): GatewayApiStatus {
  return { gatewayClasses: [], gateways: [], httpRoutes: [] };
}
