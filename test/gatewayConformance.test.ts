/**
 * The Gateway API HTTPRoute conformance scenarios (kubernetes-sigs/gateway-api
 * conformance/tests, ported as data in test/conformance/gateway/) replayed against ingressd:
 * one describe per case file, one it per request and per status condition. Real echo
 * upstreams and ingressd on loopback (test/gatewayConformanceRunner.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Document } from "yaml";
import {
  checkCondition,
  compare,
  EchoFleet,
  gatewayOfRequest,
  gatewaysOf,
  listenerCertificate,
  loadBase,
  loadCases,
  newRequestId,
  playWebSocket,
  routeAccepted,
  send,
  startGatewayRun,
  withRequestId,
  type CaseCondition,
  type CaseRequest,
  type ConformanceCase,
  type GatewayRun,
  type ListenerCertificate,
} from "./gatewayConformanceRunner.js";

/**
 * What ingressd does not do, by design or not yet: skipped, never faked. Keys: a case file
 * (all of it), `file#request N` (1-based, as the it is named), `file#condition N`,
 * `file#gateway ns/name` (every request to that Gateway), `file#extra` (the statistical checks).
 */
const NOT_SUPPORTED: Record<string, string> = {
  "httproute-cors.yaml": "CORS filter (SupportHTTPRouteCORS, extended): ingressd has no HTTPRoute CORS filter yet (the rule answers 500 with a warning, as for any filter it cannot run)",
  "httproute-retry.yaml": "HTTPRoute retry (SupportHTTPRouteRetry, extended): not supported",
  "httproute-retry-connection-error.yaml": "HTTPRoute retry (SupportHTTPRouteRetry, extended): not supported",
  "httproute-retry-with-timeouts.yaml": "HTTPRoute retry (SupportHTTPRouteRetry, extended): not supported",
  "httproute-observed-generation-bump.yaml": "observedGeneration: a folder of YAML has no metadata.generation, ingressd's status conditions carry none",
  ...Object.fromEntries(
    [2, 5, 6, 9, 10, 11, 13].map((n) => [
      `httproute-https-listener-detect-misdirected-requests.yaml#request ${n}`,
      "421 Misdirected Request when Host and SNI pick different listeners (SupportGatewayHTTPSListenerDetectMisdirectedRequests, extended): not yet (the proxy does not compare the Host with the SNI's listener)",
    ]),
  ),
};

const cases = await loadCases();
const base = await loadBase();

/** Why a part of a case is skipped (NOT_SUPPORTED names the case file, a part, or a gateway of it), or undefined to run it. */
function skipped(c: ConformanceCase, part: string, gateway?: string): string | undefined {
  for (const key of [c.file, `${c.file}#${part}`, ...(gateway ? [`${c.file}#gateway ${gateway}`] : [])]) {
    const why = NOT_SUPPORTED[key];
    if (why) return why;
  }
  return undefined;
}

interface RouteDoc {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: { parentRefs?: { name: string; namespace?: string }[] };
}

/** Requests that must match in a row (upstream's RequiredConsecutiveSuccesses). */
const CONSECUTIVE = 3;
/** How long an echo upstream may take to get a mirrored copy. */
const MIRROR_WAIT_MS = 5000;

function requestName(c: ConformanceCase, r: CaseRequest, n: number): string {
  const what = r.testCaseName ?? `${r.request.method} ${r.request.host || "(gateway address)"}${r.request.path}${r.request.headers ? ` ${JSON.stringify(r.request.headers)}` : ""}`;
  const to = gatewaysOf(c).length > 1 ? ` → ${gatewayOfRequest(c, r)}` : "";
  return `request ${n}: ${what}${to}${r.tls ? ` (TLS ${r.tls.serverName})` : ""}${r.request.protocol ? ` (${r.request.protocol})` : ""}`;
}

