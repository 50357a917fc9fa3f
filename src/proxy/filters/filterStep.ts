import type { Filter, Route } from "../../model/route.js";
import type { Exchange } from "../exchange.js";

/** What a filter step may need of the front end that runs it. */
export interface FilterEnv {
  /** The HTTPS port plain-HTTP requests are redirected to; undefined on the HTTPS front end. */
  httpsPort: number | undefined;
  /** The plain-HTTP port, for redirects from HTTPS to http (Gateway API RequestRedirect); undefined on the HTTP front end. */
  httpPort?: number;
}

/**
 * One filter, ready to run: true when it answered the request (the steps after it do not
 * run). A step that must wait (a bcrypt check) returns a promise of that answer instead;
 * every other step answers at once, so routes without such a step never wait.
 */
export type FilterStep = (x: Exchange, env: FilterEnv) => boolean | Promise<boolean>;

/** Builds a filter's step once per route and configuration (compile regexes, parse CIDRs there, not per request). */
export type StepBuilder<F extends Filter> = (filter: F, route: Route) => FilterStep;
