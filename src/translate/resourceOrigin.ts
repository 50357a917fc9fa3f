import type { Loaded } from "../config/resources.js";
import { fieldPath, type SourceLocation } from "../model/issues.js";
import type { RouteOrigin } from "../model/route.js";

/**
 * Where a route is declared: a field of an Ingress or an HTTPRoute. Its name, field and
 * source position are worked out only when shown (a table of 10,000 routes shows few,
 * and a positional lookup costs a parse).
 */
export class ResourceOrigin implements RouteOrigin {
  private located: SourceLocation | undefined;
  constructor(
    readonly kind: RouteOrigin["kind"],
    private readonly resourceOf: Loaded<"Ingress" | "HTTPRoute">,
    private readonly at: (string | number)[],
  ) {}
  get name(): string {
    return `${this.resourceOf.namespace}/${this.resourceOf.name}`;
  }
  get resource(): string {
    return this.resourceOf.id;
  }
  get field(): string {
    return fieldPath(this.at);
  }
  get source(): SourceLocation {
    return (this.located ??= this.resourceOf.locate(this.at));
  }
  locate(below: readonly (string | number)[]): SourceLocation {
    return this.resourceOf.locate([...this.at, ...below]);
  }
  toJSON(): object {
    return { kind: this.kind, name: this.name, field: this.field, source: this.source };
  }
}
