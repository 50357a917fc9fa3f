import { findFilter, type BalancePolicy, type Filter, type HeaderChanges, type PathReplacement, type Route, type WeightedBackend } from "./route.js";

/**
 * One line per filter, for `routes --explain`, `/api/config` and the dashboard. Never
 * the filter's data as is: a basic-auth filter holds password hashes.
 */
export function describeFilter(f: Filter): string {
  switch (f.type) {
    case "httpsRedirect":
      return "httpsRedirect: plain-HTTP requests get 308 to HTTPS";
    case "redirect":
      return `redirect: ${f.onlyPath !== undefined ? `requests for ${f.onlyPath} get` : "every request gets"} ${f.code} to ${f.location ?? `the same URL on host ${f.host}`}`;
    case "accessList":
      return `accessList: ${f.allow.length > 0 ? `allow ${f.allow.join(", ")}` : "allow all"}${f.deny.length > 0 ? `; deny ${f.deny.join(", ")}` : ""} (else 403)`;
    case "basicAuth":
      if (f.unavailable) return `basicAuth: every request gets 503 (${f.unavailable})`;
      return `basicAuth: realm "${f.realm}", ${Object.keys(f.users).length} user(s) from Secret ${f.secret} (else 401)`;
    case "rateLimit": {
      const limits = [f.rps !== undefined ? `${f.rps} req/s` : "", f.rpm !== undefined ? `${f.rpm} req/min` : "", f.connections !== undefined ? `${f.connections} connections` : ""].filter(Boolean);
      const burst = f.rps !== undefined || f.rpm !== undefined ? ` (burst ×${f.burstMultiplier})` : "";
      return `rateLimit: ${limits.join(", ")} per client${burst}, shared by ${f.zone}${f.exempt.length > 0 ? `, except ${f.exempt.join(", ")}` : ""} (else ${f.status})`;
    }
    case "cors":
      return `cors: origins ${f.allowOrigins.join(", ")}; methods ${f.allowMethods}${f.allowCredentials ? "; credentials" : ""}`;
    case "bodyLimit":
      return `bodyLimit: ${f.maxBytes} bytes (else 413)`;
    case "rewrite":
      return `rewrite: the path matching ${f.pattern} (any case) is sent upstream as ${f.target}, query kept`;
    case "requestHeaders":
      return `requestHeaders: sent upstream ${f.set.map(([n, v]) => `${n}: ${v}`).join(", ")}`;
    case "timeouts":
      return `timeouts: ${[
        f.connectMs !== undefined ? `connect ${f.connectMs} ms` : "",
        f.sendMs !== undefined ? `send ${f.sendMs} ms` : "",
        f.readMs !== undefined ? `read ${f.readMs} ms` : "",
        f.requestMs !== undefined ? `request ${f.requestMs} ms` : "",
        f.backendRequestMs !== undefined ? `backend request ${f.backendRequestMs} ms` : "",
      ].filter(Boolean).join(", ")}`;
    case "requestHeaderModifier":
      return `requestHeaderModifier: sent upstream ${describeChanges(f)}`;
    case "responseHeaderModifier":
      return `responseHeaderModifier: sent to the client ${describeChanges(f)}`;
    case "requestRedirect": {
      const parts = [
        f.scheme !== undefined ? `scheme ${f.scheme}` : "",
        f.hostname !== undefined ? `host ${f.hostname}` : "",
        f.port !== undefined ? `port ${f.port}` : "",
        f.path !== undefined ? describePath(f.path) : "",
      ].filter(Boolean);
      return `requestRedirect: every request gets ${f.code} to its own URL${parts.length > 0 ? ` with ${parts.join(", ")}` : ""}`;
    }
    case "pathRewrite":
      return `pathRewrite: sent upstream with ${describePath(f.path)}, query kept`;
    case "mirror":
      return `mirror: ${f.percent === 100 ? "every request" : `${f.percent}% of requests`} also sent to ${f.backend.key} (its answer ignored)`;
  }
}

