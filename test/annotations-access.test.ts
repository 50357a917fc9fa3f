import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { request } from "node:http";
import bcrypt from "bcryptjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { routesCommand } from "../src/commands/routes.js";
import { readNginxSettings } from "../src/config/nginx/settings.js";
import type { ConfigIssue } from "../src/model/issues.js";
import { ingressYaml, nextReload, serviceYaml, startUpstream, type Upstream } from "./helpers.js";
import { inspect, proxyWith, readAll, type FullResponse, type Proxy, type Seen } from "./proxyHelpers.js";
import { docs, positionOf, wsEchoUpstream, type WsUpstream } from "./reloadHelpers.js";
import type { RulesDir } from "./helpers.js";

const P = "nginx.ingress.kubernetes.io/";

/** An Ingress routing `host` / to Service `web`, with nginx annotations. */
function ingress(name: string, host: string, annotations: Record<string, string>, service = "web"): string {
  return ingressYaml(name, host, [{ path: "/", service }], annotations);
}

function secret(name: string, entries: Record<string, string>, field: "data" | "stringData" = "data"): string {
  const values = Object.entries(entries).map(([k, v]) => `  ${k}: ${JSON.stringify(field === "data" ? Buffer.from(v).toString("base64") : v)}`);
  return `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\ntype: Opaque\n${field}:\n${values.join("\n")}\n`;
}

/** One request to `host` through the proxy, from the loopback address `from` (IPv4 or IPv6). */
function fetchFrom(proxy: Proxy, host: string, from: string, headers: Record<string, string> = {}): Promise<FullResponse> {
  const target = from.includes(":") ? "[::1]" : "127.0.0.1";
  return new Promise((resolve, reject) => {
    const req = request(`http://${target}:${proxy.httpPort}/`, { headers: { host, ...headers }, localAddress: from, agent: false }, (r) => readAll(r).then(resolve, reject));
    req.on("error", reject);
    req.end();
  });
}

