import type { BackendSpec } from "./backendSpec.js";
import type { Balancer, PickContext } from "./balancer.js";
import type { Endpoint } from "./endpoint.js";

/** The endpoints behind one Service port, with the policy that spreads requests over them. */
export class ServicePool {
  constructor(
    readonly spec: BackendSpec,
    readonly endpoints: readonly Endpoint[],
    private readonly balancer: Balancer,
  ) {}

  get key(): string {
    return this.spec.key;
  }

  pick(ctx: PickContext): Endpoint | undefined {
    return this.balancer(this.endpoints, ctx);
  }

  /** Another endpoint than `failed`, for the one retry after a refused connection. */
  pickOther(failed: Endpoint, ctx: PickContext): Endpoint | undefined {
    if (this.endpoints.length < 2) return undefined;
    const others = this.endpoints.filter((e) => e !== failed);
    return this.balancer(others, ctx);
  }
}