function conditionName(c: CaseCondition, n: number): string {
  const what =
    c.kind === "GatewayListener"
      ? `listener ${c.listener}: ${c.supportedKinds?.join(",")}, ${c.attachedRoutes} routes`
      : c.kind === "Gateway"
        ? `attachedRoutes ${c.attachedRoutes}`
        : c.noAcceptedParents
          ? "no accepted parent"
          : c.exactParents
            ? `exact parents ${c.exactParents.map((p) => `${p.parentRef.namespace}/${p.parentRef.name}`).join(", ")}`
            : c.latestConditions
              ? "latest conditions"
              : `parent ${c.parent}: ${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ""}`;
  return `condition ${n}: ${c.kind} ${c.name} ${what}`;
}

for (const c of cases) {
  describe(`${c.file} (${c.name})`, () => {
    let fleet: EchoFleet;
    let cert: ListenerCertificate;
    const runs = new Map<string, Promise<GatewayRun>>();
    const gatewayNames = [...base, ...c.manifests].flatMap((d: Document) => {
      const o = d.toJS() as { kind?: string; metadata?: { name?: string; namespace?: string } };
      return o.kind === "Gateway" ? [`${o.metadata?.namespace ?? "default"}/${o.metadata?.name}`] : [];
    });
    /** The Gateway a data reference names; HTTPRouteSimpleSameNamespace writes `ns/` for the Go suite's namespace variable. */
    const resolve = (g: string): string => (gatewayNames.includes(g) ? g : (gatewayNames.find((n) => n.endsWith(`/${g.split("/")[1]}`)) ?? g));
    /** One ingressd per Gateway, started the first time a test needs it. */
    const runOf = (gateway: string): Promise<GatewayRun> => {
      const g = resolve(gateway);
      let run = runs.get(g);
      if (!run) {
        run = startGatewayRun(g, base, c.manifests, fleet, cert);
        runs.set(g, run);
      }
      return run;
    };

    beforeAll(async () => {
      fleet = new EchoFleet();
      cert = await listenerCertificate();
    });
    afterAll(async () => {
      for (const run of runs.values()) await (await run).close();
      await fleet?.close();
    });

    // Upstream's GatewayAndHTTPRoutesMustBeAccepted, before anything else.
    if (c.routes.length > 0) {
      const why = skipped(c, "routes accepted");
      const name = `routes accepted: ${c.routes.join(", ")}`;
      if (why) it.skip(`${name} — skipped: ${why}`);
      else
        it(name, async () => {
          for (const route of c.routes) {
            const doc = c.manifests.map((d) => d.toJS() as RouteDoc).find((o) => o.kind === "HTTPRoute" && `${o.metadata.namespace ?? "default"}/${o.metadata.name}` === route);
            expect(doc, `HTTPRoute ${route} in the case`).toBeDefined();
            const parents = (doc!.spec.parentRefs ?? []).map((p) => `${p.namespace ?? doc!.metadata.namespace ?? "default"}/${p.name}`).filter((g) => gatewayNames.includes(g));
            expect(parents.length, `${route} has a parent Gateway`).toBeGreaterThan(0);
            for (const g of parents) expect(routeAccepted((await runOf(g)).status(), route, g), `${route} by ${g}`).toEqual([]);
          }
        });
    }

    // Upstream asserts status first (the routes must be Accepted before requests are sent).
    (c.conditions ?? []).forEach((cond, i) => {
      const n = i + 1;
      const why = skipped(c, `condition ${n}`);
      const name = conditionName(cond, n);
      if (why) return it.skip(`${name} — skipped: ${why}`);
      it(name, async () => {
        // Status is read from the run of the Gateway it concerns: a route's parent, a Gateway's own.
        const concerned = cond.parent ?? (cond.kind !== "HTTPRoute" ? cond.name : cond.exactParents ? `${cond.exactParents[0]!.parentRef.namespace}/${cond.exactParents[0]!.parentRef.name}` : undefined);
        const gateways = concerned ? [concerned] : gatewaysOf(c);
        for (const g of gateways) expect(checkCondition((await runOf(g)).status(), cond), `run of ${resolve(g)}`).toEqual([]);
      });
    });

    c.requests.forEach((r, i) => {
      const n = i + 1;
      const why = skipped(c, `request ${n}`, gatewayOfRequest(c, r));
      const name = requestName(c, r, n);
      if (why) return it.skip(`${name} — skipped: ${why}`);
      it(name, async () => {
        const run = await runOf(gatewayOfRequest(c, r));
        if (r.before) await run.deleteObject(r.before.delete.kind, r.before.delete.name);
        const echoSet = Object.entries(r.backendSetResponseHeaders ?? {}).map(([k, v]) => `${k}: ${v}`);
        for (let attempt = 0; attempt < CONSECUTIVE; attempt++) {
          // Upstream marks a request whose mirrors it checks with a unique query parameter.
          const id = r.mirroredTo ? newRequestId() : undefined;
          const path = id ? withRequestId(r.request.path, id) : r.request.path;
          const expectedPath = r.expectedRequest?.path && id ? withRequestId(r.expectedRequest.path, id) : r.expectedRequest?.path;
          const reply = await send(run, r, cert.ca.certPem, path, echoSet.length > 0 ? { "X-Echo-Set-Header": echoSet.join(",") } : {});
          expect(compare(run, r, path, reply, expectedPath), `attempt ${attempt + 1}`).toEqual([]);
          // A mirror of a percentage gets a share of the requests, checked by the distribution test below.
          for (const m of r.mirroredTo ?? []) if (m.percent === undefined) await fleet.waitFor(m.backend, m.namespace, expectedPath ?? path, MIRROR_WAIT_MS);
        }
      });
    });

    const ws = c.websocket;
    if (ws) {
      const why = skipped(c, "websocket");
      const name = `WebSocket exchange: ${ws.exchanges.map((e) => JSON.stringify(e.send)).join(", ")}`;
      if (why) it.skip(`${name} — skipped: ${why}`);
      else
        it(name, async () => {
          const run = await runOf(gatewaysOf(c)[0]!);
          for (let attempt = 0; attempt < CONSECUTIVE; attempt++) expect(await playWebSocket(run, "/ws", `ws://gateway/${c.name}`, ws.exchanges), `attempt ${attempt + 1}`).toEqual([]);
        });
    }

    const wd = c.weightedDistribution;
    if (wd) {
      const why = skipped(c, "extra");
      const name = `weighted distribution: ${JSON.stringify(wd.expectedWeights)} over ${wd.totalRequests} requests, ±${wd.tolerance}`;
      if (why) it.skip(`${name} — skipped: ${why}`);
      else
        it(name, async () => {
          const run = await runOf(gatewaysOf(c)[0]!);
          const r: CaseRequest = { request: wd.request, response: { status: 200 }, namespace: wd.namespace };
          // Upstream retries the whole distribution up to maxAttempts times: a share is a sample.
          let last: string[] = [];
          for (let attempt = 0; attempt < wd.maxAttempts; attempt++) {
            last = await weightedAttempt(run, r, wd.totalRequests, wd.concurrency, wd.expectedWeights, wd.tolerance);
            if (last.length === 0) break;
          }
          expect(last).toEqual([]);
        });
    }

    if (c.file === "httproute-request-header-modifier-backend-weights.yaml") {
      const why = skipped(c, "extra");
      const name = "100 requests: each answered by the backend its one Backend request header names";
      if (why) it.skip(`${name} — skipped: ${why}`);
      else
        it(name, async () => {
          const run = await runOf(gatewaysOf(c)[0]!);
          for (let i = 0; i < 100; i++) {
            const reply = await send(run, c.requests[0]!, cert.ca.certPem, "/");
            expect(reply.status).toBe(200);
            const header = reply.echoed?.headers.backend;
            expect(header).toHaveLength(1);
            expect(reply.echoed?.pod.startsWith(header![0]!)).toBe(true);
          }
        });
    }

    c.requests.forEach((r, i) => {
      const shares = (r.mirroredTo ?? []).filter((m) => m.percent !== undefined);
      if (shares.length === 0) return;
      const why = skipped(c, "extra") ?? skipped(c, `request ${i + 1}`);
      const name = `mirror percentages of request ${i + 1}: ${shares.map((m) => `${m.backend} ${m.percent}%`).join(", ")} of ${MIRROR_TOTAL} requests, ±3σ`;
      if (why) return it.skip(`${name} — skipped: ${why}`);
      it(name, async () => {
        const run = await runOf(gatewayOfRequest(c, r));
        // Upstream (testMirroredRequestsDistribution): up to 5 rounds, each with its own request id.
        let last: string[] = [];
        for (let round = 0; round < 5; round++) {
          last = await mirrorRound(run, fleet, r, cert.ca.certPem);
          if (last.length === 0) break;
        }
        expect(last).toEqual([]);
      }, 120_000);
    });
  });
}

