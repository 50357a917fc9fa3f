import { once } from "node:events";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { nextReload, startUpstream, type Upstream } from "./helpers.js";
import { checkedUpstream, type CheckedUpstream } from "./healthHelpers.js";
import { waitFor } from "./proxyHelpers.js";
import { affinityService, apiConfig, docs, endpointsYaml, getFrom, lineOf, statusOf, whoFrom, World, type Proxy, type Reply } from "./serviceHelpers.js";
import { readFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { echo } from "./helpers.js";
import { httpsGet } from "./tlsHelpers.js";
import { routesCommand } from "../src/commands/routes.js";

// ingress-nginx annotations.md § Session Affinity / § Cookie affinity, and § Custom NGINX
// upstream hashing, through a real ingressd over real upstreams on 127.0.0.1.

const HOST = "sticky.localhost";
const KEY = "default/web:80";
const NGINX = "nginx.ingress.kubernetes.io/";

let w = new World();
/** Upstreams a test starts itself (with their own handlers), closed after it. */
const own: Upstream[] = [];
afterEach(async () => {
  await w.close();
  w = new World();
  await Promise.all(own.splice(0).map((u) => (u.server.listening ? u.close() : Promise.resolve())));
});

/** An Ingress routing `host` `path` to Service `web`, with `nginx.ingress.kubernetes.io/*` annotations (short names). */
function annotatedIngress(annotations: Record<string, string>, opts: { name?: string; host?: string; path?: string; tls?: boolean } = {}): string {
  const entries = Object.entries(annotations);
  const ann = entries.length === 0 ? "" : `\n  annotations:\n${entries.map(([k, v]) => `    ${NGINX}${k}: ${JSON.stringify(v)}`).join("\n")}`;
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${opts.name ?? "web"}${ann}
spec:${opts.tls ? `\n  tls:\n    - hosts: [${opts.host ?? HOST}]` : ""}
  rules:
    - host: ${opts.host ?? HOST}
      http:
        paths:
          - path: ${opts.path ?? "/"}
            pathType: Prefix
            backend:
              service:
                name: web
                port:
                  number: 80
`;
}

const NAMES = ["a", "b", "c", "d"];

/**
 * Service `web` over echo upstreams a, b, c (each answers its name) and an Ingress with
 * `annotations`; Service, Endpoints and Ingress in separate files, each editable alone.
 */
async function stickySite(annotations: Record<string, string>, opts: { path?: string; service?: Parameters<typeof affinityService>[1]; upstreams?: Upstream[] } = {}) {
  const ups = opts.upstreams ?? (await w.upstreams(["a", "b", "c"]));
  const rules = await w.rules({
    "svc.yaml": affinityService("web", opts.service),
    "endpoints.yaml": endpointsYaml("web", ups.map((u) => u.port)),
    "ing.yaml": annotatedIngress(annotations, { path: opts.path ?? "/" }),
  });
  const proxy = await w.proxy(rules);
  return {
    ups,
    rules,
    proxy,
    /** Rewrites the Endpoints to `ups` and waits until the pool has that many endpoints. */
    async setEndpoints(list: Upstream[]): Promise<void> {
      const reloaded = nextReload(proxy, (s) => s.pools.get(KEY)?.endpoints.length === list.length);
      await rules.write("endpoints.yaml", endpointsYaml("web", list.map((u) => u.port)));
      await reloaded;
    },
  };
}

/** One GET as a browser would send it: with `cookie` (a `name=value`) if any. */
async function visit(proxy: Proxy, cookie?: string, path = "/", from = "127.0.0.1"): Promise<Reply & { name: string; setCookie: string[] }> {
  const res = await getFrom(`${proxy.url}${path}`, from, { host: HOST, ...(cookie ? { cookie } : {}) });
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${res.body.trim()}`);
  return { ...res, name: (JSON.parse(res.body) as { name: string }).name, setCookie: res.headers["set-cookie"] ?? [] };
}

/** `name=value` of the first Set-Cookie (what a browser sends back). */
function pairOf(setCookie: string): string {
  return setCookie.split(";")[0]!;
}

/** A new session: the first visit, which must set the cookie; its endpoint and the cookie to send back. */
async function newSession(proxy: Proxy): Promise<{ name: string; cookie: string }> {
  const first = await visit(proxy);
  expect(first.setCookie, "the first response sets the affinity cookie").toHaveLength(1);
  return { name: first.name, cookie: pairOf(first.setCookie[0]!) };
}