function basic(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` };
}

function seen(res: FullResponse): Seen {
  expect(res.status, res.body.toString()).toBe(200);
  return JSON.parse(res.body.toString()) as Seen;
}

/** The issues of the snapshot served now, about annotation `name`. */
function issuesAt(proxy: Proxy, name: string): ConfigIssue[] {
  return proxy.runtime.current.issues.filter((i) => i.field?.includes(`${P}${name}`));
}

describe("Source ranges (ingress-nginx annotations.md § Whitelist source range, § Denylist source range)", () => {
  let up: Upstream;
  let proxy: Proxy;
  let rules: RulesDir;
  beforeAll(async () => {
    up = await startUpstream(inspect("web"));
    ({ proxy, rules } = await proxyWith(
      {
        "svc.yaml": serviceYaml("web", [up.port]),
        "allow.yaml": ingress("allow", "allow.localhost", { "whitelist-source-range": "127.0.0.1" }),
        "both-names.yaml": ingress("both-names", "both-names.localhost", { "allowlist-source-range": "127.0.0.2/32", "whitelist-source-range": "127.0.0.1" }),
        "deny.yaml": ingress("deny", "deny.localhost", { "denylist-source-range": "127.0.0.2", "allowlist-source-range": "127.1.2.3/8, 10.0.0.0/24" }),
        "v6.yaml": ingress("v6", "v6.localhost", { "allowlist-source-range": "::1" }),
        "v6deny.yaml": ingress("v6deny", "v6deny.localhost", { "denylist-source-range": "::1/128, 192.0.2.1" }),
        "forwarded.yaml": ingress("forwarded", "forwarded.localhost", { "allowlist-source-range": "203.0.113.0/24" }),
      },
      // Dual-stack, so clients come from ::1 as well; 127.0.0.1 is a trusted proxy.
      { bind: "::", trustProxy: ["127.0.0.1"] },
    ));
  });
  afterAll(async () => {
    await proxy.close();
    await rules.cleanup();
    await up.close();
  });

  it("an allow list: the client inside is served, one outside (127.0.0.2) gets 403 and never reaches the upstream", async () => {
    expect(seen(await fetchFrom(proxy, "allow.localhost", "127.0.0.1")).name).toBe("web");
    const before = up.received.length;
    const denied = await fetchFrom(proxy, "allow.localhost", "127.0.0.2");
    expect(denied.status).toBe(403);
    expect(denied.body.toString()).toContain("127.0.0.2");
    expect(up.received.length).toBe(before);
  });

  it("allowlist-source-range wins over its alias whitelist-source-range, with a warning at the alias", async () => {
    expect((await fetchFrom(proxy, "both-names.localhost", "127.0.0.2")).status).toBe(200);
    expect((await fetchFrom(proxy, "both-names.localhost", "127.0.0.1")).status).toBe(403);
    expect(issuesAt(proxy, "whitelist-source-range")).toEqual([expect.objectContaining({ severity: "warning", resource: "Ingress default/both-names" })]);
  });

  it("a deny list is judged first: a client in both lists gets 403; a CIDR with host bits stands for its network", async () => {
    expect((await fetchFrom(proxy, "deny.localhost", "127.0.0.2")).status).toBe(403);
    expect((await fetchFrom(proxy, "deny.localhost", "127.0.0.3")).status).toBe(200);
    expect((await fetchFrom(proxy, "deny.localhost", "127.0.0.1")).status).toBe(200);
  });

  it("IPv6: ::1 as an allow and as a deny entry", async () => {
    expect((await fetchFrom(proxy, "v6.localhost", "::1")).status).toBe(200);
    expect((await fetchFrom(proxy, "v6.localhost", "127.0.0.3")).status).toBe(403);
    expect((await fetchFrom(proxy, "v6deny.localhost", "::1")).status).toBe(403);
    expect((await fetchFrom(proxy, "v6deny.localhost", "127.0.0.3")).status).toBe(200);
  });

  it("behind a trusted proxy the X-Forwarded-For client is judged; from anyone else it is not believed", async () => {
    expect((await fetchFrom(proxy, "forwarded.localhost", "127.0.0.1", { "x-forwarded-for": "203.0.113.7" })).status).toBe(200);
    expect((await fetchFrom(proxy, "forwarded.localhost", "127.0.0.1", { "x-forwarded-for": "198.51.100.1" })).status).toBe(403);
    expect((await fetchFrom(proxy, "forwarded.localhost", "127.0.0.1")).status).toBe(403);
    expect((await fetchFrom(proxy, "forwarded.localhost", "127.0.0.2", { "x-forwarded-for": "203.0.113.7" })).status).toBe(403);
  });

  it("a CIDR that does not parse: an error at the annotation's line, the Ingress's last good version still served", async () => {
    const bad = ingress("allow", "allow.localhost", { "whitelist-source-range": "127.0.0.1, 10.0.0.0/33" });
    const rejected = nextReload(proxy, (s) => s.issues.some((i) => i.severity === "error" && i.field?.includes("whitelist-source-range")));
    const path = `${rules.dir}/allow.yaml`;
    await writeFile(path, bad);
    const s = await rejected;
    const at = positionOf(bad, `${P}whitelist-source-range`);
    const issue = s.issues.find((i) => i.severity === "error" && i.field?.includes("whitelist-source-range"))!;
    expect(issue).toMatchObject({ file: path, line: at.line, resource: "Ingress default/allow" });
    expect(issue.message).toContain('"10.0.0.0/33"');
    expect((await fetchFrom(proxy, "allow.localhost", "127.0.0.1")).status).toBe(200);
    expect((await fetchFrom(proxy, "allow.localhost", "127.0.0.2")).status).toBe(403);
  });
});

describe("Basic authentication (ingress-nginx annotations.md § Authentication)", () => {
  const REALM = "Authentication Required - foo";
  let up: Upstream;
  let ws: WsUpstream;
  let proxy: Proxy;
  let rules: RulesDir;
  beforeAll(async () => {
    up = await startUpstream(inspect("web"));
    ws = await wsEchoUpstream();
    const htpasswd = [
      "# alice: bcrypt (htpasswd -B), bob: apr1 (openssl passwd -apr1), carol: SHA-1 (htpasswd -s)",
      `alice:${bcrypt.hashSync("alice-pw", 5).replace(/^\$2b\$/, "$2y$")}`,
      `bob:${execFileSync("openssl", ["passwd", "-apr1", "bob-pw"]).toString().trim()}`,
      `carol:{SHA}${createHash("sha1").update("carol-pw").digest("base64")}`,
      "mallory:plain-text-password",
    ].join("\n");
    ({ proxy, rules } = await proxyWith({
      "svc.yaml": docs(serviceYaml("web", [up.port]), serviceYaml("ws", [ws.port])),
      "users.yaml": docs(
        secret("users", { auth: htpasswd }),
        secret("by-user", { dave: `{SHA}${createHash("sha1").update("dave-pw").digest("base64")}` }, "stringData"),
        secret("no-auth-key", { users: htpasswd }),
      ),
      "auth.yaml": ingress("auth", "auth.localhost", { "auth-type": "basic", "auth-secret": "users", "auth-realm": REALM }),
      "ws.yaml": ingress("ws", "ws.localhost", { "auth-type": "basic", "auth-secret": "default/users" }, "ws"),
      "map.yaml": ingress("map", "map.localhost", { "auth-type": "basic", "auth-secret": "by-user", "auth-secret-type": "auth-map" }),
      "both.yaml": ingress("both", "both.localhost", { "auth-type": "basic", "auth-secret": "users", "whitelist-source-range": "127.0.0.1" }),
      "missing.yaml": ingress("missing", "missing.localhost", { "auth-type": "basic", "auth-secret": "absent" }),
      "no-key.yaml": ingress("no-key", "no-key.localhost", { "auth-type": "basic", "auth-secret": "no-auth-key" }),
      "digest.yaml": ingress("digest", "digest.localhost", { "auth-type": "digest", "auth-secret": "users" }),
      "cross.yaml": ingress("cross", "cross.localhost", { "auth-type": "basic", "auth-secret": "other/users" }),
    }));
  });
  afterAll(async () => {
    await proxy.close();
    await rules.cleanup();
    await up.close();
    await ws.close();
  });

  const get = (host: string, headers: Record<string, string> = {}): Promise<FullResponse> => fetchFrom(proxy, host, "127.0.0.1", headers);

  it("no credentials: 401 with WWW-Authenticate naming the realm; nothing reaches the upstream", async () => {
    const before = up.received.length;
    const res = await get("auth.localhost");
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toBe(`Basic realm="${REALM}"`);
    // A request let through by mistake would be under way by now: one served request later, only that one arrived.
    seen(await get("auth.localhost", basic("carol", "carol-pw")));
    expect(up.received.slice(before).map((r) => r.headers.authorization)).toEqual([basic("carol", "carol-pw").authorization]);
  });

  it.each([
    ["alice", "alice-pw", "bcrypt"],
    ["bob", "bob-pw", "apr1"],
    ["carol", "carol-pw", "SHA-1"],
  ])("%s (%s's password, %s): served, the Authorization header forwarded upstream as sent", async (user, password) => {
    const res = seen(await get("auth.localhost", basic(user, password)));
    expect(res.headers.authorization).toBe(basic(user, password).authorization);
  });

  it("the bcrypt user again: served on every request", async () => {
    for (let i = 0; i < 3; i++) expect((await get("auth.localhost", basic("alice", "alice-pw"))).status).toBe(200);
  });

  it.each([
    ["a wrong bcrypt password", basic("alice", "bob-pw")],
    ["a wrong apr1 password", basic("bob", "bob-pW")],
    ["a wrong SHA-1 password", basic("carol", "")],
    ["an unknown user", basic("eve", "alice-pw")],
    ["a user whose line is plain text, with that text", basic("mallory", "plain-text-password")],
    ["another scheme", { authorization: `Bearer ${Buffer.from("alice:alice-pw").toString("base64")}` }],
    ["credentials without a colon", { authorization: `Basic ${Buffer.from("alice").toString("base64")}` }],
  ])("%s: 401 with the realm; nothing reaches the upstream", async (_what, headers) => {
    const before = up.received.length;
    const res = await get("auth.localhost", headers);
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toBe(`Basic realm="${REALM}"`);
    // A request let through by mistake would be under way by now: one served request later, only that one arrived.
    seen(await get("auth.localhost", basic("carol", "carol-pw")));
    expect(up.received.slice(before).map((r) => r.headers.authorization)).toEqual([basic("carol", "carol-pw").authorization]);
  });

  it("the plain-text line is reported as a warning naming the Secret and the line", () => {
    const warnings = issuesAt(proxy, "auth-secret").filter((i) => i.resource === "Ingress default/auth");
    expect(warnings).toEqual([expect.objectContaining({ severity: "warning", code: "auth-secret-user" })]);
    expect(warnings[0]!.message).toContain('Secret default/users, key "auth" line 5: user "mallory"');
    expect(warnings[0]!.message).not.toContain("plain-text-password");
  });

  it("auth-secret-type auth-map (users as keys, stringData): served for the user; no realm given → realm \"\"", async () => {
    expect((await get("map.localhost", basic("dave", "dave-pw"))).status).toBe(200);
    const res = await get("map.localhost", basic("dave", "wrong"));
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toBe('Basic realm=""');
  });

  it("source range and auth together: both must pass (satisfy all)", async () => {
    expect((await get("both.localhost", basic("bob", "bob-pw"))).status).toBe(200);
    expect((await get("both.localhost")).status).toBe(401);
    expect((await fetchFrom(proxy, "both.localhost", "127.0.0.2", basic("bob", "bob-pw"))).status).toBe(403);
  });

  it("a WebSocket upgrade is authenticated too (bcrypt, answered later): refused without credentials, tunnelled with them", async () => {
    const open = (headers: Record<string, string>): Promise<WebSocket> =>
      new Promise((resolve, reject) => {
        const sock = new WebSocket(`ws://127.0.0.1:${proxy.httpPort}/`, { headers: { host: "ws.localhost", ...headers } });
        sock.once("open", () => resolve(sock));
        sock.once("error", reject);
        sock.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      });
    await expect(open({})).rejects.toThrow("upgrade refused: 401");
    await expect(open(basic("alice", "wrong"))).rejects.toThrow("upgrade refused: 401");
    const sock = await open(basic("alice", "alice-pw"));
    const echoed = new Promise<string>((resolve) => sock.once("message", (d: Buffer) => resolve(d.toString())));
    sock.send("hello");
    expect(await echoed).toBe("hello");
    sock.close();
  });

  it("a missing Secret: the paths answer 503 (never open), an error at auth-secret says so", async () => {
    expect((await get("missing.localhost")).status).toBe(503);
    expect((await get("missing.localhost", basic("alice", "alice-pw"))).status).toBe(503);
    const [issue, ...more] = issuesAt(proxy, "auth-secret").filter((i) => i.resource === "Ingress default/missing");
    expect(more).toEqual([]);
    expect(issue).toMatchObject({ severity: "error", code: "auth-secret-missing", file: `${rules.dir}/missing.yaml`, line: positionOf(ingress("missing", "missing.localhost", { "auth-type": "basic", "auth-secret": "absent" }), `${P}auth-secret`).line });
    expect(issue!.message).toContain("Secret default/absent does not exist");
    expect(issue!.message).toContain("answer 503");
  });

  it("a Secret without the key auth: 503 and an error", async () => {
    expect((await get("no-key.localhost", basic("alice", "alice-pw"))).status).toBe(503);
    expect(issuesAt(proxy, "auth-secret").filter((i) => i.resource === "Ingress default/no-key")).toEqual([expect.objectContaining({ severity: "error", code: "auth-secret-no-auth" })]);
  });

  it("a Secret of another namespace: not used (ingress-nginx's default), 503 and an error", async () => {
    expect((await get("cross.localhost", basic("alice", "alice-pw"))).status).toBe(503);
    expect(issuesAt(proxy, "auth-secret").filter((i) => i.resource === "Ingress default/cross")).toEqual([expect.objectContaining({ severity: "error", code: "auth-secret-namespace" })]);
  });

  it("auth-type digest: not supported, a warning, and 503 rather than an open route", async () => {
    expect((await get("digest.localhost")).status).toBe(503);
    expect(issuesAt(proxy, "auth-type")).toEqual([expect.objectContaining({ severity: "warning", resource: "Ingress default/digest" })]);
  });

  it("routes --explain names the filters in nginx's access order, never a hash", async () => {
    const explain = async (url: string) => (await routesCommand([rules.dir], { ingressClass: "ingressd", format: "text", cwd: rules.dir, explain: url })).output;
    const both = await explain("http://both.localhost/");
    expect(both).toContain("  filter: accessList: allow 127.0.0.1 (else 403)\n  filter: basicAuth: realm \"\", 3 user(s) from Secret default/users (else 401)\n");
    expect(both).not.toContain("$apr1$");
    expect(await explain("http://missing.localhost/")).toContain("  filter: basicAuth: every request gets 503 (Secret default/absent does not exist)\n");
  });

  it("the Secret created later: the route then authenticates", async () => {
    const created = nextReload(proxy, (s) => !s.issues.some((i) => i.code === "auth-secret-missing"));
    await rules.write("absent.yaml", secret("absent", { auth: `erin:{SHA}${createHash("sha1").update("erin-pw").digest("base64")}` }));
    await created;
    expect((await get("missing.localhost")).status).toBe(401);
    expect((await get("missing.localhost", basic("erin", "erin-pw"))).status).toBe(200);
  });
});

