import { normalizeHost } from "../model/host.js";
import { normalizePrefix } from "./pathMatcher.js";
import { regexPath } from "../model/regexPath.js";
import { conditionCount } from "./requestFacts.js";
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

/** Whether `route`'s path matches `path`, by the Ingress spec's rules, with the reason when not. */
function pathMatches(route: Route, path: string): { ok: boolean; why: string } {
  const m = route.match;
  if (m.pathType === "Exact") {
    return path === m.path ? { ok: true, why: "" } : { ok: false, why: `Exact ${m.path} needs the path to be exactly that (case-sensitive)` };
  }
  if (m.pathType === "Regex") {
    return regexPath(m.path).test(path) ? { ok: true, why: "" } : { ok: false, why: `Regex ${m.path} does not match the start of the path (case-insensitive)` };
  }
  const prefix = normalizePrefix(m.path);
  const trimmed = normalizePrefix(path);
  const ok = prefix === "/" || trimmed === prefix || trimmed.startsWith(prefix + "/");
  if (ok) return { ok, why: "" };
  const hint = path.startsWith(prefix) ? ` (${path} only shares characters, not whole path elements)` : "";
  return { ok, why: `${m.pathType} ${m.path} matches ${prefix} and what lies below it, element by element${hint}` };
}

const GROUP_NAMES = { exact: "exact host", wildcard: "wildcard host", any: "rules without host" } as const;

/**
 * Why a URL goes where it goes: the precedence rules made visible. Candidates are the
 * routes of the host groups the request consults; the winner is what `lookup` returns,
 * so the explanation cannot disagree with what is served.
 */
export function explainRequest(table: RouteTable, url: string): Explanation {
  const absolute = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `http://${url}`;
  // The host through URL (it validates); the path verbatim, as the server sees it
  // (URL would resolve dot segments its own way).
  const host = normalizeHost(new URL(absolute).host);
  const path = requestPath(originForm(absolute));
  const winner = table.lookup(host, path);
  const groups = table.groupsFor(host);
  const candidates: ExplainedCandidate[] = [];
  let winnerGroup: number | undefined;
  groups.forEach((g, gi) => {
    for (const route of g.routes) {
      const m = pathMatches(route, path);
      const label = `${GROUP_NAMES[g.kind]} ${g.name}`;
      if (route === winner) {
        winnerGroup = gi;
        candidates.push({ route, group: label, matched: true, reason: "" });
      } else if (!m.ok) {
        candidates.push({ route, group: label, matched: false, reason: m.why });
      } else {
        candidates.push({ route, group: label, matched: true, reason: "" }); // reason filled in below, once the winner is known
      }
    }
  });
  for (const c of candidates) {
    if (!c.matched || c.route === winner || !winner) continue;
    const gi = groups.findIndex((g) => g.routes.includes(c.route));
    if (winnerGroup !== undefined && gi > winnerGroup) {
      c.reason = `matches, but ${GROUP_NAMES[groups[gi]!.kind]} rules are consulted only when the ${GROUP_NAMES[groups[winnerGroup]!.kind]} ${groups[winnerGroup]!.name} has no matching path`;
    } else if (conditionCount(c.route) > 0 && sameMatch(c.route, winner)) {
      c.reason = `taken only when ${describeConditions(c.route)} (a canary rule, tried before the route without conditions)`;
    } else if (c.route.match.pathType === "Regex" || winner.match.pathType === "Regex") {
      c.reason = winner.match.pathType === "Exact" ? "matches, but an Exact path is tried before regex paths"
        : winner.match.pathType === "Regex" ? `matches, but regex paths are tried longest first, and ${winner.match.path} is longer or earlier`
        : "matches, but regex paths are tried before Prefix paths";
    } else if (normalizedLength(c.route) < normalizedLength(winner)) {
      c.reason = `matches, but ${winner.match.path} is longer: the longest matching path wins`;
    } else if (c.route.match.pathType !== "Exact" && winner.match.pathType === "Exact") {
      c.reason = "matches, but at equal length Exact beats Prefix";
    } else {
      c.reason = "matches, but an earlier Ingress holds the same path";
    }
  }
  let winnerReason: string;
  if (!winner) {
    winnerReason = groups.length === 0 ? `no rule has host ${host}, a wildcard covering it, or no host` : "no path of the consulted host groups matches";
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
  const canaryRules = winner ? candidates.filter((c) => c.route !== winner && conditionCount(c.route) > 0 && sameMatch(c.route, winner)).map((c) => c.route) : [];
  return { host, path, ...(winner ? { winner } : {}), winnerReason, candidates, canaryRules };
}

function normalizedLength(r: Route): number {
  return r.match.pathType === "Prefix" ? normalizePrefix(r.match.path).length : r.match.path.length;
}

function sameMatch(a: Route, b: Route): boolean {
  return a.match.host === b.match.host && a.match.path === b.match.path && a.match.pathType === b.match.pathType;
}
