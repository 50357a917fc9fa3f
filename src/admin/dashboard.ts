/**
 * The admin dashboard: one self-contained page (no build step, no CDN — the machine
 * may have no internet). Everything it shows comes from `/api/config` and
 * `/api/stats`, polled every 2 s, and `/api/requests/stream` (Server-Sent Events), so
 * the API stays the source of truth. Rates are the server's own (its last seconds), so
 * the first paint has them. DOM is built with textContent only: configuration text and
 * request paths never become markup.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ingressd</title>
<style>
  :root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --muted: #656d76; --line: #d0d7de; --bg: #f6f8fa; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 13px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; }
  header { display: flex; gap: 24px; align-items: baseline; padding: 12px 20px; border-bottom: 1px solid var(--line); background: var(--bg); position: sticky; top: 0; z-index: 1; }
  header h1 { font-size: 17px; margin: 0; }
  .stat b { font-variant-numeric: tabular-nums; }
  main { padding: 8px 20px 40px; }
  section { margin-top: 18px; }
  h2 { font-size: 14px; margin: 0 0 6px; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
  th { font-weight: 600; background: var(--bg); position: sticky; top: 49px; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
  tr.host td { border-top: 2px solid var(--line); }
  code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
  .dot { display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 4px; }
  .up { background: var(--ok); } .down { background: var(--bad); } .pending { background: var(--warn); }
  .ep { white-space: nowrap; margin-right: 10px; }
  .filters { font-size: 12px; }
  .error { color: var(--bad); } .warning { color: var(--warn); } .ok { color: var(--ok); } .muted { color: var(--muted); }
  .issues li { margin: 2px 0; }
  input[type=search] { padding: 4px 8px; width: 260px; border: 1px solid var(--line); border-radius: 6px; }
  .goes { color: #1f2328; margin-left: 16px; }
  #unmatched { margin: 4px 0 0; }
  .recent { max-height: 320px; overflow-y: auto; }
  .recent th { top: 0; }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 18px; }
</style>
</head>
<body>
<header>
  <h1>ingressd</h1>
  <span class="stat">generation <b id="generation">–</b></span>
  <span class="stat">reloaded <b id="reloaded">–</b></span>
  <span class="stat"><b id="errorCount">–</b> errors, <b id="warningCount">–</b> warnings</span>
  <span class="stat"><b id="totalRate">–</b> req/s</span>
  <span class="stat" id="workers"></span>
  <span class="stat" id="source"></span>
  <span class="stat muted" id="updated"></span>
</header>
<main>
  <section id="issuesSection">
    <h2>Errors and warnings</h2>
    <ul class="issues mono" id="issues"></ul>
  </section>
  <section>
    <h2>Routes <input type="search" id="filter" placeholder="filter hosts, paths, services"> <span class="muted" id="window"></span></h2>
    <table>
      <thead><tr><th>Host</th><th>Path</th><th>Type</th><th>Service</th><th>Filters</th><th>Endpoints</th><th class="num">req/s</th><th class="num">5xx/s</th><th>Source</th></tr></thead>
      <tbody id="routes"></tbody>
    </table>
    <p id="unmatched"></p>
  </section>
  <section id="gatewaySection" hidden>
    <h2>Gateway API status</h2>
    <table><thead><tr><th>Resource</th><th>Conditions</th><th class="num">Routes</th></tr></thead><tbody id="gatewayApi"></tbody></table>
  </section>
  <section>
    <h2>Recent requests <input type="search" id="requestFilter" placeholder="filter host, path, status"> <span class="muted" id="requestCount"></span></h2>
    <div class="recent">
      <table><thead><tr><th>Time</th><th>Method</th><th>Host</th><th>Path</th><th class="num">Status</th><th class="num">ms</th><th>Upstream</th></tr></thead><tbody id="requests"></tbody></table>
    </div>
  </section>
  <div class="grid">
    <section>
      <h2>L4 listeners</h2>
      <table><thead><tr><th>Address</th><th>Kind</th><th>Service</th><th>State</th><th class="num">Conns</th></tr></thead><tbody id="listeners"></tbody></table>
    </section>
    <section>
      <h2>TLS hosts</h2>
      <table><thead><tr><th>Host</th><th>Certificate</th><th>Expires</th></tr></thead><tbody id="tls"></tbody></table>
    </section>
    <section>
      <h2>Local CA certificates</h2>
      <div class="muted mono" id="caPath"></div>
      <table><thead><tr><th>Host</th><th>Expires</th></tr></thead><tbody id="localCa"></tbody></table>
    </section>
  </div>
  <section>
    <h2>Configuration files</h2>
    <table><thead><tr><th>File</th><th>Status</th><th class="num">Resources</th></tr></thead><tbody id="files"></tbody></table>
  </section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}
let stats = null; // last /api/stats reading: its rates are the server's own
let config = null;
let recent = []; // the last requests, oldest first (at most 200, as the server keeps)

function fmtRate(n) { return n === undefined ? "–" : n < 10 ? n.toFixed(1) : Math.round(n).toString(); }
// A canary's split: "main:80 90%, canary:80 (canary) 10%".
function backendCell(r) {
  if (!r.backends) return r.backend;
  const total = r.backends.reduce((n, b) => n + b.weight, 0);
  return r.backends.map((b) => b.backend + (b.canary ? " (canary)" : "") + (r.backends.length > 1 ? " " + Math.round((b.weight / total) * 1000) / 10 + "%" : "")).join(", ");
}

function render() {
  if (!config) return;
  $("generation").textContent = config.generation;
  $("reloaded").textContent = new Date(config.lastReload).toLocaleTimeString();
  $("errorCount").textContent = config.errors.length;
  $("warningCount").textContent = config.warnings.length;
  $("errorCount").className = config.errors.length ? "error" : "ok";
  $("totalRate").textContent = fmtRate(stats && stats.total.requestsPerSecond);
  $("window").textContent = stats ? "rates over the last " + stats.windowSeconds + " s" : "";
  $("updated").textContent = "updated " + new Date().toLocaleTimeString();
  // --workers N: the counts above are every worker's; this says how many serve, and their pids.
  const workers = config.workers || [];
  const readyWorkers = workers.filter((w) => w.ready).length;
  $("workers").textContent = workers.length ? workers.length + " workers" + (readyWorkers < workers.length ? " (" + readyWorkers + " ready)" : "") : "";
  $("workers").title = workers.map((w) => "pid " + w.pid + ": " + w.requests + " requests").join("\\n");
  // --source kubernetes: whether the API server is followed, and since when (the last configuration serves meanwhile).
  const source = config.source;
  const cluster = config.cluster;
  if (source && source.kind === "kubernetes") {
    const since = new Date(source.since).toLocaleTimeString();
    $("source").textContent = source.connected ? "Kubernetes API connected" + (cluster && cluster.leader ? " · leader" : "") : "Kubernetes API disconnected since " + since + " · serving the last configuration";
    $("source").className = "stat " + (source.connected ? "ok" : "error");
    $("source").title = (source.server || "") + (source.error ? "\\n" + source.error : "") + "\\nsince " + source.since;
  }

  const issues = [...config.errors, ...config.warnings];
  // An error that dropped a route says where that route's requests go now.
  $("issues").replaceChildren(...(issues.length ? issues.map((i) => el("li", { class: i.severity },
    (i.file ? i.file + ":" + i.line + ":" + i.col + ": " : "") + i.severity + ": " + i.message + (i.field ? " (" + i.field + ")" : ""),
    ...(i.nowGoesTo || []).map((d) => el("div", { class: "goes" }, "→ " + d.text)))) : [el("li", { class: "ok" }, "none")]));

  const health = new Map();
  for (const s of config.services) for (const e of s.endpoints) health.set(s.backend + "|" + e.address, e);
  const filter = $("filter").value.trim().toLowerCase();
  const rows = [];
  const hosts = Object.keys(config.hosts).sort();
  for (const host of hosts) {
    const paths = config.hosts[host].filter((r) => !filter || (host + " " + r.path + " " + r.backend).toLowerCase().includes(filter));
    paths.forEach((r, i) => {
      const eps = r.endpoints.length ? r.endpoints.map((a) => {
        const h = (r.backends || [r]).map((b) => health.get(b.backend + "|" + a)).find(Boolean);
        const state = !h ? "pending" : h.inRotation ? "up" : "down";
        return el("span", { class: "ep mono", title: h ? "passive: " + JSON.stringify(h.passive) + ", active: " + h.active : "" }, el("span", { class: "dot " + state }), a);
      }) : [el("span", { class: "error" }, "no endpoints")];
      const rate = stats && stats.routes[r.key];
      rows.push(el("tr", { class: i === 0 ? "host" : "" },
        el("td", {}, i === 0 ? el("b", {}, host) : ""),
        el("td", { class: "mono" }, r.path + (r.conditions ? " when " + r.conditions : "")), el("td", {}, r.pathType), el("td", { class: "mono" }, backendCell(r)),
        el("td", { class: "filters" }, ...(r.filters.length ? r.filters.map((f) => el("div", {}, f)) : [el("span", { class: "muted" }, "none")])),
        el("td", {}, ...eps),
        el("td", { class: "num" }, fmtRate(rateOf(rate, "requestsPerSecond"))),
        el("td", { class: "num " + (rate && rate.errorsPerSecond > 0 ? "error" : "") }, fmtRate(rateOf(rate, "errorsPerSecond"))),
        el("td", { class: "mono muted" }, r.source.split("/").slice(-2).join("/"))));
    });
  }
  const def = config.defaultBackend;
  if (def && (!filter || ("default backend " + def.backend).toLowerCase().includes(filter))) {
    const rate = stats && stats.routes[def.key];
    rows.push(el("tr", { class: "host", id: "defaultBackend" }, el("td", {}, el("i", {}, "default backend")), el("td", {}, ""), el("td", {}, ""),
      el("td", { class: "mono" }, def.backend), el("td", {}, ""), el("td", { class: "mono" }, def.endpoints.join(", ")),
      el("td", { class: "num" }, fmtRate(rateOf(rate, "requestsPerSecond"))), el("td", { class: "num" }, fmtRate(rateOf(rate, "errorsPerSecond"))),
      el("td", { class: "mono muted", title: def.source }, def.ingress + " " + def.source.split("/").slice(-2).join("/"))));
  }
  $("routes").replaceChildren(...rows);
  $("unmatched").replaceChildren(el("b", {}, "Requests no rule matches: "), config.unmatched);

  // Gateway API resources, as a cluster's status shows them: a condition that does not hold is a warning.
  const gw = config.gatewayApi;
  const gwRows = [];
  const statusCell = (summary) => el("td", { class: summary.includes(" False") || summary.includes("Conflicted") ? "warning" : "ok" }, summary);
  for (const c of gw.gatewayClasses) gwRows.push(el("tr", { class: "host" }, el("td", { class: "mono" }, "GatewayClass " + c.name), statusCell(c.summary), el("td", {}, "")));
  for (const g of gw.gateways) {
    gwRows.push(el("tr", { class: "host" }, el("td", { class: "mono" }, el("b", {}, "Gateway " + g.name)), statusCell(g.summary), el("td", {}, "")));
    for (const l of g.listeners) gwRows.push(el("tr", {}, el("td", { class: "mono" }, "\u00a0\u00a0listener " + l.name + " (" + l.protocol + " " + l.port + ", " + (l.hostname || "any host") + ")"), statusCell(l.summary), el("td", { class: "num" }, l.attachedRoutes)));
  }
  for (const r of gw.httpRoutes) {
    if (!r.parents.length) gwRows.push(el("tr", {}, el("td", { class: "mono" }, "HTTPRoute " + r.name), el("td", { class: "muted" }, "no parent Gateway served by ingressd"), el("td", {}, "")));
    for (const p of r.parents) gwRows.push(el("tr", {}, el("td", { class: "mono" }, "HTTPRoute " + r.name + " \u2192 " + p.parentRef.namespace + "/" + p.parentRef.name + (p.parentRef.sectionName ? " (" + p.parentRef.sectionName + ")" : "")), statusCell(p.summary), el("td", {}, "")));
  }
  $("gatewaySection").hidden = gwRows.length === 0;
  $("gatewayApi").replaceChildren(...gwRows);

  $("listeners").replaceChildren(...(config.listeners.length ? config.listeners.map((l) => el("tr", {},
    el("td", { class: "mono" }, l.address + ":" + l.port), el("td", {}, l.kind), el("td", { class: "mono" }, l.backend),
    el("td", { class: l.state === "error" ? "error" : "ok" }, l.state + (l.error ? ": " + l.error : "")), el("td", { class: "num" }, l.connections))) : [el("tr", {}, el("td", { class: "muted", colspan: "5" }, "none"))]));

  // A local-CA host's expiry is its leaf's, once one is issued.
  const leafEnds = new Map(((config.localCa && config.localCa.leaves) || []).filter((l) => !l.default).map((l) => [l.host, l.notAfter]));
  $("tls").replaceChildren(...(config.tls.length ? config.tls.map((t) => {
    const notAfter = t.notAfter || leafEnds.get(t.host);
    const days = notAfter ? Math.floor((Date.parse(notAfter) - Date.now()) / 86400000) : null;
    return el("tr", {}, el("td", { class: "mono" }, t.host),
      el("td", {}, t.certificate === "secret" ? "Secret " + t.secret : "local CA (issued on demand)"),
      el("td", { class: days !== null && days < 14 && t.certificate === "secret" ? (days < 0 ? "error" : "warning") : "" }, notAfter ? notAfter.slice(0, 10) + " (" + days + " days)" : "–"));
  }) : [el("tr", {}, el("td", { class: "muted", colspan: "3" }, "none"))]));

  const ca = config.localCa;
  $("caPath").textContent = ca ? "CA certificate: " + ca.certPath : "";
  $("localCa").replaceChildren(...(ca && ca.leaves.length ? ca.leaves.map((l) => el("tr", {},
    el("td", { class: "mono" }, l.host + (l.default ? " (default certificate)" : "")),
    el("td", { class: l.daysLeft < 1 ? "warning" : "" }, l.notAfter.slice(0, 16).replace("T", " ") + " UTC (" + l.daysLeft + " days left)"))) : [el("tr", {}, el("td", { class: "muted", colspan: "2" }, ca ? "none issued yet" : "not in use"))]));

  $("files").replaceChildren(...config.files.map((f) => el("tr", {},
    el("td", { class: "mono" }, f.path), el("td", { class: f.status === "ok" ? "ok" : "error" }, f.status + (f.servingLastGood ? " (serving last good version)" : "")),
    el("td", { class: "num" }, f.resources))));
}

// A route with no request yet in the server's window has rate 0, not "unknown".
function rateOf(rate, field) { return stats ? (rate ? rate[field] : 0) : undefined; }

function renderRequests() {
  const filter = $("requestFilter").value.trim().toLowerCase();
  const shown = [];
  for (let i = recent.length - 1; i >= 0 && shown.length < 200; i--) {
    const r = recent[i];
    if (filter && !(r.method + " " + r.host + " " + r.path + " " + r.status + " " + (r.upstream || "")).toLowerCase().includes(filter)) continue;
    shown.push(el("tr", {}, el("td", { class: "mono" }, new Date(r.time).toLocaleTimeString()), el("td", {}, r.method),
      el("td", { class: "mono" }, r.host), el("td", { class: "mono" }, r.path),
      el("td", { class: "num " + (r.status >= 500 || r.status === 499 ? "error" : r.status >= 400 ? "warning" : "") }, r.status),
      el("td", { class: "num" }, r.duration_ms === undefined ? "–" : r.duration_ms), el("td", { class: "mono" }, r.upstream || r.error || "")));
  }
  $("requests").replaceChildren(...(shown.length ? shown : [el("tr", {}, el("td", { class: "muted", colspan: "7" }, recent.length ? "none match the filter" : "none yet"))]));
  $("requestCount").textContent = shown.length + " of the last " + recent.length;
}

async function refresh() {
  try {
    const [c, s] = await Promise.all([fetch("/api/config").then((r) => r.json()), fetch("/api/stats").then((r) => r.json())]);
    config = c;
    stats = s;
    render();
  } catch (err) {
    $("updated").textContent = "admin API unreachable: " + err.message;
  }
}
$("filter").addEventListener("input", render);
$("requestFilter").addEventListener("input", renderRequests);
refresh();
setInterval(refresh, 2000);
renderRequests();
// Live: each event is the requests since the previous one; a reconnect resumes where it left off.
new EventSource("/api/requests/stream").onmessage = (e) => {
  recent = recent.concat(JSON.parse(e.data)).slice(-200);
  renderRequests();
};
</script>
</body>
</html>
`;
