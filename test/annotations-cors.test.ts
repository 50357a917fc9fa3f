import type { ServerResponse, IncomingMessage } from "node:http";
import { connect } from "node:net";
import type { Browser } from "playwright-core";
import { launchChromium } from "./browser.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRulesFile } from "../src/config/parse.js";
import { validateDocuments } from "../src/config/validate.js";
import { originMatcher } from "../src/proxy/filters/originMatcher.js";
import { get, nextReload, serviceYaml, startUpstream, type RulesDir, type Upstream } from "./helpers.js";
import { inspect, proxyWith, rawValues, type Proxy, type Seen } from "./proxyHelpers.js";
import { positionOf } from "./reloadHelpers.js";
import { tlsIngressYaml } from "./tlsHelpers.js";

const P = "nginx.ingress.kubernetes.io/";
const DEFAULT_METHODS = "GET, PUT, POST, DELETE, PATCH, OPTIONS";
const DEFAULT_HEADERS = "DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization";

/** An Ingress routing `host` / to `service`, with nginx annotations given by short name. */
export function corsIngress(name: string, host: string, service: string, annotations: Record<string, string>): string {
  return tlsIngressYaml(name, { hosts: [host], service, annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [P + k, v])) });
}

/** The Access-Control-* headers of a response, by lower-case name. */
function corsHeaders(res: { rawHeaders: string[] }): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    const name = res.rawHeaders[i]!.toLowerCase();
    if (name.startsWith("access-control-")) (out[name] ??= []).push(res.rawHeaders[i + 1]!);
  }
  return out;
}

