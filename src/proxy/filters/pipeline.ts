import type { Filter, Route, WeightedBackend } from "../../model/route.js";
import type { Exchange } from "../exchange.js";
import { accessListStep } from "./accessList.js";
import { basicAuthStep } from "./basicAuth.js";
import { bodyLimitStep } from "./bodyLimit.js";
import { corsStep } from "./cors.js";
import type { FilterEnv, FilterStep, StepBuilder } from "./filterStep.js";
import { httpsRedirectStep } from "./httpsRedirect.js";
import { mirrorStep } from "./mirror.js";
import { pathRewriteStep } from "./pathRewrite.js";
import { rateLimitStep } from "./rateLimit.js";
import { redirectStep } from "./redirect.js";
import { requestHeaderModifierStep, responseHeaderModifierStep } from "./headerModifier.js";
import { requestHeadersStep } from "./requestHeaders.js";
import { requestRedirectStep } from "./requestRedirect.js";
import { rewriteStep } from "./rewrite.js";
import { timeoutsStep } from "./timeouts.js";

/** One step builder per filter type: the only place the proxy learns what a filter does. */
const BUILDERS: { [T in Filter["type"]]: StepBuilder<Extract<Filter, { type: T }>> } = {
  httpsRedirect: httpsRedirectStep,
  redirect: redirectStep,
  accessList: accessListStep,
  basicAuth: basicAuthStep,
  rateLimit: rateLimitStep,
  cors: corsStep,
  bodyLimit: bodyLimitStep,
  rewrite: rewriteStep,
  requestHeaders: requestHeadersStep,
  timeouts: timeoutsStep,
  requestHeaderModifier: requestHeaderModifierStep,
  responseHeaderModifier: responseHeaderModifierStep,
  requestRedirect: requestRedirectStep,
  pathRewrite: pathRewriteStep,
  mirror: mirrorStep,
};

const NONE: readonly FilterStep[] = [];

/**
 * A route's steps, built on its first request and kept as long as the route (a
 * configuration generation) lives. A route without filters costs nothing here.
 */
const built = new WeakMap<Route, readonly FilterStep[]>();

export function stepsFor(route: Route): readonly FilterStep[] {
  if (route.filters.length === 0) return NONE;
  let steps = built.get(route);
  if (!steps) {
    steps = buildSteps(route.filters, route);
    built.set(route, steps);
  }
  return steps;
}

function buildSteps(filters: readonly Filter[], route: Route): readonly FilterStep[] {
  return filters.map((f) => (BUILDERS[f.type] as StepBuilder<Filter>)(f, route));
}

/** A backend's steps (Gateway API backendRefs[].filters), built on its first request like a route's. */
const builtForBackend = new WeakMap<WeightedBackend, readonly FilterStep[]>();

/**
 * Runs the filters of the backend a request was drawn to, after the route's (see
 * runFilters for the answer). A backend without filters costs nothing.
 */
export function runBackendFilters(x: Exchange, route: Route, backend: WeightedBackend, env: FilterEnv): boolean | Promise<boolean> {
  const filters = backend.filters;
  if (filters === undefined || filters.length === 0) return false;
  let steps = builtForBackend.get(backend);
  if (!steps) {
    steps = buildSteps(filters, route);
    builtForBackend.set(backend, steps);
  }
  return runFrom(steps, 0, x, env);
}

/**
 * Runs the route's filters in order; true when one of them answered the request. The
 * answer comes at once unless a step had to wait: then it is a promise, and the steps
 * after that one run when it settles.
 */
export function runFilters(x: Exchange, route: Route, env: FilterEnv): boolean | Promise<boolean> {
  return runFrom(stepsFor(route), 0, x, env);
}

function runFrom(steps: readonly FilterStep[], from: number, x: Exchange, env: FilterEnv): boolean | Promise<boolean> {
  for (let i = from; i < steps.length; i++) {
    const answered = steps[i]!(x, env);
    if (answered === true) return true;
    if (answered !== false) return answered.then((done) => done || runFrom(steps, i + 1, x, env));
  }
  return false;
}