// ---------------------------------------------------------------------------------------------

describe("Cookie affinity (ingress-nginx annotations.md § Session Affinity, § Cookie affinity)", () => {
  it("the first response sets INGRESSCOOKIE (Path = the Ingress path, HttpOnly, no address in it); with the cookie, 20 requests reach one upstream and get no Set-Cookie", async () => {
    const s = await stickySite({ affinity: "cookie" }, { path: "/app" });
    const first = await visit(s.proxy, undefined, "/app/x");
    expect(first.setCookie).toHaveLength(1);
    const set = first.setCookie[0]!;
    expect(set).toMatch(/^INGRESSCOOKIE=\d+\|[0-9a-f]{32}; Path=\/app; HttpOnly$/);
    for (const u of s.ups) expect(set).not.toContain(String(u.port));
    expect(set).not.toContain("127.0.0.1");

    const cookie = pairOf(set);
    const names: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await visit(s.proxy, `other=1; ${cookie}`, `/app/${i}`);
      expect(r.setCookie, `request ${i}`).toEqual([]);
      names.push(r.name);
    }
    expect(new Set(names)).toEqual(new Set([first.name]));
    const served = s.ups.find((u, i) => NAMES[i] === first.name)!;
    expect(served.received.length).toBe(21);
  });

  it("new sessions are spread: three clients without a cookie land on the three upstreams, each then stays on its own", async () => {
    const s = await stickySite({ affinity: "cookie" });
    const sessions = [await newSession(s.proxy), await newSession(s.proxy), await newSession(s.proxy)];
    expect(new Set(sessions.map((x) => x.name))).toEqual(new Set(["a", "b", "c"]));
    for (let round = 0; round < 5; round++) {
      for (const session of sessions) expect((await visit(s.proxy, session.cookie)).name).toBe(session.name);
    }
  });

  it("session-cookie-* attributes, in ingress-nginx's order: Expires; Max-Age; Domain; Path; Secure; HttpOnly; SameSite", async () => {
    const s = await stickySite({
      affinity: "cookie",
      "session-cookie-name": "route",
      "session-cookie-path": "/shop",
      "session-cookie-max-age": "3600",
      "session-cookie-expires": "172800",
      "session-cookie-samesite": "Strict",
      "session-cookie-secure": "true",
      "session-cookie-domain": ".sticky.localhost",
    });
    const before = Date.now();
    const r = await visit(s.proxy);
    const m = /^route=(\d+\|[0-9a-f]{32}); Expires=([^;]+); Max-Age=3600; Domain=\.sticky\.localhost; Path=\/shop; Secure; HttpOnly; SameSite=Strict$/.exec(r.setCookie[0] ?? "");
    expect(m, r.setCookie[0]).not.toBeNull();
    const expires = Date.parse(m![2]!);
    expect(expires).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 172_800_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 172_800_000);
    // The cookie by its own name is what keeps the session; INGRESSCOOKIE means nothing here.
    expect((await visit(s.proxy, `route=${m![1]}`)).setCookie).toEqual([]);
    expect((await visit(s.proxy, `INGRESSCOOKIE=${m![1]}`)).setCookie).toHaveLength(1);
  });

  it("SameSite is sent in its canonical spelling (lax → Lax); without session-cookie-secure, plain HTTP gets no Secure", async () => {
    const s = await stickySite({ affinity: "cookie", "session-cookie-samesite": "lax", "session-cookie-secure": "false" });
    expect((await visit(s.proxy)).setCookie[0]).toMatch(/^INGRESSCOOKIE=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/);
  });

  it("over HTTPS the cookie is Secure without session-cookie-secure (as ingress-nginx: Secure iff the request is HTTPS)", async () => {
    const ups = await w.upstreams(["a", "b", "c"]);
    const rules = await w.rules({
      "svc.yaml": docs(affinityService("web"), endpointsYaml("web", ups.map((u) => u.port))),
      "ing.yaml": annotatedIngress({ affinity: "cookie", "session-cookie-samesite": "None" }, { tls: true }),
    });
    const dataDir = await mkdtemp(join(tmpdir(), "ingressd-affinity-tls-"));
    try {
      const proxy = await w.proxy(rules, { httpsPort: 0, dataDir });
      const port = await proxy.httpsReady();
      const ca = await readFile(join(dataDir, "ca.crt"), "utf8");
      const res = await httpsGet(port, HOST, "/", { ca, chainOnly: true });
      expect(res.status).toBe(200);
      expect(res.headers["set-cookie"]).toEqual([expect.stringMatching(/^INGRESSCOOKIE=\d+\|[0-9a-f]{32}; Path=\/; Secure; HttpOnly; SameSite=None$/)]);
      const name = (JSON.parse(res.body) as { name: string }).name;
      const again = await httpsGet(port, HOST, "/", { ca, chainOnly: true, headers: { cookie: pairOf(res.headers["set-cookie"]![0]!) } });
      expect(again.headers["set-cookie"]).toBeUndefined();
      expect((JSON.parse(again.body) as { name: string }).name).toBe(name);
    } finally {
      await w.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("a cookie that names nothing (garbage, another backend's, a bad position) places the client anew and resets the cookie", async () => {
    const s = await stickySite({ affinity: "cookie" });
    for (const bad of ["garbage", "12|0123456789abcdef0123456789abcdef", "99999999999|x", "|", ""]) {
      const r = await visit(s.proxy, `INGRESSCOOKIE=${bad}`);
      expect(r.setCookie, bad).toHaveLength(1);
      expect(r.setCookie[0]).toMatch(/^INGRESSCOOKIE=\d+\|[0-9a-f]{32};/);
      // The new cookie holds.
      expect((await visit(s.proxy, pairOf(r.setCookie[0]!))).name).toBe(r.name);
    }
  });

  it("the upstream's own Set-Cookie survives next to the affinity cookie", async () => {
    const withCookie = (name: string) => (req: Parameters<ReturnType<typeof echo>>[0], res: Parameters<ReturnType<typeof echo>>[1]) => {
      res.setHeader("set-cookie", ["app=1; Path=/", "theme=dark"]);
      echo(name)(req, res);
    };
    const ups = await Promise.all(["a", "b", "c"].map((n) => startUpstream(withCookie(n))));
    own.push(...ups);
    const s = await stickySite({ affinity: "cookie" }, { upstreams: ups });
    const r = await visit(s.proxy);
    expect(r.setCookie).toHaveLength(3);
    expect(r.setCookie.slice(0, 2)).toEqual(["app=1; Path=/", "theme=dark"]);
    expect(r.setCookie[2]).toMatch(/^INGRESSCOOKIE=/);
    // With the affinity cookie: only the upstream's.
    expect((await visit(s.proxy, pairOf(r.setCookie[2]!))).setCookie).toEqual(["app=1; Path=/", "theme=dark"]);
  });

  it("the route's cookie decides over the Service's sessionAffinity: ClientIP (one client address, three sessions, three upstreams)", async () => {
    const s = await stickySite({ affinity: "cookie" }, { service: { affinity: "ClientIP", timeoutSeconds: 600 } });
    const sessions = [await newSession(s.proxy), await newSession(s.proxy), await newSession(s.proxy)];
    expect(new Set(sessions.map((x) => x.name)).size).toBe(3);
    // And a session keeps its endpoint from any address.
    expect((await visit(s.proxy, sessions[1]!.cookie, "/", "127.0.0.2")).name).toBe(sessions[1]!.name);
  });

  it("WebSocket upgrades: the 101 sets the cookie; upgrades with it reach the same upstream", async () => {
    /** A WebSocket upstream greeting with its name; its upgrade handshake answered by `ws`. */
    const wsUpstream = async (name: string): Promise<Upstream> => {
      const server = createServer((_req, res) => res.writeHead(426).end());
      const wss = new WebSocketServer({ server });
      wss.on("connection", (ws) => ws.send(name));
      await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
      const received: IncomingMessage[] = [];
      return {
        server,
        port: (server.address() as AddressInfo).port,
        received,
        close: async () => {
          for (const c of wss.clients) c.terminate();
          server.closeAllConnections();
          await new Promise<void>((res) => server.close(() => res()));
        },
      };
    };
    const ups = await Promise.all(["a", "b", "c"].map(wsUpstream));
    own.push(...ups);
    const s = await stickySite({ affinity: "cookie" }, { upstreams: ups });
    const open = async (cookie?: string): Promise<{ name: string; setCookie: string[] }> => {
      const ws = new WebSocket(`ws://127.0.0.1:${s.proxy.httpPort}/`, { headers: { host: HOST, ...(cookie ? { cookie } : {}) } });
      // Both listened for at once: the greeting may come in the same read as the 101.
      const [[res], [data]] = (await Promise.all([once(ws, "upgrade"), once(ws, "message")])) as [[IncomingMessage], [Buffer]];
      ws.close();
      await once(ws, "close");
      return { name: String(data), setCookie: res.headers["set-cookie"] ?? [] };
    };
    const first = await open();
    expect(first.setCookie).toHaveLength(1);
    expect(first.setCookie[0]).toMatch(/^INGRESSCOOKIE=\d+\|[0-9a-f]{32}; Path=\/; HttpOnly$/);
    const cookie = pairOf(first.setCookie[0]!);
    for (let i = 0; i < 5; i++) expect(await open(cookie)).toEqual({ name: first.name, setCookie: [] });
  });

  it("a route without affinity on the same Service is not affected: no cookie, round robin", async () => {
    const s = await stickySite({ affinity: "cookie" }, { path: "/sticky" });
    const reloaded = nextReload(s.proxy, (snap) => snap.routes.lookup("plain.localhost", "/") !== undefined);
    await s.rules.write("plain.yaml", annotatedIngress({}, { name: "plain", host: "plain.localhost" }));
    await reloaded;
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await getFrom(`${s.proxy.url}/`, "127.0.0.1", { host: "plain.localhost" });
      expect(res.headers["set-cookie"]).toBeUndefined();
      seen.push((JSON.parse(res.body) as { name: string }).name);
    }
    expect(new Set(seen).size).toBe(3);
  });

  for (const mode of ["balanced", "persistent"] as const) {
    it(`${mode}: the cookie's endpoint leaves the Endpoints → the next request goes to another and the cookie is reset; it stays there`, async () => {
      const s = await stickySite({ affinity: "cookie", "affinity-mode": mode });
      const session = await newSession(s.proxy);
      if (mode === "persistent") expect(session.cookie).toMatch(/^INGRESSCOOKIE=[0-9a-f]{32}$/);
      const gone = s.ups[NAMES.indexOf(session.name)]!;
      const before = gone.received.length;
      await s.setEndpoints(s.ups.filter((u) => u !== gone));

      const moved = await visit(s.proxy, session.cookie);
      expect(moved.name).not.toBe(session.name);
      expect(moved.setCookie).toHaveLength(1);
      const cookie = pairOf(moved.setCookie[0]!);
      expect(cookie).not.toBe(session.cookie);
      for (let i = 0; i < 5; i++) {
        const r = await visit(s.proxy, cookie);
        expect(r.name).toBe(moved.name);
        expect(r.setCookie).toEqual([]);
      }
      expect(gone.received.length).toBe(before);
    });
  }

  /** Service `web` with active health checks over three checked upstreams. */
  async function checkedSite(mode: "balanced" | "persistent") {
    const ups = await Promise.all(["a", "b", "c"].map((n) => checkedUpstream(n)));
    own.push(...ups);
    const s = await stickySite(
      { affinity: "cookie", "affinity-mode": mode },
      { upstreams: ups, service: { annotations: { "ingressd.io/health-check-path": "/healthz", "ingressd.io/health-check-interval": "100ms" } } },
    );
    const verdict = (u: CheckedUpstream) => s.proxy.runtime.current.pools.get(KEY)?.activeHealth.get(`127.0.0.1:${u.port}`);
    return { ...s, ups, verdict };
  }

  it("balanced: the cookie's endpoint fails its health checks → moved (cookie reset); back in rotation → the session returns to it", async () => {
    const s = await checkedSite("balanced");
    const session = await newSession(s.proxy);
    const sick = s.ups[NAMES.indexOf(session.name)]!;
    sick.health = 503;
    await waitFor(() => s.verdict(sick) === false, "the failing health check");

    const moved = await visit(s.proxy, session.cookie);
    expect(moved.name).not.toBe(session.name);
    expect(moved.setCookie).toHaveLength(1);
    const cookie = pairOf(moved.setCookie[0]!);
    // The position on the ring is kept: only the endpoint it names changed.
    expect(cookie.split("|")[0]).toBe(session.cookie.split("|")[0]);
    expect((await visit(s.proxy, cookie)).name).toBe(moved.name);

    sick.health = 200;
    await waitFor(() => s.verdict(sick) === true, "the passing health check");
    const back = await visit(s.proxy, cookie);
    expect(back.name).toBe(session.name);
    expect(pairOf(back.setCookie[0] ?? "")).toBe(session.cookie);
  });

  it("persistent: the cookie's endpoint fails its health checks → moved (cookie reset); back in rotation → the session stays where it went", async () => {
    const s = await checkedSite("persistent");
    const session = await newSession(s.proxy);
    const sick = s.ups[NAMES.indexOf(session.name)]!;
    sick.health = 503;
    await waitFor(() => s.verdict(sick) === false, "the failing health check");

    const moved = await visit(s.proxy, session.cookie);
    expect(moved.name).not.toBe(session.name);
    expect(moved.setCookie).toHaveLength(1);
    const cookie = pairOf(moved.setCookie[0]!);

    sick.health = 200;
    await waitFor(() => s.verdict(sick) === true, "the passing health check");
    const after = await visit(s.proxy, cookie);
    expect(after.name).toBe(moved.name);
    expect(after.setCookie).toEqual([]);
  });

  it("the cookie's upstream refuses connections: the request is served by another, the session keeps its cookie until the endpoint is out of rotation", async () => {
    const s = await stickySite({ affinity: "cookie", "affinity-mode": "persistent" });
    const session = await newSession(s.proxy);
    await s.ups[NAMES.indexOf(session.name)]!.close();
    // Below max-fails (3): served elsewhere, the cookie untouched (ingress-nginx without change-on-failure).
    const first = await visit(s.proxy, session.cookie);
    expect(first.name).not.toBe(session.name);
    expect(first.setCookie).toEqual([]);
    // Once passive health takes the endpoint out, the session is placed anew.
    let reset: string[] = [];
    for (let i = 0; i < 3 && reset.length === 0; i++) reset = (await visit(s.proxy, session.cookie)).setCookie;
    expect(reset).toHaveLength(1);
  });

  for (const mode of ["balanced", "persistent"] as const) {
    it(`${mode} with session-cookie-change-on-failure: the retry after a refused connection moves the session (the cookie follows), and it stays`, async () => {
      const s = await stickySite({ affinity: "cookie", "affinity-mode": mode, "session-cookie-change-on-failure": "true" });
      const session = await newSession(s.proxy);
      await s.ups[NAMES.indexOf(session.name)]!.close();
      const first = await visit(s.proxy, session.cookie);
      expect(first.name).not.toBe(session.name);
      expect(first.setCookie).toHaveLength(1);
      const cookie = pairOf(first.setCookie[0]!);
      for (let i = 0; i < 3; i++) {
        const r = await visit(s.proxy, cookie);
        expect(r.name).toBe(first.name);
        expect(r.setCookie).toEqual([]);
      }
    });
  }

  it("a new client whose first endpoint refuses is placed on the one that served it", async () => {
    const s = await stickySite({ affinity: "cookie", "affinity-mode": "persistent" });
    await s.ups[0]!.close(); // round robin places the first new client on a
    const r = await visit(s.proxy);
    expect(r.name).not.toBe("a");
    expect(r.setCookie).toHaveLength(1);
    for (let i = 0; i < 3; i++) expect((await visit(s.proxy, pairOf(r.setCookie[0]!))).name).toBe(r.name);
  });

  it("balanced vs persistent: a 4th endpoint joins — persistent sessions all stay; balanced ones move only to it, a minority", async () => {
    const [d] = await w.upstreams(["d"]);
    const moves: Record<string, { moved: number; toD: number; total: number }> = {};
    for (const mode of ["balanced", "persistent"] as const) {
      const s = await stickySite({ affinity: "cookie", "affinity-mode": mode });
      const sessions = [];
      for (let i = 0; i < 60; i++) sessions.push(await newSession(s.proxy));
      await s.setEndpoints([...s.ups, d!]);
      let moved = 0;
      let toD = 0;
      for (const session of sessions) {
        const r = await visit(s.proxy, session.cookie);
        if (r.name === session.name) {
          expect(r.setCookie).toEqual([]);
          continue;
        }
        moved++;
        if (r.name === "d") toD++;
        expect(r.setCookie).toHaveLength(1); // the cookie follows the move
      }
      moves[mode] = { moved, toD, total: sessions.length };
    }
    expect(moves.persistent).toEqual({ moved: 0, toD: 0, total: 60 });
    expect(moves.balanced!.moved).toBeGreaterThan(0);
    expect(moves.balanced!.moved).toBeLessThan(30);
    expect(moves.balanced!.toD).toBe(moves.balanced!.moved);
  });
});

