import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { checkCommand } from "../src/commands/check.js";
import { NGINX_PREFIX } from "../src/config/nginx/annotationReader.js";
import { compileRewrite } from "../src/proxy/filters/rewriteTarget.js";
import { get, nextReload, rulesDir, serviceYaml, startProxy, startUpstream, type RulesDir, type Upstream } from "./helpers.js";
import { inspect, type Proxy, type Seen } from "./proxyHelpers.js";
import { positionOf } from "./reloadHelpers.js";

/**
 * ingress-nginx's rewrite and redirect annotations (annotations.md § Use Regex, § Rewrite,
 * § X-Forwarded-Prefix Header, § Custom NGINX upstream vhost, § Permanent Redirect,
 * § Temporal Redirect, § Redirect from/to www), through a real ingressd to real upstreams
 * that answer what they received.
 */

interface PathSpec {
  path: string;
  pathType?: string;
  service: string;
}

/** An Ingress with annotations (short names, prefix added) and one rule. */
function annotated(name: string, host: string, annotations: Record<string, string>, paths: PathSpec[]): string {
  const ann = Object.entries(annotations)
    .map(([k, v]) => `    ${NGINX_PREFIX}${k}: "${v}"`)
    .join("\n");
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}${ann ? `\n  annotations:\n${ann}` : ""}
spec:
  rules:
    - host: ${host}
      http:
        paths:
${paths
  .map(
    (p) => `          - path: ${p.path}
            pathType: ${p.pathType ?? "ImplementationSpecific"}
            backend:
              service:
                name: ${p.service}
                port:
                  number: 80`,
  )
  .join("\n")}
