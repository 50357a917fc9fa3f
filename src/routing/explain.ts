import { normalizeHost } from "../model/host.js";
import { normalizePrefix } from "./pathMatcher.js";
import { fullRegexPath, regexPath } from "../model/regexPath.js";
import { conditionCount, conditionsHold, type RequestFacts } from "./requestFacts.js";
import { describeConditions } from "../model/describeRoute.js";
import type { Route } from "../model/route.js";
import { originForm, requestPath } from "./requestPath.js";
import type { RouteTable } from "./routeTable.js";

export interface ExplainedCandidate {
  route: Route;
  group: string;
  matched: boolean;
  /** Why it did not match, or why it lost. */
  reason: string;
}

export interface Explanation {
  host: string;
  path: string;
  winner?: Route;
  winnerReason: string;
  candidates: ExplainedCandidate[];
  /**
   * The winner's canary rules: routes of the same host and path with header or cookie
   * conditions, in the order they are tried; the first that holds takes the request.
   */
  canaryRules: Route[];
}

/** Whether `route`'s path matches `path`, by its API's rules, with the reason when not. */
function pathMatches(route: Route, path: string): { ok: boolean; why: string } {
  const m = route.match;
  if (m.pathType === "Exact") {
    return path === m.path ? { ok: true, why: "" } : { ok: false, why: `Exact ${m.path} needs the path to be exactly that (case-sensitive)` };
  }
  if (m.pathType === "Regex") {
    return regexPath(m.path).test(path) ? { ok: true, why: "" } : { ok: false, why: `Regex ${m.path} does not match the start of the path (case-insensitive)` };
  }
  if (m.pathType === "RegularExpression") {
    return fullRegexPath(m.path).test(path) ? { ok: true, why: "" } : { ok: false, why: `RegularExpression ${m.path} does not match the whole path (case-sensitive)` };
  }
  const prefix = normalizePrefix(m.path);
  const trimmed = normalizePrefix(path);
  const ok = prefix === "/" || trimmed === prefix || trimmed.startsWith(prefix + "/");
  if (ok) return { ok, why: "" };
  const hint = path.startsWith(prefix) ? ` (${path} only shares characters, not whole path elements)` : "";
  return { ok, why: `${m.pathType} ${m.path} matches ${prefix} and what lies below it, element by element${hint}` };
}

const GROUP_NAMES = { exact: "exact host", wildcard: "wildcard host", suffix: "wildcard host", any: "rules without host" } as const;

export interface ExplainOptions {
  /** The request's method; GET when unset. */
  method?: string;
  /** Request headers by lower-case name, for routes that match on them. */
  headers?: Readonly<Record<string, string>>;
}

/**
 * Why a URL goes where it goes: the precedence rules made visible, Ingress and Gateway
 * API alike. Candidates are the routes of the host groups the request consults; the
 * winner is what `lookup` returns, so the explanation cannot disagree with what is
 * served. An `https://` URL is judged as a request to the HTTPS front end.
 */
