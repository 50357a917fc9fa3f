import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { Agent, request, type IncomingMessage } from "node:http";
import { createServer as createNetServer, type Server as NetServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { annotatedServiceYaml, configOf, endpointOf } from "./healthHelpers.js";
import { defaultBackendYaml, get, ingressYaml, nextReload, rulesDir, serviceYaml, startProxy, startUpstream, type RulesDir, type Upstream } from "./helpers.js";
import { dial, echoServer, exchange, l4ServiceYaml, nodePort, type TcpServer } from "./l4Helpers.js";
import { freePort, site, waitFor, type Proxy } from "./proxyHelpers.js";

// ---------------------------------------------------------------------------
// Prometheus text format (0.0.4), read with a small line parser
// ---------------------------------------------------------------------------

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Scrape {
  contentType: string;
  text: string;
  samples: Sample[];
  /** `# TYPE` of each metric family. */
  types: Map<string, string>;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    if (eq === -1 || text[eq + 1] !== '"') throw new Error(`bad labels: ${text}`);
    const name = text.slice(i, eq).trim();
    let value = "";
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === "\\") {
        j++;
        value += text[j] === "n" ? "\n" : text[j];
      } else value += text[j];
    }
    if (j >= text.length) throw new Error(`unterminated label value: ${text}`);
    labels[name] = value;
    i = j + 1;
    if (text[i] === ",") i++;
  }
  return labels;
}

function parseMetrics(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    if (line.startsWith("#")) {
      const m = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (m) types.set(m[1]!, m[2]!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const raw = m[3]!;
    // Special values are case-insensitive, as Prometheus parses them (prom-client writes `Nan`).
    const special: Record<string, number> = { "+inf": Infinity, "-inf": -Infinity, nan: NaN };
    const value = special[raw.toLowerCase()] ?? Number(raw);
    if (Number.isNaN(value) && raw.toLowerCase() !== "nan") throw new Error(`bad value in ${JSON.stringify(line)}`);
    samples.push({ name: m[1]!, labels: m[2] ? parseLabels(m[2]) : {}, value });
  }
  return { samples, types };
}

async function scrape(proxy: Proxy): Promise<Scrape> {
  const res = await get(`${proxy.admin}/metrics`);
  expect(res.status).toBe(200);
  return { contentType: String(res.headers["content-type"]), text: res.body, ...parseMetrics(res.body) };
}

const matches = (s: Sample, name: string, labels: Record<string, string>): boolean =>
  s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v);