`;
}

const docs = (...parts: string[]): string => parts.join("---\n");

let a: Upstream;
let b: Upstream;
/** A WebSocket upstream: records each upgrade request it accepts. */
let wss: WebSocketServer;
const upgrades: IncomingMessage[] = [];
let rules: RulesDir;
let proxy: Proxy;
let port: number;

/** What the upstream saw of a request through ingressd to `host`, or the status when ingressd answered itself. */
async function seen(host: string, target: string): Promise<Seen> {
  const res = await get(`${proxy.url}${target}`, { host });
  if (res.status !== 200) throw new Error(`${host}${target}: ${res.status} ${res.body}`);
  return JSON.parse(res.body) as Seen;
}

async function whoAnswers(host: string, target: string): Promise<string | number> {
  const res = await get(`${proxy.url}${target}`, { host });
  return res.status === 200 ? (JSON.parse(res.body) as Seen).name : res.status;
}

beforeAll(async () => {
  a = await startUpstream(inspect("a"));
  b = await startUpstream(inspect("b"));
  wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  wss.on("connection", (_ws, req) => upgrades.push(req));
  await once(wss, "listening");
  rules = await rulesDir();
  await rules.write("services.yaml", docs(serviceYaml("a", [a.port]), serviceYaml("b", [b.port]), serviceYaml("w", [(wss.address() as AddressInfo).port])));
  await rules.write(
    "regex.yaml",
    docs(
      annotated("regex-a", "regex.test", { "use-regex": "true" }, [{ path: "/foo/.*", service: "a" }]),
      annotated("regex-b", "regex.test", {}, [{ path: "/bar", pathType: "Prefix", service: "b" }]),
      annotated("longest", "longest.test", { "use-regex": "true" }, [
        { path: "/foo/bar/bar", service: "b" },
        { path: "/foo/bar/[A-Z0-9]{3}", service: "a" },
      ]),
      annotated("literal", "literal.test", {}, [{ path: "/foo/.*", service: "a" }]),
      annotated("tie", "tie.test", { "use-regex": "true" }, [
        { path: "/x/.*", service: "a" },
        { path: "/x/a.", service: "b" },
      ]),
    ),
  );
  await rules.write(
    "rewrite.yaml",
    docs(
      annotated("rewrite", "rewrite.test", { "use-regex": "true", "rewrite-target": "/$2", "x-forwarded-prefix": "/something" }, [
        { path: "/something(/|$)(.*)", service: "a" },
      ]),
      annotated("rewrite-prefix", "api.test", { "rewrite-target": "/" }, [{ path: "/api", pathType: "Prefix", service: "a" }]),
      annotated("rewrite-query", "query.test", { "rewrite-target": "/v2/$1?from=v1" }, [{ path: "/v1/(.*)", service: "a" }]),
      annotated("prefix-alone", "prefix-alone.test", { "x-forwarded-prefix": "/p" }, [{ path: "/", pathType: "Prefix", service: "a" }]),
      annotated("same-target", "same.test", { "rewrite-target": "/" }, [
        { path: "/", pathType: "Prefix", service: "a" },
        { path: "/exact", pathType: "Exact", service: "b" },
      ]),
      annotated("approot", "approot.test", { "app-root": "/app1" }, [{ path: "/", pathType: "Prefix", service: "a" }]),
      annotated("approot-elsewhere", "approot2.test", { "app-root": "/app1" }, [{ path: "/app1", pathType: "Prefix", service: "a" }]),
      annotated("approot-other", "approot2.test", {}, [{ path: "/", pathType: "Prefix", service: "b" }]),
      annotated("vhost", "vhost.test", { "upstream-vhost": "internal.svc" }, [{ path: "/", pathType: "Prefix", service: "a" }]),
      annotated("ws", "ws.test", { "rewrite-target": "/$1", "upstream-vhost": "sockets.internal" }, [{ path: "/socket/(.*)", service: "w" }]),
    ),
  );
  await rules.write(
    "redirects.yaml",
    docs(
      annotated("permanent", "permanent.test", { "permanent-redirect": "https://www.google.com" }, [{ path: "/", pathType: "Prefix", service: "a" }]),
      annotated("permanent-308", "permanent308.test", { "permanent-redirect": "https://www.google.com", "permanent-redirect-code": "308" }, [
        { path: "/", pathType: "Prefix", service: "a" },
      ]),
      annotated("temporal", "temporal.test", { "temporal-redirect": "https://example.com/x" }, [{ path: "/", pathType: "Prefix", service: "a" }]),
      annotated("temporal-307", "temporal307.test", { "temporal-redirect": "https://example.com/x", "temporal-redirect-code": "307" }, [
        { path: "/", pathType: "Prefix", service: "a" },
      ]),
      annotated("to-www", "www.example.test", { "from-to-www-redirect": "true" }, [{ path: "/", pathType: "Prefix", service: "a" }]),
      annotated("from-www", "bare.test", { "from-to-www-redirect": "true" }, [{ path: "/", pathType: "Prefix", service: "a" }]),
      annotated("both", "both.test", { "from-to-www-redirect": "true" }, [{ path: "/", pathType: "Prefix", service: "a" }]),
      annotated("www-both", "www.both.test", {}, [{ path: "/", pathType: "Prefix", service: "b" }]),
    ),
  );
  proxy = await startProxy([rules.dir]);
  port = proxy.httpPort;
  const issues = proxy.runtime.current.issues.filter((i) => i.severity === "error");
  if (issues.length > 0) throw new Error(issues.map((i) => i.message).join("; "));
});

afterAll(async () => {
  await proxy?.close();
  await a?.close();
  await b?.close();
  for (const c of wss?.clients ?? []) c.terminate();
  await new Promise<void>((res) => (wss ? wss.close(() => res()) : res()));
  await rules?.cleanup();
});

describe("Use Regex (ingress-nginx annotations.md § Use Regex)", () => {
  it("a regex path matches from the path's start, in any case", async () => {
    expect(await whoAnswers("regex.test", "/foo/x")).toBe("a");
    expect(await whoAnswers("regex.test", "/FOO/X")).toBe("a");
    expect(await whoAnswers("regex.test", "/foo")).toBe(404);
  });

  it("is enforced on every path of the host, also another Ingress's: its Prefix /bar becomes ~* ^/bar", async () => {
    expect(await whoAnswers("regex.test", "/bar")).toBe("b");
    expect(await whoAnswers("regex.test", "/BAR")).toBe("b");
    expect(await whoAnswers("regex.test", "/barbaz")).toBe("b");
  });

  it("the longest expression is tried first (ingress-path-matching.md's warning example)", async () => {
    expect(await whoAnswers("longest.test", "/foo/bar/bar")).toBe("a");
    expect(await whoAnswers("longest.test", "/foo/bar/x1")).toBe(404);
  });

  it("equal lengths: the greater expression (byte order) first, as ingress-nginx sorts its locations, whatever the declaration order", async () => {
    expect(await whoAnswers("tie.test", "/x/ab")).toBe("b");
    expect(await whoAnswers("tie.test", "/x/zz")).toBe("a");
  });

  it("on a host without use-regex or rewrite-target, /foo/.* is a literal prefix", async () => {
    expect(await whoAnswers("literal.test", "/foo/x")).toBe(404);
    expect(await whoAnswers("literal.test", "/foo/.*")).toBe("a");
  });
});

describe("Rewrite (ingress-nginx annotations.md § Rewrite, examples/rewrite)", () => {
  it("rewrite-target /$2 on /something(/|$)(.*): the docs' table, query kept", async () => {
    expect((await seen("rewrite.test", "/something")).url).toBe("/");
    expect((await seen("rewrite.test", "/something/")).url).toBe("/");
    expect((await seen("rewrite.test", "/something/new")).url).toBe("/new");
    expect((await seen("rewrite.test", "/something/new?a=1&b=2")).url).toBe("/new?a=1&b=2");
    expect((await seen("rewrite.test", "/SOMETHING/New")).url).toBe("/New");
  });

  it("the expression applies to the normalized path, as nginx rewrites $uri", async () => {
    expect((await seen("rewrite.test", "/other/../something/x/./y")).url).toBe("/x/y");
  });

  it("rewrite-target makes paths regular expressions, and replaces the whole path: /api + target / sends /?x=1 for /api/users?x=1", async () => {
    expect((await seen("api.test", "/api/users?x=1")).url).toBe("/?x=1");
    expect((await seen("api.test", "/API")).url).toBe("/");
  });

  it("a target with its own query gets the request's after it, with &", async () => {
    expect((await seen("query.test", "/v1/items?page=2")).url).toBe("/v2/items?from=v1&page=2");
    expect((await seen("query.test", "/v1/items")).url).toBe("/v2/items?from=v1");
  });

  it("a rewrite-target equal to the path rewrites nothing on that path (ingress-nginx's needsRewrite)", async () => {
    expect((await seen("same.test", "/a?b=1")).url).toBe("/a?b=1");
    // /exact is rewritten to / (the path differs from the target) and, being a regex, matches /exactly too.
    const exact = await seen("same.test", "/exactly");
    expect([exact.name, exact.url]).toEqual(["b", "/"]);
  });

  it("app-root: a request for / gets 302 to it, query dropped; any other path is proxied", async () => {
    for (const target of ["/", "/?a=1"]) {
      // Made absolute with the Host header as sent, port included (nginx's $http_host).
      const res = await get(`${proxy.url}${target}`, { host: `approot.test:${port}` });
      expect(res.status).toBe(302);
      expect(res.headers.location).toBe(`http://approot.test:${port}/app1`);
    }
    expect((await seen("approot.test", "/app1")).url).toBe("/app1");
    expect((await seen("approot.test", "/index.html")).url).toBe("/index.html");
  });

  it("app-root holds for the whole host, as nginx's server-level `if ($uri = /)`: also where / is another Ingress's path", async () => {
    const res = await get(`${proxy.url}/`, { host: "approot2.test" });
    expect([res.status, res.headers.location]).toEqual([302, "http://approot2.test/app1"]);
    expect(await whoAnswers("approot2.test", "/app1")).toBe("a");
    expect(await whoAnswers("approot2.test", "/other")).toBe("b");
  });
});