/** The head of the response to a WebSocket upgrade sent to `port` for `host`. */
async function upgradeHead(port: number, host: string): Promise<string> {
  const client = connect(port, "127.0.0.1");
  client.write(`GET /ws HTTP/1.1\r\nHost: ${host}\r\nOrigin: https://a.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  let head = "";
  for await (const chunk of client) {
    head += (chunk as Buffer).toString("latin1");
    if (head.includes("\r\n\r\n")) break;
  }
  client.destroy();
  return head.slice(0, head.indexOf("\r\n\r\n"));
}

/** An upstream that answers with CORS headers of its own. */
function withOwnCors(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, {
      "Access-Control-Allow-Origin": "https://upstream.example",
      "Access-Control-Allow-Methods": "GET",
      "access-control-max-age": "5",
      "content-type": "text/plain",
    });
    res.end("own");
  });
}

describe("CORS (ingress-nginx annotations.md § Enable CORS)", () => {
  let api: Upstream;
  let own: Upstream;
  let proxy: Proxy;
  let rules: RulesDir;
  const optionsSeen = (): number => api.received.filter((r) => r.method === "OPTIONS").length;

  beforeAll(async () => {
    api = await startUpstream(inspect("api"));
    own = await startUpstream(withOwnCors);
    own.server.on("upgrade", (_req, socket) => {
      socket.end("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nAccess-Control-Allow-Origin: https://upstream.example\r\n\r\n");
    });
    ({ proxy, rules } = await proxyWith({
      "services.yaml": `${serviceYaml("api", [api.port])}---\n${serviceYaml("own", [own.port])}---\n${serviceYaml("empty", [])}`,
      "any.yaml": corsIngress("any", "any.localhost", "api", { "enable-cors": "true" }),
      "list.yaml": corsIngress("list", "list.localhost", "api", { "enable-cors": "true", "cors-allow-origin": "https://*.example.com, http://b.com:8080" }),
      "custom.yaml": corsIngress("custom", "custom.localhost", "api", {
        "enable-cors": "true",
        "cors-allow-origin": "https://app.example.com",
        "cors-allow-credentials": "false",
        "cors-expose-headers": "X-Foo, X-Bar",
        "cors-allow-methods": "PUT, GET",
        "cors-allow-headers": "X-Custom,Content-Type",
        "cors-max-age": "60",
      }),
      "own.yaml": corsIngress("own", "own.localhost", "own", { "enable-cors": "true" }),
      "empty.yaml": corsIngress("empty", "empty.localhost", "empty", { "enable-cors": "true" }),
      "plain.yaml": corsIngress("plain", "plain.localhost", "api", {}),
    }));
  });
  afterAll(async () => {
    await proxy.close();
    await api.close();
    await own.close();
    await rules.cleanup();
  });

  describe("enable-cors alone: origin *", () => {
    it("answers a preflight OPTIONS with 204 and every default header; the upstream never sees it", async () => {
      const before = optionsSeen();
      const res = await get(`${proxy.url}/items`, { host: "any.localhost", origin: "https://a.com", "access-control-request-method": "PUT" }, "OPTIONS");
      expect(res.status).toBe(204);
      expect(corsHeaders(res)).toEqual({
        "access-control-allow-origin": ["*"],
        "access-control-allow-credentials": ["true"],
        "access-control-allow-methods": [DEFAULT_METHODS],
        "access-control-allow-headers": [DEFAULT_HEADERS],
        "access-control-max-age": ["1728000"],
      });
      expect(res.headers["content-type"]).toBe("text/plain charset=UTF-8");
      expect(res.headers["content-length"]).toBe("0");
      expect(res.body).toBe("");
      expect(optionsSeen()).toBe(before);
    });

    it("adds the same headers to a proxied response, with or without an Origin", async () => {
      const variants: Record<string, string>[] = [{ host: "any.localhost" }, { host: "any.localhost", origin: "https://a.com" }];
      for (const headers of variants) {
        const res = await get(`${proxy.url}/items`, headers);
        expect(res.status).toBe(200);
        expect((JSON.parse(res.body) as Seen).name).toBe("api");
        expect(corsHeaders(res)).toEqual({
          "access-control-allow-origin": ["*"],
          "access-control-allow-credentials": ["true"],
          "access-control-allow-methods": [DEFAULT_METHODS],
          "access-control-allow-headers": [DEFAULT_HEADERS],
          "access-control-max-age": ["1728000"],
        });
      }
    });

    it("replaces the upstream's own Access-Control-* headers instead of sending both", async () => {
      const res = await get(`${proxy.url}/`, { host: "own.localhost", origin: "https://a.com" });
      expect(res.body).toBe("own");
      const cors = corsHeaders(res);
      expect(cors["access-control-allow-origin"]).toEqual(["*"]);
      expect(cors["access-control-allow-methods"]).toEqual([DEFAULT_METHODS]);
      expect(cors["access-control-max-age"]).toEqual(["1728000"]);
    });

    it("replaces them on a WebSocket upgrade's 101 too", async () => {
      const head = await upgradeHead(proxy.httpPort, "own.localhost");
      expect(head).toMatch(/^HTTP\/1\.1 101/);
      expect(head.match(/^access-control-allow-origin: .*$/gim)).toEqual(["access-control-allow-origin: *"]);
    });

    it("adds them to ingressd's own answers too (a 503 with no endpoints)", async () => {
      const res = await get(`${proxy.url}/`, { host: "empty.localhost", origin: "https://a.com" });
      expect(res.status).toBe(503);
      expect(corsHeaders(res)["access-control-allow-origin"]).toEqual(["*"]);
    });

    it("a route without enable-cors gets no Access-Control headers and its OPTIONS reaches the upstream", async () => {
      const before = optionsSeen();
      const res = await get(`${proxy.url}/`, { host: "plain.localhost", origin: "https://a.com" }, "OPTIONS");
      expect(res.status).toBe(200);
      expect(corsHeaders(res)).toEqual({});
      expect(optionsSeen()).toBe(before + 1);
    });
  });

  describe("cors-allow-origin: a list with a wildcard subdomain", () => {
    const at = (origin: string, method = "GET") => get(`${proxy.url}/x`, { host: "list.localhost", origin }, method);

    it("echoes an allowed Origin, with the other headers", async () => {
      for (const origin of ["https://x.example.com", "https://api-2.example.com", "http://b.com:8080"]) {
        const res = await at(origin);
        expect(res.status).toBe(200);
        expect(corsHeaders(res)).toEqual({
          "access-control-allow-origin": [origin],
          "access-control-allow-credentials": ["true"],
          "access-control-allow-methods": [DEFAULT_METHODS],
          "access-control-allow-headers": [DEFAULT_HEADERS],
          "access-control-max-age": ["1728000"],
        });
      }
    });

    it("matches case-insensitively, and echoes the Origin as sent", async () => {
      const res = await at("HTTPS://X.Example.COM");
      expect(corsHeaders(res)["access-control-allow-origin"]).toEqual(["HTTPS://X.Example.COM"]);
    });

    it("gives an origin not allowed no Access-Control headers at all", async () => {
      for (const origin of ["https://example.com", "https://a.b.example.com", "http://x.example.com", "https://x.example.com:8443", "http://b.com", "https://evil.com", "https://evil.https://x.example.com", "https://x.example.com.evil.com", "null"]) {
        const res = await at(origin);
        expect(res.status, origin).toBe(200);
        expect(corsHeaders(res), origin).toEqual({});
      }
      expect(corsHeaders(await get(`${proxy.url}/x`, { host: "list.localhost" }))).toEqual({});
    });

    it("answers an allowed origin's OPTIONS itself, and forwards another's to the upstream", async () => {
      const before = optionsSeen();
      const allowed = await at("https://x.example.com", "OPTIONS");
      expect(allowed.status).toBe(204);
      expect(corsHeaders(allowed)["access-control-allow-origin"]).toEqual(["https://x.example.com"]);
      expect(optionsSeen()).toBe(before);

      const other = await at("https://evil.com", "OPTIONS");
      expect(other.status).toBe(200);
      expect((JSON.parse(other.body) as Seen).method).toBe("OPTIONS");
      expect(corsHeaders(other)).toEqual({});
      expect(optionsSeen()).toBe(before + 1);
    });
  });

  describe("cors-allow-credentials false, cors-expose-headers, methods, headers, max-age", () => {
    it("sends the values as written, no Allow-Credentials, and Expose-Headers", async () => {
      for (const method of ["GET", "OPTIONS"]) {
        const res = await get(`${proxy.url}/`, { host: "custom.localhost", origin: "https://app.example.com" }, method);
        expect(res.status).toBe(method === "GET" ? 200 : 204);
        expect(corsHeaders(res)).toEqual({
          "access-control-allow-origin": ["https://app.example.com"],
          "access-control-allow-methods": ["PUT, GET"],
          "access-control-allow-headers": ["X-Custom,Content-Type"],
          "access-control-expose-headers": ["X-Foo, X-Bar"],
          "access-control-max-age": ["60"],
        });
      }
    });
  });

  describe("bad values", () => {
    function issuesOf(annotations: Record<string, string>) {
      const text = corsIngress("bad", "bad.localhost", "api", annotations);
      const parsed = parseRulesFile("bad.yaml", text);
      if (!parsed.ok) throw new Error("unexpected syntax error");
      return { text, result: validateDocuments(parsed.documents) };
    }

    it.each([
      ["cors-allow-origin", "https://ok.com, example.com", /"example\.com", not an origin/],
      ["cors-allow-origin", "https://a.com/path", /"https:\/\/a\.com\/path", not an origin/],
      ["cors-allow-origin", "HTTPS://a.com", /not an origin/],
      ["cors-max-age", "1d", /must be a whole number, not "1d"/],
      ["cors-allow-credentials", "yes", /must be "true" or "false", not "yes"/],
      ["cors-allow-methods", "GET; DROP", /must be a list of methods/],
      ["cors-allow-headers", "X-Custom: 1", /must be a list of header names/],
      ["cors-expose-headers", "X-Foo;", /must be a list of header names/],
    ])("%s: %s is an error at the annotation's line; the Ingress is rejected", (name, value, message) => {
      const { text, result } = issuesOf({ "enable-cors": "true", [name]: value });
      const errors = result.issues.filter((i) => i.severity === "error");
      expect(errors).toHaveLength(1);
      expect(errors[0]!.message).toContain(P + name);
      expect(errors[0]!.message).toMatch(message);
      expect(errors[0]!.line).toBe(positionOf(text, `${P}${name}:`).line);
      expect(result.resources.map((r) => r.kind)).not.toContain("Ingress");
    });

    it("a long bad method list is refused at once (no catastrophic backtracking)", () => {
      const { result } = issuesOf({ "enable-cors": "true", "cors-allow-methods": `${"GET".repeat(5000)}!` });
      expect(result.issues.filter((i) => i.severity === "error")).toHaveLength(1);
    });

    it("cors-* without enable-cors is a warning that it has no effect, not an error", () => {
      const { result } = issuesOf({ "cors-max-age": "nope" });
      expect(result.issues).toHaveLength(1);
      expect(result.issues[0]!.severity).toBe("warning");
      expect(result.issues[0]!.message).toMatch(/cors-max-age has no effect without enable-cors/);
    });

    it("a bad value takes that Ingress out, never its neighbours", async () => {
      const reloaded = nextReload(proxy, (snap) => snap.issues.some((x) => x.message.includes("cors-max-age")));
      await rules.write("bad.yaml", corsIngress("bad", "bad.localhost", "api", { "enable-cors": "true", "cors-max-age": "forever" }));
      const issue = (await reloaded).issues.find((x) => x.message.includes("cors-max-age"))!;
      expect(issue.severity).toBe("error");
      expect((await get(`${proxy.url}/`, { host: "bad.localhost" })).status).toBe(404);
      expect((await get(`${proxy.url}/`, { host: "any.localhost" })).status).toBe(200);
    });
  });
});

describe("CORS origin matcher (ingress-nginx template.go buildOriginRegex, anchored)", () => {
  const allowed = originMatcher(["https://app.example.com", "https://*.example.org", "http://localhost:3000", "null"]);

  it("an exact origin, case-insensitively", () => {
    expect(allowed("https://app.example.com")).toBe(true);
    expect(allowed("HTTPS://App.Example.Com")).toBe(true);
    expect(allowed("http://app.example.com")).toBe(false);
    expect(allowed("https://app.example.com:443")).toBe(false);
    expect(allowed("https://app.example.com/")).toBe(false);
  });

  it("a wildcard stands for exactly one DNS label", () => {
    expect(allowed("https://a.example.org")).toBe(true);
    expect(allowed("https://a-1.example.org")).toBe(true);
    expect(allowed("https://example.org")).toBe(false);
    expect(allowed("https://.example.org")).toBe(false);
    expect(allowed("https://a.b.example.org")).toBe(false);
    expect(allowed("https://a_b.example.org")).toBe(false);
    expect(allowed("https://a.example.org:8443")).toBe(false);
    expect(allowed("https://a.example.org.evil.com")).toBe(false);
  });

  it("the whole Origin must match (ingress-nginx's regex is not anchored at the start)", () => {
    expect(allowed("https://evil.https://app.example.com")).toBe(false);
    expect(allowed("xhttps://app.example.com")).toBe(false);
    expect(allowed("https://evil.com/https://a.example.org")).toBe(false);
  });

  it("ports are compared literally, and `null` is an origin like any other", () => {
    expect(allowed("http://localhost:3000")).toBe(true);
    expect(allowed("http://localhost:3001")).toBe(false);
    expect(allowed("http://localhost")).toBe(false);
    expect(allowed("null")).toBe(true);
    expect(originMatcher(["https://a.com"])("null")).toBe(false);
  });
});

/**
 * A real browser's preflight (Debian's chromium, driven by playwright-core, as
 * dashboard.test.ts): a page on http://app.localhost calls http://api.localhost with a
 * custom header and credentials, so Chromium sends a preflight, which ingressd must answer.
 */
describe("CORS in a real browser (ingress-nginx annotations.md § Enable CORS)", () => {
  let app: Upstream;
  let api: Upstream;
  let proxy: Proxy;
  let rules: RulesDir;
  let browser: Browser;

  beforeAll(async () => {
    app = await startUpstream((req, res) => {
      req.resume();
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<!doctype html><title>app</title>");
    });
    api = await startUpstream(inspect("api"));
    ({ proxy, rules } = await proxyWith({
      "services.yaml": `${serviceYaml("app", [app.port])}---\n${serviceYaml("api", [api.port])}`,
      "app.yaml": corsIngress("app", "*.localhost", "app", {}),
    }));
    // The allowed origin names ingressd's port, known once it listens.
    const reloaded = nextReload(proxy, (s) => s.routes.routes().some((r) => r.match.host === "api.localhost"));
    await rules.write("api.yaml", corsIngress("api", "api.localhost", "api", {
      "enable-cors": "true",
      "cors-allow-origin": `http://app.localhost:${proxy.httpPort}`,
      "cors-allow-headers": "X-Custom,Content-Type",
      "cors-expose-headers": "X-Request-Id",
    }));
    await reloaded;
    browser = await launchChromium(["--host-resolver-rules=MAP *.localhost 127.0.0.1"]);
  });
  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await app?.close();
    await api?.close();
    await rules?.cleanup();
  });

  /** fetch() from a page of `pageHost` to api.localhost: what the page's script gets. */
  async function fetchFrom(pageHost: string): Promise<{ ok: true; status: number; body: string; requestId: string | null } | { ok: false; error: string }> {
    const page = await browser.newPage();
    try {
      await page.goto(`http://${pageHost}:${proxy.httpPort}/`);
      return await page.evaluate(async (url) => {
        try {
          const r = await fetch(url, { method: "PUT", credentials: "include", headers: { "X-Custom": "1", "Content-Type": "application/json" }, body: "{}" });
          return { ok: true as const, status: r.status, body: await r.text(), requestId: r.headers.get("x-request-id") };
        } catch (err) {
          return { ok: false as const, error: String(err) };
        }
      }, `http://api.localhost:${proxy.httpPort}/v1/items`);
    } finally {
      await page.close();
    }
  }

  it("the browser's preflight is answered by ingressd, then its PUT reaches the API with the exposed header readable", async () => {
    const result = await fetchFrom("app.localhost");
    expect(result).toMatchObject({ ok: true, status: 200 });
    if (!result.ok) return;
    const seen = JSON.parse(result.body) as Seen;
    expect(seen.method).toBe("PUT");
    expect(seen.headers["x-custom"]).toBe("1");
    expect(result.requestId).toMatch(/./); // readable only because cors-expose-headers names it
    expect(api.received.map((r) => r.method)).toEqual(["PUT"]); // the OPTIONS never left ingressd
  });

  it("a page of an origin not allowed is refused by the browser", async () => {
    const before = api.received.length;
    const result = await fetchFrom("other.localhost");
    expect(result.ok).toBe(false);
    // Its preflight got no Access-Control-Allow-Origin: the PUT was never sent.
    expect(api.received.slice(before).map((r) => r.method)).toEqual(["OPTIONS"]);
  });
});