// ---------------------------------------------------------------------------------------------

describe("upstream-hash-by (ingress-nginx annotations.md § Custom NGINX upstream hashing)", () => {
  /** The upstream each path is served by. */
  async function mapping(proxy: Proxy, paths: string[], headers: Record<string, string> = {}): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const p of paths) out.set(p, await whoFrom(proxy, HOST, "127.0.0.1", headers, p));
    return out;
  }

  it("$request_uri: the same URI always reaches the same upstream; different URIs spread over all; no cookie is set", async () => {
    const s = await stickySite({ "upstream-hash-by": "$request_uri" });
    const paths = Array.from({ length: 30 }, (_, i) => `/item/${i}?v=${i % 4}`);
    const first = await mapping(s.proxy, paths);
    for (let round = 0; round < 3; round++) expect(await mapping(s.proxy, paths)).toEqual(first);
    expect(new Set(first.values())).toEqual(new Set(["a", "b", "c"]));
    // The query is part of $request_uri.
    const q = await mapping(s.proxy, Array.from({ length: 30 }, (_, i) => `/item/0?v=${i}`));
    expect(new Set(q.values()).size).toBeGreaterThan(1);
    expect((await getFrom(`${s.proxy.url}/item/1`, "127.0.0.1", { host: HOST })).headers["set-cookie"]).toBeUndefined();
  });

  it("a 4th endpoint joins: of 200 URIs only a minority move, all of them to the new endpoint; it leaves again: every URI is back", async () => {
    const s = await stickySite({ "upstream-hash-by": "$request_uri" });
    const [d] = await w.upstreams(["d"]);
    const paths = Array.from({ length: 200 }, (_, i) => `/k/${i}`);
    const before = await mapping(s.proxy, paths);

    await s.setEndpoints([...s.ups, d!]);
    const after = await mapping(s.proxy, paths);
    const moved = paths.filter((p) => after.get(p) !== before.get(p));
    expect(moved.length).toBeGreaterThan(0);
    expect(moved.length).toBeLessThan(100); // expected ~50 (a quarter); round robin would move ~150
    for (const p of moved) expect(after.get(p), p).toBe("d");

    await s.setEndpoints(s.ups);
    expect(await mapping(s.proxy, paths)).toEqual(before);
  });

  it("an endpoint leaves: only its keys move, spread over the others", async () => {
    const s = await stickySite({ "upstream-hash-by": "$request_uri" });
    const paths = Array.from({ length: 90 }, (_, i) => `/k/${i}`);
    const before = await mapping(s.proxy, paths);
    await s.setEndpoints([s.ups[0]!, s.ups[2]!]);
    const after = await mapping(s.proxy, paths);
    for (const p of paths) {
      if (before.get(p) !== "b") expect(after.get(p), p).toBe(before.get(p));
      else expect(["a", "c"]).toContain(after.get(p));
    }
    const fromB = paths.filter((p) => before.get(p) === "b");
    expect(new Set(fromB.map((p) => after.get(p)))).toEqual(new Set(["a", "c"]));
  });

  it("$http_x_user: one user keeps one upstream whatever the path; users spread; without the header all go to one", async () => {
    const s = await stickySite({ "upstream-hash-by": "$http_x_user" });
    const byUser = new Map<string, string>();
    for (let u = 0; u < 24; u++) {
      const seen = new Set<string>();
      for (const p of ["/", "/a", "/b?x=1"]) seen.add(await whoFrom(s.proxy, HOST, "127.0.0.1", { "x-user": `user${u}` }, p));
      expect(seen.size, `user${u}`).toBe(1);
      byUser.set(`user${u}`, [...seen][0]!);
    }
    expect(new Set(byUser.values())).toEqual(new Set(["a", "b", "c"]));
    const anonymous = await mapping(s.proxy, ["/1", "/2", "/3", "/4"]);
    expect(new Set(anonymous.values()).size).toBe(1);
  });

  it("combinations: ${cookie_team}-$arg_id keeps each (team, id) pair on one upstream, and both parts count", async () => {
    const s = await stickySite({ "upstream-hash-by": "${cookie_team}-$arg_id" });
    const pairs: [string, string][] = [];
    for (let t = 0; t < 6; t++) for (let i = 0; i < 6; i++) pairs.push([`t${t}`, String(i)]);
    const where = new Map<string, string>();
    for (const [team, id] of pairs) {
      const a = await whoFrom(s.proxy, HOST, "127.0.0.1", { cookie: `x=1; team=${team}` }, `/p?id=${id}&z=2`);
      const b = await whoFrom(s.proxy, HOST, "127.0.0.1", { cookie: `team=${team}` }, `/other?z=9&ID=${id}`);
      expect(b, `${team}/${id}`).toBe(a);
      where.set(`${team}/${id}`, a);
    }
    // Varying either part changes the upstream for some pairs.
    const byTeam = (id: string) => new Set([...where].filter(([k]) => k.endsWith(`/${id}`)).map(([, v]) => v));
    const byId = (team: string) => new Set([...where].filter(([k]) => k.startsWith(`${team}/`)).map(([, v]) => v));
    expect(["0", "1", "2", "3", "4", "5"].some((id) => byTeam(id).size > 1)).toBe(true);
    expect(["t0", "t1", "t2", "t3", "t4", "t5"].some((t) => byId(t).size > 1)).toBe(true);
  });

  it("$remote_addr: each client address keeps its upstream", async () => {
    const s = await stickySite({ "upstream-hash-by": "$remote_addr" });
    const seen = new Set<string>();
    for (const from of ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"]) {
      const names = new Set<string>();
      for (const p of ["/", "/x", "/y"]) names.add(await whoFrom(s.proxy, HOST, from, {}, p));
      expect(names.size, from).toBe(1);
      seen.add([...names][0]!);
    }
    expect(seen.size).toBeGreaterThan(1);
  });

  it("with affinity: cookie as well, the cookie decides (and upstream-hash-by is reported as not used)", async () => {
    const s = await stickySite({ affinity: "cookie", "upstream-hash-by": "$request_uri" });
    const sessions = [await newSession(s.proxy), await newSession(s.proxy), await newSession(s.proxy)];
    expect(new Set(sessions.map((x) => x.name)).size).toBe(3);
    const warnings = (await apiConfig(s.proxy)).warnings.filter((x: { message: string }) => x.message.includes("upstream-hash-by"));
    expect(warnings).toEqual([expect.objectContaining({ message: expect.stringContaining("cookie affinity") })]);
  });
});