describe("X-Forwarded-Prefix Header (ingress-nginx annotations.md § X-Forwarded-Prefix Header)", () => {
  it("is sent along with a rewrite", async () => {
    const up = await seen("rewrite.test", "/something/new");
    expect(up.headers["x-forwarded-prefix"]).toBe("/something");
  });

  it("without rewrite-target it is not sent (as ingress-nginx renders it), and check warns", async () => {
    const up = await seen("prefix-alone.test", "/x");
    expect(up.headers["x-forwarded-prefix"]).toBeUndefined();
    expect(proxy.runtime.current.issues).toEqual(
      expect.arrayContaining([expect.objectContaining({ severity: "warning", message: expect.stringContaining("x-forwarded-prefix has no effect without rewrite-target") })]),
    );
  });
});

describe("Custom NGINX upstream vhost (ingress-nginx annotations.md § Custom NGINX upstream vhost)", () => {
  it("upstream-vhost is the Host sent upstream; X-Forwarded-Host keeps the client's", async () => {
    const up = await seen("vhost.test", "/p");
    expect(up.headers.host).toBe("internal.svc");
    expect(up.headers["x-forwarded-host"]).toBe("vhost.test");
    expect(up.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === "host")).toHaveLength(1);
  });
});

describe("WebSocket upgrades run the same rewrite and headers (ingress-nginx annotations.md § Rewrite)", () => {
  it("the upgrade request reaches the upstream rewritten, with upstream-vhost's Host", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket/chat?room=1`, { headers: { host: "ws.test" } });
    await once(ws, "open");
    const closed = once(ws, "close");
    ws.close();
    await closed;
    const up = upgrades.at(-1)!;
    expect([up.url, up.headers.host]).toEqual(["/chat?room=1", "sockets.internal"]);
  });
});

describe("Permanent and Temporal Redirect (ingress-nginx annotations.md § Permanent Redirect, § Temporal Redirect)", () => {
  async function redirected(host: string, target: string): Promise<[number, string | undefined]> {
    const res = await get(`${proxy.url}${target}`, { host });
    return [res.status, res.headers.location];
  }

  it("permanent-redirect: 301 by default, to the URL as written (neither path nor query appended)", async () => {
    expect(await redirected("permanent.test", "/any/path?q=1")).toEqual([301, "https://www.google.com"]);
    expect(a.received.some((r) => r.headers.host === "permanent.test")).toBe(false);
  });

  it("permanent-redirect-code 308", async () => {
    expect(await redirected("permanent308.test", "/")).toEqual([308, "https://www.google.com"]);
  });

  it("temporal-redirect: 302 by default; temporal-redirect-code 307", async () => {
    expect(await redirected("temporal.test", "/a?b=1")).toEqual([302, "https://example.com/x"]);
    expect(await redirected("temporal307.test", "/a")).toEqual([307, "https://example.com/x"]);
  });
});

describe("Redirect from/to www (ingress-nginx annotations.md § Redirect from/to www)", () => {
  it("host www.example.test: example.test gets 308 to the same URL on www.example.test", async () => {
    const res = await get(`${proxy.url}/foo?a=1`, { host: `example.test:${port}` });
    expect(res.status).toBe(308);
    expect(res.headers.location).toBe(`http://www.example.test:${port}/foo?a=1`);
    expect(await whoAnswers("www.example.test", "/foo")).toBe("a");
  });

  it("host bare.test: www.bare.test gets 308 to bare.test", async () => {
    const res = await get(`${proxy.url}/x/`, { host: "www.bare.test" });
    expect(res.status).toBe(308);
    expect(res.headers.location).toBe("http://bare.test/x/");
  });

  it("no redirect when an Ingress defines the other name itself", async () => {
    expect(await whoAnswers("www.both.test", "/")).toBe("b");
    expect(await whoAnswers("both.test", "/")).toBe("a");
  });
});