export function explainRequest(table: RouteTable, url: string, options: ExplainOptions = {}): Explanation {
  const absolute = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `http://${url}`;
  // The host through URL (it validates); the path verbatim, as the server sees it
  // (URL would resolve dot segments its own way).
  const parsed = new URL(absolute);
  const host = normalizeHost(parsed.host);
  const target = originForm(absolute);
  const path = requestPath(target);
  const headers = options.headers ?? {};
  const facts: RequestFacts = {
    header: (name) => headers[name],
    cookie: () => undefined, // a canary by cookie is listed among the canary rules instead
    query: (name) => parsed.searchParams.get(name) ?? undefined,
    method: (options.method ?? "GET").toUpperCase(),
    entry: parsed.protocol === "https:" ? "https" : "http",
  };
  const winner = table.lookup(host, path, facts);
  const groups = table.groupsFor(host);
  // Where lookup stopped: the winner's group, or the first group that answers alone.
  let stop = groups.findIndex((g) => (winner !== undefined && g.routes.includes(winner)) || g.matcher.isolates(facts.entry));
  if (stop === -1) stop = groups.length;
  const winnerGroup = winner !== undefined && stop < groups.length && groups[stop]!.routes.includes(winner) ? stop : undefined;
  const candidates: ExplainedCandidate[] = [];
  groups.forEach((g, gi) => {
    const label = `${GROUP_NAMES[g.kind]} ${g.name}`;
    for (const route of g.routes) {
      if (route === winner && gi === winnerGroup) {
        candidates.push({ route, group: label, matched: true, reason: "" });
        continue;
      }
      const m = pathMatches(route, path);
      if (!m.ok) candidates.push({ route, group: label, matched: false, reason: m.why });
      else if (!conditionsHold(route, facts)) candidates.push({ route, group: label, matched: false, reason: `the path matches, but the route is taken only when ${describeConditions(route)}` });
      else candidates.push({ route, group: label, matched: true, reason: lostBecause(route, gi) });
    }
  });

  function lostBecause(route: Route, gi: number): string {
    if (gi > stop && stop < groups.length) {
      const g = groups[stop]!;
      return winnerGroup === stop
        ? `matches, but ${GROUP_NAMES[groups[gi]!.kind]} rules are consulted only when the ${GROUP_NAMES[g.kind]} ${g.name} has no matching path`
        : `matches, but the ${GROUP_NAMES[g.kind]} ${g.name} answers alone for its hosts (Gateway API: the most specific listener's routes only)`;
    }
    if (!winner) return "matches";
    if (sameMatch(route, winner)) {
      return conditionCount(route) > 0 || conditionCount(winner) > 0
        ? `matches, but ${winner.origin.kind} ${winner.origin.name}'s ${describeConditions(winner) || "route"} is tried first (a method match, then more headers, then more query params)`
        : `matches, but the older ${winner.origin.kind} ${winner.origin.name} holds the same match`;
    }
    const [c, w] = [route.match.pathType, winner.match.pathType];
    const regex = (t: string): boolean => t === "Regex" || t === "RegularExpression";
    if (regex(c) || regex(w)) {
      return w === "Exact" ? "matches, but an Exact path is tried before regular expressions"
        : regex(w) ? `matches, but regular expressions are tried longest first, and ${winner.match.path} is longer or earlier`
        : "matches, but regular expressions are tried before prefixes";
    }
    if (normalizedLength(route) < normalizedLength(winner)) return `matches, but ${winner.match.path} is longer: the longest matching path wins`;
    if (c !== "Exact" && w === "Exact") return "matches, but at equal length Exact beats Prefix";
    return `matches, but the older ${winner.origin.kind} ${winner.origin.name} holds the same match`;
  }

  let winnerReason: string;
  if (!winner) {
    if (groups.length === 0) winnerReason = `no rule has host ${host}, a wildcard covering it, or no host`;
    else if (stop < groups.length) {
      const g = groups[stop]!;
      winnerReason = `no path of the ${GROUP_NAMES[g.kind]} ${g.name} matches, and it answers alone for its hosts (Gateway API: the most specific listener's routes only)`;
    } else winnerReason = "no path of the consulted host groups matches";
  } else if (winnerGroup === undefined) {
    winnerReason = "no rule matches; spec.defaultBackend serves what no rule matches";
  } else {
    const g = groups[winnerGroup]!;
    const before = groups.slice(0, winnerGroup).map((x) => `${GROUP_NAMES[x.kind]} ${x.name}`);
    winnerReason =
      `the longest matching path of the ${GROUP_NAMES[g.kind]} ${g.name}` +
      (before.length > 0 ? `, after no path matched in ${before.join(" and ")}` : "") +
      (g.kind === "exact" ? " (an exact host is consulted first)" : "");
  }
  const canaryRules = winner ? candidates.filter((c) => c.route !== winner && c.route.origin.kind === "Ingress" && conditionCount(c.route) > 0 && sameMatch(c.route, winner)).map((c) => c.route) : [];
  return { host, path, ...(winner ? { winner } : {}), winnerReason, candidates, canaryRules };
}

function normalizedLength(r: Route): number {
  return r.match.pathType === "Prefix" ? normalizePrefix(r.match.path).length : r.match.path.length;
}

function sameMatch(a: Route, b: Route): boolean {
  return a.match.host === b.match.host && a.match.path === b.match.path && a.match.pathType === b.match.pathType;
}