// ---------------------------------------------------------------------------------------------

describe("The route's balance policy, shown", () => {
  it("/api/config and `routes --explain` say how the route picks endpoints; a route without one says nothing", async () => {
    const s = await stickySite({ affinity: "cookie", "affinity-mode": "persistent", "session-cookie-max-age": "60", "session-cookie-samesite": "Lax" }, { path: "/app" });
    const reloaded = nextReload(s.proxy, (snap) => snap.routes.lookup("hash.localhost", "/") !== undefined);
    await s.rules.write("hash.yaml", annotatedIngress({ "upstream-hash-by": "$http_x_user" }, { name: "hash", host: "hash.localhost" }) + "---\n" + annotatedIngress({}, { name: "plain", host: "plain.localhost" }));
    await reloaded;
    const hosts = (await apiConfig(s.proxy)).hosts;
    expect(hosts[HOST][0].balance).toBe("cookie INGRESSCOOKIE (persistent; Path=/app; Max-Age=60; SameSite=Lax)");
    expect(hosts["hash.localhost"][0].balance).toBe("hash of $http_x_user (consistent)");
    expect(hosts["plain.localhost"][0]).not.toHaveProperty("balance");

    const explained = await routesCommand([s.rules.dir], { ingressClass: "ingressd", format: "text", cwd: s.rules.dir, explain: `http://${HOST}/app/x` });
    expect(explained.output).toContain("  balance: cookie INGRESSCOOKIE (persistent; Path=/app; Max-Age=60; SameSite=Lax)\n");
  });
});