/** The one sample of `name` with exactly these labels (all of them given); undefined when absent. */
function value(m: Scrape, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = m.samples.filter((s) => matches(s, name, labels) && Object.keys(s.labels).length === Object.keys(labels).length);
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

/** Sum over every sample of `name` whose labels include these. */
function sum(m: Scrape, name: string, labels: Record<string, string> = {}): number {
  return m.samples.filter((s) => matches(s, name, labels)).reduce((n, s) => n + s.value, 0);
}

function series(m: Scrape, name: string): Sample[] {
  return m.samples.filter((s) => s.name === name);
}

type Stats = { time: number; hosts: Record<string, { requests: number; errors: number }>; routes: Record<string, { requests: number }> };

async function stats(proxy: Proxy): Promise<Stats> {
  const res = await get(`${proxy.admin}/api/stats`);
  expect(res.status).toBe(200);
  return JSON.parse(res.body) as Stats;
}

// ---------------------------------------------------------------------------

describe("request metrics after real traffic", () => {
  let a: Upstream;
  let b: Upstream;
  let deadPort: number;
  let rules: RulesDir;
  let proxy: Proxy;
  let m: Scrape;
  /** Random Host headers that match no rule: they must never become label values. */
  const randomHosts = [`r-${randomUUID()}.example`, `R-${randomUUID()}.Example:8080`];
  const bodyBytes = new Map<string, number>();
  const statuses = new Map<string, number[]>();
  const sent = { a: 7, b: 3, unmatched: 3, dead: 1, hostless: 2 };

  async function send(label: string, url: string, host: string): Promise<void> {
    const res = await get(url, { host });
    bodyBytes.set(label, (bodyBytes.get(label) ?? 0) + Buffer.byteLength(res.body));
    statuses.set(label, [...(statuses.get(label) ?? []), res.status]);
  }

  beforeAll(async () => {
    a = await startUpstream("a");
    b = await startUpstream("b");
    deadPort = await freePort();
    rules = await rulesDir();
    await rules.write("a.yaml", site("a", "a.test", [a.port]));
    await rules.write("b.yaml", `${serviceYaml("b", [b.port])}---\n${ingressYaml("b", "b.test", [{ path: "/api", service: "b" }])}`);
    await rules.write("dead.yaml", site("dead", "dead.test", [deadPort]));
    await rules.write("hostless.yaml", ingressYaml("hostless", null, [{ path: "/hostless", service: "b" }]));
    proxy = await startProxy([rules.dir], { watch: false });

    // Host headers differing in case, port and trailing dot all name rule a.test.
    for (let i = 0; i < sent.a; i++) await send("a", `${proxy.url}/page/${i}`, i === 0 ? "A.Test.:8080" : "a.test");
    for (let i = 0; i < sent.b; i++) await send("b", `${proxy.url}/api/item/${i}`, "b.test");
    // 404s: two unknown hosts, and a known host whose rules have no matching path.
    await send("unmatched", `${proxy.url}/`, randomHosts[0]!);
    await send("unmatched", `${proxy.url}/x`, randomHosts[1]!);
    await send("unmatched", `${proxy.url}/nope`, "b.test");
    // A dead port: the connection is refused, 502.
    await send("dead", `${proxy.url}/`, "dead.test");
    // A rule without host, reached with hosts of no rule of their own.
    await send("hostless", `${proxy.url}/hostless/1`, `h-${randomUUID()}.example`);
    await send("hostless", `${proxy.url}/hostless/2`, "a-different.example");
    m = await scrape(proxy);
  });
  afterAll(async () => {
    await proxy?.close();
    await a?.close();
    await b?.close();
    await rules?.cleanup();
  });

  it("the traffic got the statuses the counts below assume", () => {
    expect(statuses.get("a")).toEqual(Array(sent.a).fill(200));
    expect(statuses.get("b")).toEqual(Array(sent.b).fill(200));
    expect(statuses.get("unmatched")).toEqual([404, 404, 404]);
    expect(statuses.get("dead")).toEqual([502]);
    expect(statuses.get("hostless")).toEqual([200, 200]);
  });

  it("/metrics is Prometheus text format 0.0.4 with the declared types", () => {
    expect(m.contentType).toMatch(/^text\/plain; version=0\.0\.4(;|$)/);
    expect(m.types.get("ingressd_requests_total")).toBe("counter");
    expect(m.types.get("ingressd_request_duration_seconds")).toBe("histogram");
    expect(m.types.get("ingressd_response_bytes_total")).toBe("counter");
    expect(m.types.get("ingressd_upstream_connect_errors_total")).toBe("counter");
    expect(m.types.get("ingressd_active_connections")).toBe("gauge");
    expect(m.types.get("ingressd_config_reloads_total")).toBe("counter");
    expect(m.types.get("ingressd_config_last_reload_successful")).toBe("gauge");
    expect(m.types.get("ingressd_config_errors")).toBe("gauge");
    expect(m.types.get("ingressd_endpoint_up")).toBe("gauge");
    expect(m.types.get("ingressd_l4_connections_total")).toBe("counter");
  });

  it("requests_total counts each request under the matched rule's host, Service and status class", () => {
    expect(value(m, "ingressd_requests_total", { host: "a.test", service: "default/a:80", status_class: "2xx" })).toBe(sent.a);
    expect(sum(m, "ingressd_requests_total", { host: "a.test" })).toBe(sent.a);
    expect(value(m, "ingressd_requests_total", { host: "b.test", service: "default/b:80", status_class: "2xx" })).toBe(sent.b);
    expect(sum(m, "ingressd_requests_total", { host: "b.test" })).toBe(sent.b);
    expect(value(m, "ingressd_requests_total", { host: "_unmatched", service: "", status_class: "4xx" })).toBe(sent.unmatched);
    expect(sum(m, "ingressd_requests_total", { host: "_unmatched" })).toBe(sent.unmatched);
    expect(value(m, "ingressd_requests_total", { host: "*", service: "default/b:80", status_class: "2xx" })).toBe(sent.hostless);
    const total = sent.a + sent.b + sent.unmatched + sent.dead + sent.hostless;
    expect(sum(m, "ingressd_requests_total")).toBe(total);
  });

  it("host labels are rule hosts (or * / _unmatched), never a raw Host header", () => {
    const hosts = new Set(m.samples.filter((s) => s.labels.host !== undefined).map((s) => s.labels.host));
    expect([...hosts].sort()).toEqual(["*", "_unmatched", "a.test", "b.test", "dead.test"]);
    const everyLabelValue = m.samples.flatMap((s) => Object.values(s.labels)).map((v) => v.toLowerCase());
    for (const h of randomHosts) {
      const bare = h.toLowerCase().replace(/:\d+$/, "");
      expect(everyLabelValue.some((v) => v.includes(bare))).toBe(false);
    }
    expect(m.text).not.toContain("a-different.example");
  });

  it("a refused upstream: status_class 5xx and one connect error for that Service and endpoint", () => {
    expect(value(m, "ingressd_requests_total", { host: "dead.test", service: "default/dead:80", status_class: "5xx" })).toBe(1);
    expect(sum(m, "ingressd_requests_total", { host: "dead.test" })).toBe(1);
    expect(value(m, "ingressd_upstream_connect_errors_total", { service: "default/dead:80", endpoint: `127.0.0.1:${deadPort}` })).toBe(1);
    // Healthy Services had none.
    expect(series(m, "ingressd_upstream_connect_errors_total").map((s) => s.labels.service)).toEqual(["default/dead:80"]);
  });

  it("the duration histogram counts every request once, per host and Service", () => {
    const pairs = new Map<string, number>();
    for (const s of series(m, "ingressd_requests_total")) {
      const k = `${s.labels.host}|${s.labels.service}`;
      pairs.set(k, (pairs.get(k) ?? 0) + s.value);
    }
    expect(pairs.size).toBe(5);
    for (const [k, n] of pairs) {
      const [host, service] = k.split("|") as [string, string];
      expect(value(m, "ingressd_request_duration_seconds_count", { host, service }), k).toBe(n);
      expect(value(m, "ingressd_request_duration_seconds_bucket", { host, service, le: "+Inf" }), k).toBe(n);
      expect(value(m, "ingressd_request_duration_seconds_sum", { host, service }), k).toBeGreaterThan(0);
      // Buckets are cumulative.
      const buckets = series(m, "ingressd_request_duration_seconds_bucket")
        .filter((s) => s.labels.host === host && s.labels.service === service)
        .sort((x, y) => Number(x.labels.le) - Number(y.labels.le))
        .map((s) => s.value);
      expect(buckets).toEqual([...buckets].sort((x, y) => x - y));
    }
    expect(value(m, "ingressd_request_duration_seconds_count", { host: "a.test", service: "default/a:80" })).toBe(sent.a);
    expect(sum(m, "ingressd_request_duration_seconds_count")).toBe(sent.a + sent.b + sent.unmatched + sent.dead + sent.hostless);
  });

  it("response_bytes_total adds up the body bytes clients received", () => {
    expect(value(m, "ingressd_response_bytes_total", { host: "a.test", service: "default/a:80" })).toBeGreaterThan(0);
    expect(value(m, "ingressd_response_bytes_total", { host: "a.test", service: "default/a:80" })).toBe(bodyBytes.get("a"));
    expect(value(m, "ingressd_response_bytes_total", { host: "b.test", service: "default/b:80" })).toBe(bodyBytes.get("b"));
    expect(value(m, "ingressd_response_bytes_total", { host: "_unmatched", service: "" })).toBe(bodyBytes.get("unmatched"));
    expect(value(m, "ingressd_response_bytes_total", { host: "dead.test", service: "default/dead:80" })).toBe(bodyBytes.get("dead"));
  });

  it("the default process metrics are there", () => {
    expect(value(m, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(value(m, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
  });

  it("/api/stats has cumulative requests and errors (5xx) per rule host", async () => {
    const s = await stats(proxy);
    expect(typeof s.time).toBe("number");
    expect(s.hosts).toEqual({
      "a.test": { requests: sent.a, errors: 0 },
      "b.test": { requests: sent.b, errors: 0 },
      _unmatched: { requests: sent.unmatched, errors: 0 },
      "dead.test": { requests: 1, errors: 1 },
      "*": { requests: sent.hostless, errors: 0 },
    });
  });

  it("/api/stats moves with further traffic", async () => {
    const before = await stats(proxy);
    await send("a", `${proxy.url}/more`, "a.test");
    await send("dead", `${proxy.url}/`, "dead.test");
    const after = await stats(proxy);
    expect(after.hosts["a.test"]).toEqual({ requests: before.hosts["a.test"]!.requests + 1, errors: 0 });
    expect(after.hosts["dead.test"]).toEqual({ requests: before.hosts["dead.test"]!.requests + 1, errors: before.hosts["dead.test"]!.errors + 1 });
    expect(after.time).toBeGreaterThanOrEqual(before.time);
  });
});

describe("labels of wildcard rules and the default backend", () => {
  let a: Upstream;
  let rules: RulesDir;
  let proxy: Proxy;
  beforeAll(async () => {
    a = await startUpstream("a");
    rules = await rulesDir();
    await rules.write("a.yaml", serviceYaml("a", [a.port]));
    await rules.write("w.yaml", ingressYaml("w", "*.w.test", [{ path: "/", service: "a" }]));
    await rules.write("default.yaml", defaultBackendYaml("a"));
    proxy = await startProxy([rules.dir], { watch: false });
  });
  afterAll(async () => {
    await proxy?.close();
    await a?.close();
    await rules?.cleanup();
  });

  it("a wildcard rule's label is the rule as written, not the subdomain asked for", async () => {
    expect((await get(`${proxy.url}/`, { host: "one.w.test" })).status).toBe(200);
    expect((await get(`${proxy.url}/`, { host: "two.w.test" })).status).toBe(200);
    const m = await scrape(proxy);
    expect(value(m, "ingressd_requests_total", { host: "*.w.test", service: "default/a:80", status_class: "2xx" })).toBe(2);
    expect(m.text).not.toContain("one.w.test");
    expect(m.text).not.toContain("two.w.test");
    expect((await stats(proxy)).hosts["*.w.test"]).toEqual({ requests: 2, errors: 0 });
  });

  it("the default backend's label is *, whatever Host the request had", async () => {
    const host = `d-${randomUUID()}.example`;
    expect((await get(`${proxy.url}/anything`, { host })).status).toBe(200);
    expect((await get(`${proxy.url}/else`, { host: "other.example" })).status).toBe(200);
    const m = await scrape(proxy);
    expect(value(m, "ingressd_requests_total", { host: "*", service: "default/a:80", status_class: "2xx" })).toBe(2);
    expect(sum(m, "ingressd_requests_total", { host: "*" })).toBe(2);
    expect(sum(m, "ingressd_requests_total", { host: "_unmatched" })).toBe(0);
    expect(m.text).not.toContain(host);
    expect(m.text).not.toContain("other.example");
    expect((await stats(proxy)).hosts["*"]).toEqual({ requests: 2, errors: 0 });
  });
});

describe("status classes and durations", () => {
  let up: Upstream;
  let rules: RulesDir;
  let proxy: Proxy;
  beforeAll(async () => {
    // Answers the status named by the path (/status/503), after `?delay=ms` if given.
    up = await startUpstream((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      const status = Number(url.pathname.split("/")[2] ?? "200");
      const answer = (): void => {
        res.writeHead(status, status >= 300 && status < 400 ? { location: "/elsewhere" } : {});
        res.end(`status ${status}\n`);
      };
      req.resume();
      const delay = Number(url.searchParams.get("delay") ?? "0");
      // A slow upstream (simulated latency, not a wait in the test).
      if (delay > 0) setTimeout(answer, delay);
      else answer();
    });
    rules = await rulesDir();
    await rules.write("s.yaml", site("s", "s.test", [up.port]));
    await rules.write("missing.yaml", ingressYaml("missing", "missing.test", [{ path: "/", service: "missing" }]));
    proxy = await startProxy([rules.dir], { watch: false });
  });
  afterAll(async () => {
    await proxy?.close();
    await up?.close();
    await rules?.cleanup();
  });

  it("the upstream's status picks the class, under the matched host (an upstream 404 is not _unmatched)", async () => {
    for (const status of [200, 201, 302, 404, 404, 500, 503]) {
      expect((await get(`${proxy.url}/status/${status}`, { host: "s.test" })).status).toBe(status);
    }
    const m = await scrape(proxy);
    const count = (cls: string): number | undefined => value(m, "ingressd_requests_total", { host: "s.test", service: "default/s:80", status_class: cls });
    expect([count("2xx"), count("3xx"), count("4xx"), count("5xx")]).toEqual([2, 1, 2, 2]);
    expect(sum(m, "ingressd_requests_total", { host: "_unmatched" })).toBe(0);
    expect((await stats(proxy)).hosts["s.test"]).toEqual({ requests: 7, errors: 2 });
  });

  it("a rule whose Service is not defined: 503 under the rule's host and the backend it names", async () => {
    expect((await get(`${proxy.url}/`, { host: "missing.test" })).status).toBe(503);
    const m = await scrape(proxy);
    expect(value(m, "ingressd_requests_total", { host: "missing.test", service: "default/missing:80", status_class: "5xx" })).toBe(1);
    expect((await stats(proxy)).hosts["missing.test"]).toEqual({ requests: 1, errors: 1 });
  });

  it("durations are in seconds: a 300 ms response lands above the 0.25 s bucket", async () => {
    const before = await scrape(proxy);
    const labels = { host: "s.test", service: "default/s:80" };
    expect((await get(`${proxy.url}/status/200?delay=300`, { host: "s.test" })).status).toBe(200);
    const m = await scrape(proxy);
    const delta = (name: string, extra: Record<string, string> = {}): number =>
      (value(m, name, { ...labels, ...extra }) ?? 0) - (value(before, name, { ...labels, ...extra }) ?? 0);
    expect(delta("ingressd_request_duration_seconds_count")).toBe(1);
    expect(delta("ingressd_request_duration_seconds_sum")).toBeGreaterThanOrEqual(0.29);
    expect(delta("ingressd_request_duration_seconds_sum")).toBeLessThan(5); // seconds, not milliseconds
    expect(delta("ingressd_request_duration_seconds_bucket", { le: "0.25" })).toBe(0);
    expect(delta("ingressd_request_duration_seconds_bucket", { le: "+Inf" })).toBe(1);
  });
});

describe("active connections", () => {
  let a: Upstream;
  let rules: RulesDir;
  let proxy: Proxy;
  beforeAll(async () => {
    a = await startUpstream("a");
    rules = await rulesDir();
    await rules.write("a.yaml", site("a", "a.test", [a.port]));
    proxy = await startProxy([rules.dir], { watch: false });
  });
  afterAll(async () => {
    await proxy?.close();
    await a?.close();
    await rules?.cleanup();
  });

  const active = async (): Promise<number | undefined> => value(await scrape(proxy), "ingressd_active_connections", { listener: "http" });

  it('counts an open keep-alive connection under listener="http", and forgets it once closed', async () => {
    // Connections of earlier requests (Connection: close) are gone.
    await waitFor(async () => ((await active()) ?? 0) === 0, "no open client connection");
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        request(`${proxy.url}/`, { headers: { host: "a.test" }, agent }, resolve).on("error", reject).end();
      });
      res.resume();
      await once(res, "end");
      expect(res.statusCode).toBe(200);
      expect(res.headers.connection).toBe("keep-alive");
      // The connection stays open in the agent's pool.
      expect(await active()).toBeGreaterThanOrEqual(1);
      expect(await active()).toBe(1);
    } finally {
      agent.destroy();
    }
    await waitFor(async () => (await active()) === 0, "the closed connection to leave the gauge");
  });
});

describe("series of rules a reload removes", () => {
  let a: Upstream;
  let rules: RulesDir;
  let proxy: Proxy;
  beforeAll(async () => {
    a = await startUpstream("a");
    rules = await rulesDir();
    await rules.write("a.yaml", serviceYaml("a", [a.port]));
    await rules.write("b.yaml", serviceYaml("b", [a.port]));
    await rules.write("keep.yaml", ingressYaml("keep", "keep.test", [{ path: "/", service: "a" }]));
    await rules.write("gone.yaml", ingressYaml("gone", "gone.test", [{ path: "/", service: "a" }]));
    await rules.write("w.yaml", ingressYaml("w", "*.w.test", [{ path: "/a", service: "a" }, { path: "/b", service: "b" }]));
    await rules.write("default.yaml", defaultBackendYaml("a"));
    proxy = await startProxy([rules.dir]);
  });
  afterAll(async () => {
    await proxy?.close();
    await a?.close();
    await rules?.cleanup();
  });

  it("go from /metrics, /api/stats and the route rates with their host, or their Service on a host that stays; the others stay", async () => {
    for (const [host, path] of [["keep.test", "/"], ["gone.test", "/"], ["x.w.test", "/a"], ["x.w.test", "/b"], ["other.example", "/"], ["nothing.test", "/missing"]] as const) {
      await get(`${proxy.url}${path}`, { host });
    }
    await rules.write("default.yaml", ""); // the default backend goes too: unmatched requests now get ingressd's 404
    const m0 = await scrape(proxy);
    expect(value(m0, "ingressd_requests_total", { host: "gone.test", service: "default/a:80", status_class: "2xx" })).toBe(1);
    expect(value(m0, "ingressd_requests_total", { host: "*.w.test", service: "default/b:80", status_class: "2xx" })).toBe(1);
    const reloaded = nextReload(proxy, (s) => s.routes.defaultBackend === undefined && s.routes.routesOf("gone.test").length === 0 && s.routes.routesOf("*.w.test").length === 1);
    await rules.write("gone.yaml", ""); // emptied: its Ingress is gone
    await rules.write("w.yaml", ingressYaml("w", "*.w.test", [{ path: "/a", service: "a" }]));
    await reloaded;
    const m1 = await scrape(proxy);
    expect(sum(m1, "ingressd_requests_total", { host: "gone.test" })).toBe(0);
    expect(sum(m1, "ingressd_requests_total", { host: "*.w.test", service: "default/b:80" })).toBe(0);
    expect(value(m1, "ingressd_requests_total", { host: "*.w.test", service: "default/a:80", status_class: "2xx" })).toBe(1);
    expect(value(m1, "ingressd_requests_total", { host: "keep.test", service: "default/a:80", status_class: "2xx" })).toBe(1);
    expect(sum(m1, "ingressd_requests_total", { host: "*" })).toBe(0);
    const st = await stats(proxy);
    expect(Object.keys(st.hosts).sort()).toEqual(["*.w.test", "keep.test"]);
    expect(Object.keys(st.routes).sort()).toEqual(["*.w.test /a (Prefix)", "keep.test / (Prefix)"]);
  });
});

describe("configuration reload metrics", () => {
  let a: Upstream;
  let rules: RulesDir;
  let proxy: Proxy;
  beforeAll(async () => {
    a = await startUpstream("a");
    rules = await rulesDir();
    await rules.write("a.yaml", site("a", "a.test", [a.port]));
    proxy = await startProxy([rules.dir]);
  });
  afterAll(async () => {
    await proxy?.close();
    await a?.close();
    await rules?.cleanup();
  });

  const reloads = (m: Scrape, result: "success" | "error"): number => value(m, "ingressd_config_reloads_total", { result }) ?? 0;
  const apiErrors = async (): Promise<number> => (await configOf(proxy.admin)).errors.length;

  it("follow successful reloads, a reload bringing a syntax error, and its fix", async () => {
    // The first load counts as successful.
    const m0 = await scrape(proxy);
    expect(value(m0, "ingressd_config_last_reload_successful")).toBe(1);
    const t0 = value(m0, "ingressd_config_last_reload_success_timestamp_seconds")!;
    expect(t0).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(t0).toBeLessThanOrEqual(Date.now() / 1000);
    expect(value(m0, "ingressd_config_errors")).toBe(0);
    expect(reloads(m0, "error")).toBe(0);

    // A good change: success + 1.
    let reloaded = nextReload(proxy);
    await rules.write("b.yaml", site("b", "b.test", [a.port]));
    await reloaded;
    const m1 = await scrape(proxy);
    expect(reloads(m1, "success")).toBe(reloads(m0, "success") + 1);
    expect(reloads(m1, "error")).toBe(0);
    expect(value(m1, "ingressd_config_last_reload_successful")).toBe(1);
    const t1 = value(m1, "ingressd_config_last_reload_success_timestamp_seconds")!;
    expect(t1).toBeGreaterThanOrEqual(t0);

    // A file with a syntax error: error + 1, last reload not successful, one error in the config.
    reloaded = nextReload(proxy);
    await rules.write("c.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: c\n   bad: indentation\n");
    await reloaded;
    const m2 = await scrape(proxy);
    expect(reloads(m2, "error")).toBe(1);
    expect(reloads(m2, "success")).toBe(reloads(m1, "success"));
    expect(value(m2, "ingressd_config_last_reload_successful")).toBe(0);
    expect(value(m2, "ingressd_config_last_reload_success_timestamp_seconds")).toBe(t1);
    expect(value(m2, "ingressd_config_errors")).toBe(1);
    expect(value(m2, "ingressd_config_errors")).toBe(await apiErrors());

    // Fixed: success again, no error left.
    reloaded = nextReload(proxy);
    await rules.write("c.yaml", site("c", "c.test", [a.port]));
    await reloaded;
    const m3 = await scrape(proxy);
    expect(reloads(m3, "success")).toBe(reloads(m2, "success") + 1);
    expect(reloads(m3, "error")).toBe(1);
    expect(value(m3, "ingressd_config_last_reload_successful")).toBe(1);
    expect(value(m3, "ingressd_config_last_reload_success_timestamp_seconds")).toBeGreaterThanOrEqual(t1);
    expect(value(m3, "ingressd_config_errors")).toBe(0);
    expect(await apiErrors()).toBe(0);
    // The fixed file serves.
    expect((await get(`${proxy.url}/`, { host: "c.test" })).status).toBe(200);
  });

  it("config_errors counts every error of the configuration, as /api/config lists them", async () => {
    // Two errors in one file: a schema error and a port the Service lacks.
    const reloaded = nextReload(proxy);
    await rules.write(
      "d.yaml",
      `${serviceYaml("d", [a.port])}---\n${ingressYaml("d", "d.test", [
        { path: "/x", pathType: "Foo", service: "d" },
      ])}---\n${ingressYaml("d2", "d2.test", [{ path: "/", service: "d", port: 8080 }])}`,
    );
    await reloaded;
    const m = await scrape(proxy);
    expect(await apiErrors()).toBe(2);
    expect(value(m, "ingressd_config_errors")).toBe(2);
    expect(value(m, "ingressd_config_last_reload_successful")).toBe(0);
  });
});

describe("endpoint_up", () => {
  let healthy: Upstream;
  let deadPort: number;
  let rules: RulesDir;
  let proxy: Proxy;
  beforeAll(async () => {
    healthy = await startUpstream("healthy");
    deadPort = await freePort();
    rules = await rulesDir();
    await rules.write(
      "flaky.yaml",
      `${annotatedServiceYaml("flaky", [healthy.port, deadPort], { "ingressd.io/max-fails": "1", "ingressd.io/fail-timeout": "60s" })}---\n${ingressYaml("flaky", "flaky.test", [{ path: "/", service: "flaky" }])}`,
    );
    proxy = await startProxy([rules.dir], { watch: false });
  });
  afterAll(async () => {
    await proxy?.close();
    await healthy?.close();
    await rules?.cleanup();
  });

  const up = (m: Scrape, port: number): number | undefined => value(m, "ingressd_endpoint_up", { service: "default/flaky:80", endpoint: `127.0.0.1:${port}` });

  it("is 1 for endpoints in rotation and 0 for one ejected after max-fails refused connections", async () => {
    const before = await scrape(proxy);
    expect(up(before, healthy.port)).toBe(1);
    expect(up(before, deadPort)).toBe(1);

    // Requests until the dead endpoint has been tried once (a refused try moves on to the healthy one).
    let sent = 0;
    await waitFor(
      async () => {
        expect((await get(`${proxy.url}/`, { host: "flaky.test" })).status).toBe(200);
        sent++;
        return !(await endpointOf(proxy.admin, "flaky", deadPort)).inRotation;
      },
      "the dead endpoint to leave rotation",
    );
    expect(sent).toBeLessThanOrEqual(2);
    const m = await scrape(proxy);
    expect(up(m, deadPort)).toBe(0);
    expect(up(m, healthy.port)).toBe(1);
    expect((await endpointOf(proxy.admin, "flaky", healthy.port)).inRotation).toBe(true);
    expect(value(m, "ingressd_upstream_connect_errors_total", { service: "default/flaky:80", endpoint: `127.0.0.1:${deadPort}` })).toBe(1);
    expect(value(m, "ingressd_requests_total", { host: "flaky.test", service: "default/flaky:80", status_class: "2xx" })).toBe(sent);
  });
});

describe("l4_connections_total", () => {
  let echo: TcpServer;
  let port: number;
  let rules: RulesDir;
  let proxy: Proxy;
  beforeAll(async () => {
    echo = await echoServer();
    port = await nodePort();
    rules = await rulesDir();
    await rules.write("tcp.yaml", l4ServiceYaml("tcp", { nodePort: port, endpoints: [echo.port] }));
    proxy = await startProxy([rules.dir], { watch: false });
  });
  afterAll(async () => {
    await proxy?.close();
    await echo?.close();
    await rules?.cleanup();
  });

  it("counts the connections a NodePort listener accepted, by Service and port; open ones are active connections", async () => {
    const before = await scrape(proxy);
    expect(value(before, "ingressd_l4_connections_total", { service: "default/tcp", port: String(port) }) ?? 0).toBe(0);

    const c1 = await dial(port);
    const c2 = await dial(port);
    try {
      // A round trip through each proves the listener accepted it and reached the upstream.
      await exchange(c1, "one\n");
      await exchange(c2, "two\n");
      const m = await scrape(proxy);
      expect(value(m, "ingressd_l4_connections_total", { service: "default/tcp", port: String(port) })).toBe(2);
      expect(value(m, "ingressd_active_connections", { listener: `127.0.0.1:${port}` })).toBe(2);
    } finally {
      c1.socket.destroy();
      c2.socket.destroy();
    }
    const c3 = await dial(port);
    try {
      await exchange(c3, "three\n");
      const m = await scrape(proxy);
      expect(value(m, "ingressd_l4_connections_total", { service: "default/tcp", port: String(port) })).toBe(3);
    } finally {
      c3.socket.destroy();
    }
  });
});

describe("config_errors and a NodePort that cannot be bound", () => {
  let echo: TcpServer;
  let squatter: NetServer;
  let port: number;
  let rules: RulesDir;
  let proxy: Proxy;
  beforeAll(async () => {
    echo = await echoServer();
    port = await nodePort();
    squatter = createNetServer();
    await new Promise<void>((res) => squatter.listen(port, "127.0.0.1", res));
    rules = await rulesDir();
    await rules.write("busy.yaml", l4ServiceYaml("busy", { nodePort: port, endpoints: [echo.port] }));
    proxy = await startProxy([rules.dir], { watch: false });
  });
  afterAll(async () => {
    await proxy?.close();
    await echo?.close();
    await new Promise<void>((res) => (squatter ? squatter.close(() => res()) : res()));
    await rules?.cleanup();
  });

  it("equals the length of /api/config errors, listen-failed included", async () => {
    const doc = await configOf(proxy.admin);
    expect(doc.errors.map((e) => e.code)).toEqual(["listen-failed"]);
    const m = await scrape(proxy);
    expect(value(m, "ingressd_config_errors")).toBe(doc.errors.length);
  });
});