describe("bad values: an error at the annotation (ingress-nginx annotations.md; §10 of the research brief)", () => {
  async function check(text: string): Promise<{ lines: string[]; text: string }> {
    const dir = await rulesDir();
    try {
      await dir.write("svc.yaml", serviceYaml("a", [1]));
      await dir.write("ing.yaml", text);
      const res = await checkCommand([dir.dir], { ingressClass: "ingressd", format: "text", cwd: dir.dir });
      expect(res.exitCode).toBe(1);
      return { lines: res.output.trimEnd().split("\n"), text };
    } finally {
      await dir.cleanup();
    }
  }

  const cases: [annotation: string, value: string, message: string][] = [
    ["permanent-redirect-code", "200", `must be a whole number from 300 to 308, not "200"`],
    ["permanent-redirect", "not a url", `must be an http:// or https:// URL (or a path starting with "/"), not "not a url"`],
    ["temporal-redirect", "ftp://example.com/x", `must be an http:// or https:// URL (or a path starting with "/"), not "ftp://example.com/x"`],
    ["temporal-redirect-code", "308", `must be a whole number from 300 to 307, not "308"`],
    ["rewrite-target", "/$host", `may use only the captures $1…$9 of the path's regular expression, not "/$host" (nginx variables are not supported)`],
    ["app-root", "http://x/app1", `must be a path starting with "/" (letters, digits and -._~/:), not "http://x/app1"`],
    ["upstream-vhost", "a b", `must be a host name with an optional port, as a Host header holds, not "a b"`],
    ["use-regex", "yes", `must be "true" or "false", not "yes"`],
    ["from-to-www-redirect", "on", `must be "true" or "false", not "on"`],
  ];

  for (const [annotation, value, message] of cases) {
    it(`${annotation}: "${value}"`, async () => {
      const { lines, text } = await check(annotated("bad", "bad.test", { [annotation]: value }, [{ path: "/", pathType: "Prefix", service: "a" }]));
      const at = positionOf(text, `${NGINX_PREFIX}${annotation}:`);
      expect(lines[0]).toBe(`ing.yaml:${at.line}:${at.col}: error: ${NGINX_PREFIX}${annotation} ${message} (metadata.annotations["${NGINX_PREFIX}${annotation}"])`);
      expect(lines.at(-1)).toMatch(/: 1 error, 0 warnings$/);
    });
  }

  it("permanent-redirect and temporal-redirect together: temporal wins, a warning at permanent-redirect", async () => {
    const dir = await rulesDir();
    try {
      const text = annotated("both", "both.test", { "permanent-redirect": "https://a.test", "temporal-redirect": "https://b.test" }, [{ path: "/", pathType: "Prefix", service: "a" }]);
      await dir.write("ing.yaml", docs(serviceYaml("a", [1]), text));
      const res = await checkCommand([dir.dir], { ingressClass: "ingressd", format: "text", cwd: dir.dir });
      const at = positionOf(docs(serviceYaml("a", [1]), text), `${NGINX_PREFIX}permanent-redirect:`);
      expect(res.output.split("\n")[0]).toBe(
        `ing.yaml:${at.line}:${at.col}: warning: ${NGINX_PREFIX}permanent-redirect is ignored: temporal-redirect is also set, and wins (as in ingress-nginx) (metadata.annotations["${NGINX_PREFIX}permanent-redirect"])`,
      );
      expect(res.exitCode).toBe(0);
    } finally {
      await dir.cleanup();
    }
  });

  it("an empty value is no value, as in ingress-nginx", async () => {
    const dir = await rulesDir();
    try {
      await dir.write("ing.yaml", docs(serviceYaml("a", [1]), annotated("empty", "empty.test", { "rewrite-target": "", "permanent-redirect": "", "upstream-vhost": "" }, [{ path: "/", pathType: "Prefix", service: "a" }])));
      const res = await checkCommand([dir.dir], { ingressClass: "ingressd", format: "text", cwd: dir.dir });
      expect(res.output).toBe("1 file, 3 resources: 0 errors, 0 warnings — ok\n");
    } finally {
      await dir.cleanup();
    }
  });

  it("a regex path that does not compile: an error at the path", async () => {
    const { lines, text } = await check(annotated("bad", "bad.test", { "use-regex": "true" }, [{ path: "/foo(", service: "a" }]));
    const at = positionOf(text, "path: /foo(");
    expect(lines[0]).toMatch(new RegExp(`^ing\\.yaml:${at.line}:${at.col}: error: path "/foo\\(" is not a valid regular expression \\(.+\\); use-regex or rewrite-target makes it one \\(spec\\.rules\\[0\\]\\.http\\.paths\\[0\\]\\.path\\)$`));
  });

  it("a literal path made a regex by another Ingress of its host: an error at that path alone", async () => {
    const text = docs(
      annotated("regex", "bad.test", { "use-regex": "true" }, [{ path: "/ok/.*", service: "a" }]),
      annotated("literal", "bad.test", {}, [{ path: "/x(", pathType: "Prefix", service: "a" }]),
    );
    const { lines } = await check(text);
    const at = positionOf(text, "path: /x(");
    expect(lines[0]).toMatch(new RegExp(`^ing\\.yaml:${at.line}:${at.col}: error: path "/x\\(" is not a valid regular expression \\(.+\\); use-regex or rewrite-target on host bad\\.test makes every path of the host one, as in ingress-nginx \\(spec\\.rules\\[0\\]\\.http\\.paths\\[0\\]\\.path\\)$`));
    expect(lines.at(-1)).toMatch(/: 1 error, 0 warnings$/);
  });
});