function describeChanges(c: HeaderChanges): string {
  return [
    ...c.set.map(([n, v]) => `${n}: ${v}`),
    ...c.add.map(([n, v]) => `${n} += ${v}`),
    ...c.remove.map((n) => `without ${n}`),
  ].join(", ");
}

function describePath(p: PathReplacement): string {
  return p.kind === "full" ? `path ${p.path}` : `prefix ${p.prefix} replaced by ${p.replacement}`;
}

/**
 * Where a route's requests go: its backends, or `redirect (301)` for a route that answers
 * every request with a redirect and has no backend (a Gateway API RequestRedirect rule).
 */
export function describeDestination(route: Route): string {
  const redirect = route.backends.length === 0 ? findFilter(route, "requestRedirect") : undefined;
  return redirect ? `redirect (${redirect.code})` : describeBackends(route.backends);
}

/** `ns/svc:80`, `ns/canary:80 (canary)` or `ns/svc:80 (weight 90), ns/canary:80 (canary, weight 10)`. */
export function describeBackends(backends: readonly WeightedBackend[]): string {
  if (backends.length === 0) return "none (500)";
  if (backends.length === 1 && backends[0]!.invalid !== undefined) return `${backends[0]!.backend.key} (refused: 500)`;
  if (backends.length === 1) return `${backends[0]!.backend.key}${backends[0]!.canary ? " (canary)" : ""}`;
  return backends.map((b) => `${b.backend.key} (${b.canary ? "canary, " : ""}${b.invalid !== undefined ? "refused: 500, " : ""}weight ${b.weight})`).join(", ");
}

/** `ns/svc:80 90%, ns/canary:80 (canary) 10%`: how a weighted route splits its requests. */
export function describeSplit(backends: readonly WeightedBackend[]): string {
  const total = backends.reduce((n, b) => n + b.weight, 0);
  return backends.map((b) => `${b.backend.key}${b.canary ? " (canary)" : ""} ${Math.round((b.weight / total) * 1000) / 10}%`).join(", ");
}

/** The conditions beyond host and path (canary by header or cookie), or "". */
export function describeConditions(route: Route): string {
  const parts = [
    ...(route.match.headers ?? []).map((h) => `header ${h.name} ${h.type === "Exact" ? "=" : "~"} ${h.value}`),
    ...(route.match.cookies ?? []).map((c) => `cookie ${c.name} = ${c.value}`),
    ...(route.match.method !== undefined ? [`method ${route.match.method}`] : []),
    ...(route.match.query ?? []).map((q) => `query ${q.name} ${q.type === "Exact" ? "=" : "~"} ${q.value}`),
    ...(route.match.entry !== undefined ? [`over ${route.match.entry === "https" ? "HTTPS" : "plain HTTP"}`] : []),
  ];
  return parts.join(" and ");
}

/** How the route picks endpoints, when not the Service's own way: `cookie INGRESSCOOKIE (balanced; Path=/, …)` or `hash of $request_uri`. */
export function describeBalance(policy: BalancePolicy): string {
  if (policy.kind === "hash") return `hash of ${policy.key} (consistent)`;
  const attributes = [
    policy.path !== undefined ? `Path=${policy.path}` : "",
    policy.domain !== undefined ? `Domain=${policy.domain}` : "",
    policy.maxAgeSeconds !== undefined ? `Max-Age=${policy.maxAgeSeconds}` : "",
    policy.expiresSeconds !== undefined ? `Expires in ${policy.expiresSeconds} s` : "",
    policy.sameSite !== undefined ? `SameSite=${policy.sameSite}` : "",
    policy.secure ? "Secure" : "",
    policy.changeOnFailure ? "change on failure" : "",
  ].filter(Boolean);
  return `cookie ${policy.name} (${[policy.mode, ...attributes].join("; ")})`;
}
