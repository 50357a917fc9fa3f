import { describe, expect, it } from "vitest";
import { parseHashKey, readAffinity } from "../src/config/nginx/affinity.js";
import { AnnotationReader } from "../src/config/nginx/annotationReader.js";
import type { BalancePolicy } from "../src/model/route.js";
import { affinityCookie } from "../src/proxy/balanceContext.js";
import { roundRobin, type PickContext } from "../src/upstream/balancer.js";
import { hash32, HashRing, POINTS_PER_NODE } from "../src/upstream/consistentHash.js";
import { cookieAffinity, endpointCookieId } from "../src/upstream/cookieAffinity.js";
import { Endpoint } from "../src/upstream/endpoint.js";

// Unit tests of the pieces behind ingress-nginx annotations.md § Session Affinity and
// § Custom NGINX upstream hashing: the ring, the cookie policy, the annotation parsing.

const names = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `10.0.0.${from + i}:8080`);
const keys = (n: number, prefix = "/k/") => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const ringOf = (nodes: string[]) => new HashRing(nodes, (n) => n);

describe("HashRing (ketama-style, 160 points per endpoint)", () => {
  it("hash32 is deterministic and spreads near keys", () => {
    expect(hash32("/k/1")).toBe(hash32("/k/1"));
    expect(hash32("")).toBe(hash32(""));
    const top = new Set(keys(1000).map((k) => hash32(k) >>> 28));
    expect(top.size).toBe(16); // near keys reach every sixteenth of the ring
  });

  it("every node gets a fair share of 30,000 keys (within 35% of even), and the same nodes give the same ring in any order", () => {
    const nodes = names(3);
    const ring = ringOf(nodes);
    const count = new Map<string, number>();
    for (const k of keys(30_000)) count.set(ring.find(hash32(k))!, (count.get(ring.find(hash32(k))!) ?? 0) + 1);
    for (const n of nodes) {
      expect(count.get(n)!, n).toBeGreaterThan(10_000 * 0.65);
      expect(count.get(n)!, n).toBeLessThan(10_000 * 1.35);
    }
    const reordered = ringOf([nodes[2]!, nodes[0]!, nodes[1]!]);
    for (const k of keys(2_000)) expect(reordered.find(hash32(k))).toBe(ring.find(hash32(k)));
  });

  it("a 4th node joins: about a quarter of the keys move, all to it", () => {
    const before = ringOf(names(3));
    const after = ringOf(names(4));
    let moved = 0;
    for (const k of keys(10_000)) {
      const a = before.find(hash32(k));
      const b = after.find(hash32(k));
      if (a === b) continue;
      moved++;
      expect(b).toBe(names(4)[3]);
    }
    expect(moved / 10_000).toBeGreaterThan(0.15);
    expect(moved / 10_000).toBeLessThan(0.35);
  });

  it("a node leaves: only its keys move, spread over all the others", () => {
    const all = names(5);
    const before = ringOf(all);
    const after = ringOf(all.filter((n) => n !== all[2]));
    const targets = new Set<string>();
    for (const k of keys(10_000)) {
      const a = before.find(hash32(k))!;
      const b = after.find(hash32(k))!;
      if (a !== all[2]) expect(b).toBe(a);
      else targets.add(b);
    }
    expect(targets.size).toBe(4);
  });

  it("find with accepted nodes: an unaccepted owner's keys go to ring neighbours, the rest stay; none accepted → undefined", () => {
    const all = names(4);
    const ring = ringOf(all);
    const accept = [all[0]!, all[1]!, all[3]!];
    const targets = new Set<string>();
    for (const k of keys(5_000)) {
      const owner = ring.find(hash32(k))!;
      const got = ring.find(hash32(k), accept)!;
      if (owner !== all[2]) expect(got).toBe(owner);
      else targets.add(got);
    }
    expect(targets).toEqual(new Set(accept));
    expect(ring.find(1, [])).toBeUndefined();
    expect(ringOf([]).find(1)).toBeUndefined();
  });

  it("positionOf(node) draws positions that node owns, across its arcs (the first arc wraps past 2^32)", () => {
    const all = names(3);
    const ring = ringOf(all);
    for (const n of all) {
      const seen = new Set<number>();
      for (let i = 0; i < 2_000; i++) {
        const p = ring.positionOf(n)!;
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThan(2 ** 32);
        expect(ring.find(p)).toBe(n);
        seen.add(p >>> 26);
      }
      expect(seen.size).toBeGreaterThan(20); // spread over the ring, not one arc
    }
    // The extremes of the random draw stay inside the arc.
    for (const r of [0, 0.999999999]) for (const n of all) expect(ring.find(ring.positionOf(n, () => r)!)).toBe(n);
    expect(ringOf([]).positionOf("x")).toBeUndefined();
    expect(POINTS_PER_NODE).toBe(160);
  });
});