describe("Access annotations, read and checked (ingress-nginx annotations.md § Whitelist source range, § Authentication)", () => {
  const problems = (annotations: Record<string, string>) =>
    readNginxSettings(Object.fromEntries(Object.entries(annotations).map(([k, v]) => [P + k, v]))).problems.map((p) => `${p.severity} ${p.annotation.slice(P.length)}`);

  it.each([
    [{ "whitelist-source-range": "10.0.0.0/24,172.10.0.1" }, []],
    [{ "allowlist-source-range": "10.0.0.0/24, 2001:db8::/32, ::1" }, []],
    [{ "whitelist-source-range": "not-an-ip" }, ["error whitelist-source-range"]],
    [{ "denylist-source-range": "10.0.0.0/24," }, ["error denylist-source-range"]],
    [{ "denylist-source-range": "fe80::1%eth0" }, ["error denylist-source-range"]],
    [{ "auth-type": "basic", "auth-secret": "users" }, []],
    [{ "auth-type": "ldap", "auth-secret": "users" }, ["error auth-type"]],
    [{ "auth-type": "basic" }, ["error auth-secret"]],
    [{ "auth-type": "basic", "auth-secret": "a/b/c" }, ["error auth-secret"]],
    [{ "auth-type": "basic", "auth-secret": "users", "auth-secret-type": "auth-json" }, ["error auth-secret-type"]],
    [{ "auth-type": "basic", "auth-secret": "users", "auth-realm": 'say "hi"' }, ["error auth-realm"]],
    [{ "auth-type": "digest", "auth-secret": "users" }, ["warning auth-type"]],
    [{ "auth-secret": "users" }, ["warning auth-secret"]],
  ])("%j → %j", (annotations, expected) => {
    expect(problems(annotations as Record<string, string>)).toEqual(expected);
  });

  it("a bad value's message names the annotation and the value", () => {
    const [p] = readNginxSettings({ [`${P}whitelist-source-range`]: "10.0.0.1, nope" }).problems;
    expect(p!.message).toContain(`${P}whitelist-source-range`);
    expect(p!.message).toContain('"nope"');
  });
});