describe("reload: a bad value keeps the Ingress's last good version (ingress-nginx annotations.md)", () => {
  it("rewrite-target rewritten to a nginx variable: an error at it, the last good rewrite still serves; the fix serves", async () => {
    const dir = await rulesDir();
    await dir.write("svc.yaml", serviceYaml("a", [a.port]));
    const good = annotated("rw", "rw.test", { "rewrite-target": "/new/$1" }, [{ path: "/old/(.*)", service: "a" }]);
    const path = await dir.write("ing.yaml", good);
    const p = await startProxy([dir.dir]);
    try {
      const through = async (target: string): Promise<string> => JSON.parse((await get(`http://127.0.0.1:${p.httpPort}${target}`, { host: "rw.test" })).body).url;
      expect(await through("/old/x")).toBe("/new/x");

      const bad = good.replace("/new/$1", "/new/$uri");
      const rejected = nextReload(p, (s) => s.issues.some((i) => i.severity === "error"));
      await writeFile(path, bad);
      const snapshot = await rejected;
      const at = positionOf(bad, `${NGINX_PREFIX}rewrite-target:`);
      expect(snapshot.issues).toEqual([
        expect.objectContaining({ severity: "error", file: path, line: at.line, col: at.col, resource: "Ingress default/rw", message: expect.stringContaining("is still served") }),
      ]);
      expect(await through("/old/x")).toBe("/new/x");

      const fixed = nextReload(p, (s) => s.issues.length === 0);
      await writeFile(path, good.replace("/new/$1", "/v2/$1"));
      await fixed;
      expect(await through("/old/x")).toBe("/v2/x");
    } finally {
      await p.close();
      await dir.cleanup();
    }
  });
});

describe("the rewrite substitution (compileRewrite)", () => {
  it("replaces the whole path with the target, $n by the captures (unmatched: nothing), and keeps the query as nginx does", () => {
    const docsExample = compileRewrite("/something(/|$)(.*)", "/$2");
    expect(docsExample("/something", "/something")).toBe("/");
    expect(docsExample("/something/new", "/something/new?a=1")).toBe("/new?a=1");
    expect(docsExample("/something/new", "/something/new?")).toBe("/new");
    expect(compileRewrite("/(a)?b/(.*)", "/$1-$2")("/b/c", "/b/c")).toBe("/-c");
    expect(compileRewrite("/v1/(.*)", "/v2/$1?x=1")("/V1/y", "/V1/y?z=2")).toBe("/v2/y?x=1&z=2");
    expect(compileRewrite("/v1/(.*)", "/v2/$1?")("/v1/y", "/v1/y?z=2")).toBe("/v2/y");
    expect(compileRewrite("/api(.*)", "$1")("/api", "/api")).toBe("/");
    expect(compileRewrite("/x", "/y")("/other", "/other?q")).toBe("/other?q");
  });
});