// ---------------------------------------------------------------------------------------------

const TIMEOUTS = { connectMs: 1_000, readMs: 1_000 };
const endpoints = (n: number) => Array.from({ length: n }, (_, i) => new Endpoint({ host: "127.0.0.1", port: 20_000 + i }, TIMEOUTS));
const policy = (mode: "balanced" | "persistent"): BalancePolicy => ({ kind: "cookie", name: "INGRESSCOOKIE", mode });

function cookiePolicy(eps: Endpoint[]) {
  const ring = new HashRing(eps, (e) => e.address);
  return cookieAffinity("default/web:80", ring, roundRobin());
}

describe("cookieAffinity", () => {
  it("persistent: a new client is placed round robin with the endpoint's id; its cookie holds while the endpoint is available", () => {
    const eps = endpoints(3);
    const pick = cookiePolicy(eps);
    const placed = [0, 1, 2].map(() => {
      const ctx: PickContext = { clientIp: "c", balance: policy("persistent") };
      const ep = pick(eps, ctx)!;
      expect(ctx.setCookie).toBe(endpointCookieId("default/web:80", ep.address));
      return { ep, cookie: ctx.setCookie! };
    });
    expect(new Set(placed.map((p) => p.ep))).toEqual(new Set(eps));
    for (const p of placed) {
      const ctx: PickContext = { clientIp: "c", balance: policy("persistent"), cookie: p.cookie };
      expect(pick(eps, ctx)).toBe(p.ep);
      expect(ctx.setCookie).toBeUndefined();
    }
    // Out of the available ones: placed anew among them.
    const ctx: PickContext = { clientIp: "c", balance: policy("persistent"), cookie: placed[0]!.cookie };
    const other = pick([eps[1]!, eps[2]!], ctx)!;
    expect(other).not.toBe(placed[0]!.ep);
    expect(ctx.setCookie).toBe(endpointCookieId("default/web:80", other.address));
    // Another backend's id names nothing here.
    const foreign: PickContext = { clientIp: "c", balance: policy("persistent"), cookie: endpointCookieId("default/api:80", eps[0]!.address) };
    pick(eps, foreign);
    expect(foreign.setCookie).toBeDefined();
  });

  it("balanced: a new client gets `<position>|<id>` of where it went; the cookie holds; an endpoint out hands it to a ring neighbour (cookie rewritten), and gets it back", () => {
    const eps = endpoints(3);
    const pick = cookiePolicy(eps);
    const ctx: PickContext = { clientIp: "c", balance: policy("balanced") };
    const ep = pick(eps, ctx)!;
    const [position, id] = ctx.setCookie!.split("|");
    expect(position).toMatch(/^\d+$/);
    expect(id).toBe(endpointCookieId("default/web:80", ep.address));

    const again: PickContext = { clientIp: "c", balance: policy("balanced"), cookie: ctx.setCookie! };
    expect(pick(eps, again)).toBe(ep);
    expect(again.setCookie).toBeUndefined();

    const without = eps.filter((e) => e !== ep);
    const moved: PickContext = { clientIp: "c", balance: policy("balanced"), cookie: ctx.setCookie! };
    const neighbour = pick(without, moved)!;
    expect(neighbour).not.toBe(ep);
    expect(moved.setCookie).toBe(`${position}|${endpointCookieId("default/web:80", neighbour.address)}`);

    const back: PickContext = { clientIp: "c", balance: policy("balanced"), cookie: moved.setCookie! };
    expect(pick(eps, back)).toBe(ep);
    expect(back.setCookie).toBe(ctx.setCookie);
  });

  it("balanced: cookies that are not `<position>|…` are placed anew", () => {
    const eps = endpoints(2);
    const pick = cookiePolicy(eps);
    for (const cookie of ["", "|", "x|y", "4294967296|y", "12345678901|y", "-1|y", "1e3|y"]) {
      const ctx: PickContext = { clientIp: "c", balance: policy("balanced"), cookie };
      expect(pick(eps, ctx), cookie).toBeDefined();
      expect(ctx.setCookie, cookie).toMatch(/^\d+\|[0-9a-f]{32}$/);
    }
    // A well-formed position with a stale id: kept, the id rewritten.
    const ctx: PickContext = { clientIp: "c", balance: policy("balanced"), cookie: "4294967295|stale" };
    pick(eps, ctx);
    expect(ctx.setCookie).toMatch(/^4294967295\|[0-9a-f]{32}$/);
  });

  it("no endpoint available: none, and no cookie", () => {
    const pick = cookiePolicy(endpoints(2));
    for (const mode of ["balanced", "persistent"] as const) {
      const ctx: PickContext = { clientIp: "c", balance: policy(mode) };
      expect(pick([], ctx)).toBeUndefined();
      expect(ctx.setCookie).toBeUndefined();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe("affinity annotations parsed (ingress-nginx § Session Affinity, § Custom NGINX upstream hashing)", () => {
  const read = (annotations: Record<string, string>) => {
    const a = new AnnotationReader(Object.fromEntries(Object.entries(annotations).map(([k, v]) => [`nginx.ingress.kubernetes.io/${k}`, v])));
    return { settings: readAffinity(a), problems: a.problems, unread: a.unread() };
  };

  it("affinity: cookie alone → balanced, INGRESSCOOKIE, no path (translate sets the Ingress path)", () => {
    expect(read({ affinity: "cookie" })).toEqual({ settings: { balance: { kind: "cookie", name: "INGRESSCOOKIE", mode: "balanced" } }, problems: [], unread: [] });
  });

  it("every cookie setting, read as written; all the group's annotations count as supported", () => {
    const r = read({
      affinity: "cookie",
      "affinity-mode": "persistent",
      "session-cookie-name": "route_1",
      "session-cookie-path": "/app",
      "session-cookie-domain": "example.com",
      "session-cookie-max-age": "60",
      "session-cookie-expires": "120",
      "session-cookie-samesite": "NONE",
      "session-cookie-secure": "true",
      "session-cookie-change-on-failure": "true",
    });
    expect(r.problems).toEqual([]);
    expect(r.unread).toEqual([]);
    expect(r.settings.balance).toEqual({
      kind: "cookie",
      name: "route_1",
      path: "/app",
      domain: "example.com",
      maxAgeSeconds: 60,
      expiresSeconds: 120,
      sameSite: "None",
      secure: true,
      mode: "persistent",
      changeOnFailure: true,
    });
  });

  it("a bad affinity is the one error: the cookie settings beside it are not reported as unsupported", () => {
    const r = read({ affinity: "Cookie", "session-cookie-name": "x", "affinity-mode": "persistent" });
    expect(r.problems.map((p) => p.annotation)).toEqual(["nginx.ingress.kubernetes.io/affinity"]);
    expect(r.unread).toEqual([]);
    expect(r.settings).toEqual({});
  });

  it("no affinity, no hash: nothing; an empty affinity or upstream-hash-by is as absent", () => {
    expect(read({}).settings).toEqual({});
    expect(read({ affinity: "", "upstream-hash-by": " " })).toEqual({ settings: {}, problems: [], unread: [] });
  });

  it.each([
    ["$request_uri", [{ variable: "request_uri" }]],
    ["$request_uri$host", [{ variable: "request_uri" }, { variable: "host" }]],
    ["${request_uri}-text-value", [{ variable: "request_uri" }, { text: "-text-value" }]],
    ["$binary_remote_addr", [{ variable: "binary_remote_addr" }]],
    ["$http_X_User", [{ header: "x-user" }]],
    ["$cookie_SESSION-$arg_id", [{ cookie: "SESSION" }, { text: "-" }, { arg: "id" }]],
    ["$remote_addr_x", "unknown variable $remote_addr_x"],
    ["$cookie_", "unknown variable $cookie_"],
    ["abc$", 'a "$" names no variable'],
    ["$uri?", "only letters"],
  ] as const)("upstream-hash-by %s", (key, expected) => {
    const got = parseHashKey(key);
    if (typeof expected === "string") expect(got).toEqual(expect.stringContaining(expected));
    else expect(got).toEqual(expected);
  });

  it("upstream-hash-by: spaces are stripped (as ingress-nginx); the key is kept as written", () => {
    expect(read({ "upstream-hash-by": " $request_uri $host " }).settings.balance).toEqual({ kind: "hash", key: "$request_uri$host", parts: [{ variable: "request_uri" }, { variable: "host" }] });
  });
});

describe("the affinity cookie's attributes", () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  it("ingress-nginx's order, HttpOnly always, Secure when asked for or on HTTPS", () => {
    const base = { kind: "cookie", name: "INGRESSCOOKIE", mode: "balanced" } as const;
    expect(affinityCookie({ ...base, path: "/" }, "v", false, now)).toBe("INGRESSCOOKIE=v; Path=/; HttpOnly");
    expect(affinityCookie({ ...base, path: "/" }, "v", true, now)).toBe("INGRESSCOOKIE=v; Path=/; Secure; HttpOnly");
    expect(affinityCookie({ ...base, path: "/a", maxAgeSeconds: 3600, expiresSeconds: 60, domain: "x.io", sameSite: "Lax", secure: true }, "v", false, now)).toBe(
      "INGRESSCOOKIE=v; Expires=Thu, 01 Jan 2026 12:01:00 GMT; Max-Age=3600; Domain=x.io; Path=/a; Secure; HttpOnly; SameSite=Lax",
    );
  });
});