// ---------------------------------------------------------------------------------------------

describe("Session affinity annotations: bad values are errors at their line, on that Ingress alone", () => {
  const cases: [string, Record<string, string>, string, RegExp][] = [
    ["an unknown affinity", { affinity: "sticky" }, "affinity", /must be "cookie".*"sticky"/],
    ["an unknown affinity-mode", { affinity: "cookie", "affinity-mode": "forever" }, "affinity-mode", /"balanced" or "persistent".*"forever"/],
    ["a samesite value not in Strict/Lax/None", { affinity: "cookie", "session-cookie-samesite": "Sometimes" }, "session-cookie-samesite", /Strict, Lax or None.*"Sometimes"/],
    ["a max-age that is not a number", { affinity: "cookie", "session-cookie-max-age": "1h" }, "session-cookie-max-age", /whole number of seconds.*"1h"/],
    ["an expires that is not a number", { affinity: "cookie", "session-cookie-expires": "tomorrow" }, "session-cookie-expires", /whole number of seconds.*"tomorrow"/],
    ["a cookie name with a separator", { affinity: "cookie", "session-cookie-name": "a;b" }, "session-cookie-name", /cookie name.*"a;b"/],
    ["a cookie path not starting with /", { affinity: "cookie", "session-cookie-path": "app" }, "session-cookie-path", /starting with "\/".*"app"/],
    ["session-cookie-secure not a boolean", { affinity: "cookie", "session-cookie-secure": "yes" }, "session-cookie-secure", /"true" or "false".*"yes"/],
    ["an unknown variable in upstream-hash-by", { "upstream-hash-by": "$request_uri$foo" }, "upstream-hash-by", /unknown variable \$foo/],
    ["a character nginx does not allow in upstream-hash-by", { "upstream-hash-by": "$request_uri/x" }, "upstream-hash-by", /only letters/],
  ];

  for (const [what, annotations, bad, message] of cases) {
    it(`${what}: error at nginx.ingress.kubernetes.io/${bad}'s line; the Ingress is not served, a neighbour is`, async () => {
      const [up] = await w.upstreams(["up"]);
      const text = docs(affinityService("web"), endpointsYaml("web", [up!.port]), annotatedIngress(annotations), annotatedIngress({}, { name: "fine", host: "fine.localhost" }));
      const rules = await w.rules({ "all.yaml": text });
      const proxy = await w.proxy(rules);
      const config = await apiConfig(proxy);
      expect(config.errors).toEqual([
        expect.objectContaining({
          severity: "error",
          file: rules.paths["all.yaml"],
          line: lineOf(text, `${NGINX}${bad}:`).line,
          resource: "Ingress default/web",
          message: expect.stringMatching(message),
        }),
      ]);
      expect(config.errors[0].message).toContain(`${NGINX}${bad}`);
      expect(await statusOf(proxy, HOST)).toBe(404);
      expect(await whoFrom(proxy, "fine.localhost")).toBe("up");
    });
  }

  it("an edit to a bad value keeps the Ingress's last good version (its cookie policy still applies)", async () => {
    const s = await stickySite({ affinity: "cookie", "session-cookie-name": "good" });
    expect((await visit(s.proxy)).setCookie[0]).toMatch(/^good=/);
    const reloaded = nextReload(s.proxy);
    const bad = annotatedIngress({ affinity: "cookie", "session-cookie-name": "good", "session-cookie-max-age": "soon" });
    await s.rules.write("ing.yaml", bad);
    await reloaded;
    expect((await apiConfig(s.proxy)).errors).toEqual([
      expect.objectContaining({ line: lineOf(bad, `${NGINX}session-cookie-max-age`).line, message: expect.stringContaining("last good version") }),
    ]);
    const r = await visit(s.proxy);
    expect(r.setCookie[0]).toMatch(/^good=[^;]+; Path=\/; HttpOnly$/);
  });

  it("warnings, not errors: session-cookie-* without affinity; a hash key without a variable; a max-age of 0", async () => {
    const [up] = await w.upstreams(["up"]);
    const text = docs(
      affinityService("web"),
      endpointsYaml("web", [up!.port]),
      annotatedIngress({ "session-cookie-name": "x" }, { name: "one", host: "one.localhost" }),
      annotatedIngress({ "upstream-hash-by": "fixed-text" }, { name: "two", host: "two.localhost" }),
      annotatedIngress({ affinity: "cookie", "session-cookie-max-age": "0" }, { name: "three", host: "three.localhost" }),
    );
    const rules = await w.rules({ "all.yaml": text });
    const proxy = await w.proxy(rules);
    const config = await apiConfig(proxy);
    expect(config.errors).toEqual([]);
    const messages = config.warnings.map((x: { message: string }) => x.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/session-cookie-name has no effect without the affinity: "cookie" annotation/),
        expect.stringMatching(/upstream-hash-by "fixed-text" names no variable/),
        expect.stringMatching(/session-cookie-max-age is 0: the client drops the cookie at once/),
      ]),
    );
    expect(messages.filter((m: string) => m.includes("not supported"))).toEqual([]);
    for (const h of ["one", "two", "three"]) expect(await whoFrom(proxy, `${h}.localhost`)).toBe("up");
  });
});