/** One round of upstream's weight.TestWeightedDistribution: the share of each backend within tolerance. */
async function weightedAttempt(run: GatewayRun, r: CaseRequest, total: number, concurrency: number, weights: Record<string, number>, tolerance: number): Promise<string[]> {
  const counts = new Map<string, number>();
  const problems: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      next++;
      // Upstream's entropy: half the requests carry a random X-Jitter header.
      const jitter: Record<string, string> = Math.random() < 0.5 ? { "X-Jitter": String(Math.floor(Math.random() * 10000)) } : {};
      const sent: CaseRequest = { ...r, request: { ...r.request, headers: { ...r.request.headers, ...jitter } } };
      const reply = await send(run, sent, "", r.request.path);
      const wrong = compare(run, sent, r.request.path, reply, undefined);
      if (wrong.length > 0) problems.push(...wrong);
      const backend = Object.keys(weights).find((b) => reply.echoed?.pod.startsWith(b));
      if (backend) counts.set(backend, (counts.get(backend) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (problems.length > 0) return problems.slice(0, 5);
  for (const [backend, weight] of Object.entries(weights)) {
    const share = (counts.get(backend) ?? 0) / total;
    if (weight === 0 ? share !== 0 : Math.abs(share - weight) > tolerance) problems.push(`${backend}: share ${share.toFixed(3)}, expected ${weight} ±${tolerance}`);
  }
  return problems;
}

/** Requests per round of the mirror-percentage check, and how many at once (upstream's). */
const MIRROR_TOTAL = 500;
const MIRROR_CONCURRENCY = 10;

/** One round: MIRROR_TOTAL marked requests, then each percentage mirror's count within 3 standard deviations of a binomial. */
async function mirrorRound(run: GatewayRun, fleet: EchoFleet, r: CaseRequest, ca: string): Promise<string[]> {
  const id = newRequestId();
  const path = withRequestId(r.request.path, id);
  const expectedPath = r.expectedRequest?.path ? withRequestId(r.expectedRequest.path, id) : path;
  const problems: string[] = [];
  let sent = 0;
  const worker = async (): Promise<void> => {
    while (sent < MIRROR_TOTAL) {
      sent++;
      const wrong = compare(run, r, path, await send(run, r, ca, path), expectedPath);
      if (wrong.length > 0) problems.push(...wrong);
    }
  };
  await Promise.all(Array.from({ length: MIRROR_CONCURRENCY }, worker));
  if (problems.length > 0) return problems.slice(0, 5);
  const shares = (r.mirroredTo ?? []).filter((m) => m.percent !== undefined);
  const count = (m: { backend: string; namespace: string }): number => fleet.received.filter((e) => e.pod.startsWith(m.backend) && e.namespace === m.namespace && e.path === expectedPath).length;
  // Mirrors are sent beside the answers, not before them: no event says the last one landed, so wait until the counts stop moving (bounded).
  let before = -1;
  for (const deadline = Date.now() + 5000; Date.now() < deadline; ) {
    const now = shares.reduce((n, m) => n + count(m), 0);
    if (now === before) break;
    before = now;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  for (const m of shares) {
    const p = m.percent! / 100;
    const margin = 3 * Math.sqrt(MIRROR_TOTAL * p * (1 - p));
    const got = count(m);
    if (Math.abs(got - MIRROR_TOTAL * p) > margin) problems.push(`${m.backend} got ${got} mirrored requests, expected ${MIRROR_TOTAL * p} ±${margin.toFixed(1)}`);
  }
  return problems;
}
