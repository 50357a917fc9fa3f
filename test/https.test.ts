import { execFile } from "node:child_process";
import { once } from "node:events";
import { createServer as createHttpServer, type IncomingMessage } from "node:http";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { Agent as HttpsAgent } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer as createTlsServer, type Server as TlsServer } from "node:tls";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import pino from "pino";
import { startIngressd } from "../src/server/ingressd.js";
import type { ConfigIssue } from "../src/model/issues.js";
import { get, nextReload, rulesDir, serviceYaml, startProxy, startUpstream, type RulesDir, type Upstream } from "./helpers.js";
import { inspect, rawRequest, within, type Proxy, type Seen } from "./proxyHelpers.js";
import { memoryLog } from "./healthHelpers.js";
import { createTestCa, handshake, httpsGet, lineOf, secretYaml, strayKey, tlsIngressYaml, type Pem, type TestCa } from "./tlsHelpers.js";

const run = promisify(execFile);

interface TlsView {
  host: string;
  ingress: string;
  certificate: "secret" | "local-ca";
  secret?: string;
  notAfter?: string;
}
interface ConfigView {
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
  tls: TlsView[];
}

async function apiConfig(proxy: Proxy): Promise<ConfigView> {
  const res = await get(`${proxy.admin}/api/config`);
  expect(res.status).toBe(200);
  return JSON.parse(res.body) as ConfigView;
}

const tempDir = (prefix: string): Promise<string> => mkdtemp(join(tmpdir(), prefix));

/** The leaf's issuer CN, from a handshake's detailed peer certificate. */
const issuerCn = (h: { cert: { issuer?: { CN?: string | string[] } } }): string | undefined => {
  const cn = h.cert.issuer?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
};

const LOCAL_CA_CN = "ingressd local development CA";

describe("HTTPS front end", () => {
  let ca: TestCa;
  let certs: Record<"exact" | "wild" | "exactWild" | "expired" | "string" | "rotate1" | "rotate2", Pem>;
  let up: Upstream;
  let rules: RulesDir;
  let dataDir: string;
  let proxy: Proxy;
  let httpsPort: number;
  let localCaPem: string;

  beforeAll(async () => {
    ca = await createTestCa();
    const yearAgo = new Date(Date.now() - 365 * 24 * 3600_000);
    certs = {
      exact: await ca.issue(["exact.test"]),
      wild: await ca.issue(["*.wild.test"]),
      exactWild: await ca.issue(["exact.wild.test"]),
      expired: await ca.issue(["expired.test"], { notBefore: new Date(yearAgo.getTime() - 30 * 24 * 3600_000), notAfter: yearAgo }),
      string: await ca.issue(["string.test"]),
      rotate1: await ca.issue(["rotate.test"]),
      rotate2: await ca.issue(["rotate.test"]),
    };
    up = await startUpstream(inspect("web"));
    rules = await rulesDir();
    dataDir = await tempDir("ingressd-data-");
    await rules.write("svc.yaml", serviceYaml("web", [up.port]));
    await rules.write("secret-exact.yaml", secretYaml("exact", certs.exact));
    await rules.write("secret-wild.yaml", secretYaml("wild", certs.wild));
    await rules.write("secret-exactwild.yaml", secretYaml("exactwild", certs.exactWild));
    await rules.write("secret-expired.yaml", secretYaml("expired", certs.expired));
    await rules.write("secret-string.yaml", secretYaml("string", certs.string, { stringData: true }));
    await rules.write("secret-rotate.yaml", secretYaml("rotate", certs.rotate1));
    await rules.write(
      "ing-secure.yaml",
      tlsIngressYaml("secure", {
        hosts: ["exact.test", "*.wild.test", "exact.wild.test", "expired.test", "string.test", "rotate.test", "app.localhost", "nosecret.test"],
        service: "web",
        tls: [
          { hosts: ["exact.test"], secretName: "exact" },
          { hosts: ["*.wild.test"], secretName: "wild" },
          { hosts: ["exact.wild.test"], secretName: "exactwild" },
          { hosts: ["expired.test"], secretName: "expired" },
          { hosts: ["string.test"], secretName: "string" },
          { hosts: ["rotate.test"], secretName: "rotate" },
          { hosts: ["app.localhost"] },
          { hosts: ["nosecret.test"], secretName: "nope" },
        ],
      }),
    );
    await rules.write(
      "ing-noredirect.yaml",
      tlsIngressYaml("noredirect", {
        hosts: ["noredirect.test"],
        service: "web",
        tls: [{ hosts: ["noredirect.test"] }],
        annotations: { "nginx.ingress.kubernetes.io/ssl-redirect": "false" },
      }),
    );
    await rules.write(
      "ing-force.yaml",
      tlsIngressYaml("force", { hosts: ["force.test"], service: "web", annotations: { "nginx.ingress.kubernetes.io/force-ssl-redirect": "true" } }),
    );
    await rules.write("ing-plain.yaml", tlsIngressYaml("plain", { hosts: ["plain.test"], service: "web" }));
    proxy = await startProxy([rules.dir], { httpsPort: 0, dataDir });
    httpsPort = await proxy.httpsReady();
    localCaPem = await readFile(join(dataDir, "ca.crt"), "utf8");
  });

  afterAll(async () => {
    await proxy?.close();
    await up?.close();
    await rules?.cleanup();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("opens the HTTPS listener once TLS is configured and reports it", () => {
    expect(httpsPort).toBeGreaterThan(0);
    expect(proxy.httpsPort).toBe(httpsPort);
    expect(httpsPort).not.toBe(proxy.httpPort);
  });

  describe("SNI selection", () => {
    it("serves an exact TLS host its Secret's certificate, verified by the issuing CA", async () => {
      const h = await handshake(httpsPort, "exact.test", { ca: ca.certPem });
      expect(h.fingerprint256).toBe(certs.exact.fingerprint256);
      expect(h.authorized).toBe(true);
    });

    it("serves a host under a wildcard TLS host the wildcard Secret", async () => {
      for (const name of ["a.wild.test", "other.wild.test"]) {
        const h = await handshake(httpsPort, name, { ca: ca.certPem });
        expect(h.fingerprint256, name).toBe(certs.wild.fingerprint256);
        expect(h.authorized, name).toBe(true);
      }
    });

    it("prefers an exact TLS host over a wildcard that also covers it", async () => {
      const h = await handshake(httpsPort, "exact.wild.test", { ca: ca.certPem });
      expect(h.fingerprint256).toBe(certs.exactWild.fingerprint256);
      expect(h.fingerprint256).not.toBe(certs.wild.fingerprint256);
    });

    it("matches SNI case-insensitively", async () => {
      const h = await handshake(httpsPort, "EXACT.Test", { ca: ca.certPem });
      expect(h.fingerprint256).toBe(certs.exact.fingerprint256);
    });

    it("does not let a wildcard cover two labels, nor the bare domain: those get the default (local CA localhost) certificate", async () => {
      for (const name of ["deep.a.wild.test", "wild.test", "unknown.test"]) {
        const h = await handshake(httpsPort, name, { ca: localCaPem, chainOnly: true });
        expect(h.fingerprint256, name).not.toBe(certs.wild.fingerprint256);
        expect(h.cn, name).toBe("localhost");
        expect(issuerCn(h), name).toBe(LOCAL_CA_CN);
        expect(h.authorized, `${name}: ${h.authorizationError}`).toBe(true);
      }
    });

    it("serves the default certificate to a client sending no SNI", async () => {
      const h = await handshake(httpsPort, undefined, { ca: localCaPem, chainOnly: true });
      expect(h.cn).toBe("localhost");
      expect(h.authorized, h.authorizationError).toBe(true);
    });

    it("a Secret given as stringData is served", async () => {
      const h = await handshake(httpsPort, "string.test", { ca: ca.certPem });
      expect(h.fingerprint256).toBe(certs.string.fingerprint256);
      expect(h.authorized).toBe(true);
      const view = await apiConfig(proxy);
      expect(view.tls.find((t) => t.host === "string.test")).toMatchObject({ certificate: "secret", secret: "default/string" });
    });
  });

  describe("local development CA", () => {
    it("issues a leaf for a TLS host without secretName that verifies against ca.crt, host name included", async () => {
      const h = await handshake(httpsPort, "app.localhost", { ca: localCaPem });
      expect(h.authorized, h.authorizationError).toBe(true);
      expect(h.cn).toBe("app.localhost");
      expect(h.cert.subjectaltname).toContain("DNS:app.localhost");
      expect(issuerCn(h)).toBe(LOCAL_CA_CN);
      // and not against an unrelated CA
      const other = await handshake(httpsPort, "app.localhost", { ca: ca.certPem });
      expect(other.authorized).toBe(false);
      const view = await apiConfig(proxy);
      const entry = view.tls.find((t) => t.host === "app.localhost");
      expect(entry).toMatchObject({ certificate: "local-ca" });
      expect(entry?.secret).toBeUndefined();
    });

    it("keeps the CA files mode 0600 in the data dir, and ca.crt is a CA certificate", async () => {
      for (const f of ["ca.crt", "ca.key"]) {
        const s = await stat(join(dataDir, f));
        expect((s.mode & 0o777).toString(8), f).toBe("600");
      }
      const cert = new X509Certificate(localCaPem);
      expect(cert.ca).toBe(true);
      expect(cert.subject).toContain(LOCAL_CA_CN);
    });

    it("an unknown secretName is a warning and the host gets a local-CA leaf", async () => {
      const view = await apiConfig(proxy);
      const w = view.warnings.find((i) => i.code === "unknown-secret");
      expect(w, JSON.stringify(view.warnings)).toBeDefined();
      expect(w!.field).toBe("spec.tls[7].secretName");
      expect(w!.file).toBe(join(rules.dir, "ing-secure.yaml"));
      expect(w!.line).toBeGreaterThan(0);
      expect(w!.message).toContain("default/nope");
      expect(view.errors.filter((e) => e.code === "unknown-secret")).toEqual([]);
      expect(view.tls.find((t) => t.host === "nosecret.test")).toMatchObject({ certificate: "local-ca" });
      const h = await handshake(httpsPort, "nosecret.test", { ca: localCaPem });
      expect(h.authorized, h.authorizationError).toBe(true);
      expect(h.cn).toBe("nosecret.test");
    });
  });

  it("an expired Secret is a warning and is still served", async () => {
    const view = await apiConfig(proxy);
    const w = view.warnings.find((i) => i.code === "expired-certificate");
    expect(w, JSON.stringify(view.warnings)).toBeDefined();
    expect(w!.file).toBe(join(rules.dir, "secret-expired.yaml"));
    expect(w!.line).toBe(lineOf(secretYaml("expired", certs.expired), "tls.crt:"));
    expect(view.errors.filter((e) => e.file === w!.file)).toEqual([]);
    expect(view.tls.find((t) => t.host === "expired.test")).toMatchObject({ certificate: "secret", secret: "default/expired" });
    const entry = view.tls.find((t) => t.host === "expired.test")!;
    expect(new Date(entry.notAfter!).getTime()).toBeLessThan(Date.now());
    const h = await handshake(httpsPort, "expired.test", { ca: ca.certPem });
    expect(h.fingerprint256).toBe(certs.expired.fingerprint256);
    expect(h.authorized).toBe(false);
    expect(h.authorizationError).toBe("CERT_HAS_EXPIRED");
  });

  it("lists TLS hosts in /api/config with their Secret and notAfter", async () => {
    const view = await apiConfig(proxy);
    const exact = view.tls.find((t) => t.host === "exact.test");
    expect(exact).toMatchObject({ certificate: "secret", secret: "default/exact", ingress: "default/secure" });
    expect(exact!.notAfter).toBe(new Date(new X509Certificate(certs.exact.cert).validTo).toISOString());
    expect(view.tls.find((t) => t.host === "*.wild.test")).toMatchObject({ certificate: "secret", secret: "default/wild" });
  });

  describe("HTTP → HTTPS redirect", () => {
    it("answers 308 for a TLS host, keeping path and query, with the HTTPS port", async () => {
      const res = await get(`${proxy.url}/a/b/c?x=1&y=%20two`, { host: "exact.test" });
      expect(res.status).toBe(308);
      expect(res.headers.location).toBe(`https://exact.test:${httpsPort}/a/b/c?x=1&y=%20two`);
      expect(up.received.some((r) => r.url === "/a/b/c?x=1&y=%20two")).toBe(false);
    });

    it("redirects a host covered by a wildcard TLS host, dropping the client's port from Host", async () => {
      const res = await get(`${proxy.url}/p?q`, { host: `x.wild.test:${proxy.httpPort}` });
      expect(res.status).toBe(308);
      expect(res.headers.location).toBe(`https://x.wild.test:${httpsPort}/p?q`);
    });

    it("keeps the method: a POST is redirected with 308 too", async () => {
      const res = await get(`${proxy.url}/form`, { host: "exact.test", "content-type": "text/plain" }, "POST", "hello");
      expect(res.status).toBe(308);
      expect(res.headers.location).toBe(`https://exact.test:${httpsPort}/form`);
    });

    it("does not redirect a host without TLS", async () => {
      const res = await get(`${proxy.url}/x?y=1`, { host: "plain.test" });
      expect(res.status).toBe(200);
      expect((JSON.parse(res.body) as Seen).url).toBe("/x?y=1");
    });

    it('ssl-redirect: "false" serves a TLS host over plain HTTP', async () => {
      const res = await get(`${proxy.url}/nr?z=2`, { host: "noredirect.test" });
      expect(res.status).toBe(200);
      const seen = JSON.parse(res.body) as Seen;
      expect(seen.url).toBe("/nr?z=2");
      expect(seen.headers["x-forwarded-proto"]).toBe("http");
      // and it is still a TLS host over HTTPS
      const h = await handshake(httpsPort, "noredirect.test", { ca: localCaPem });
      expect(h.authorized, h.authorizationError).toBe(true);
    });

    it('force-ssl-redirect: "true" redirects a host without TLS', async () => {
      const res = await get(`${proxy.url}/f?g=h`, { host: "force.test" });
      expect(res.status).toBe(308);
      expect(res.headers.location).toBe(`https://force.test:${httpsPort}/f?g=h`);
    });
  });

  describe("HTTPS proxying", () => {
    it("proxies to the upstream with X-Forwarded-Proto: https", async () => {
      // a client-sent X-Forwarded-Proto is replaced, not believed
      const res = await httpsGet(httpsPort, "exact.test", "/over/tls?a=1", { ca: ca.certPem, headers: { "x-forwarded-proto": "http" } });
      expect(res.status).toBe(200);
      const seen = JSON.parse(res.body) as Seen;
      expect(seen.url).toBe("/over/tls?a=1");
      expect(seen.headers["x-forwarded-proto"]).toBe("https");
      expect(seen.headers["x-forwarded-port"]).toBe(String(httpsPort));
      expect(seen.headers.host).toBe("exact.test");
      expect(res.headers.server).toBe("ingressd");
    });

    it("does not redirect HTTPS requests of a force-ssl-redirect host (served with the default certificate)", async () => {
      // force.test is no TLS host: the default (localhost) certificate does not name it.
      const strict = await httpsGet(httpsPort, "force.test", "/f", { ca: localCaPem }).catch((e: NodeJS.ErrnoException) => e);
      expect(strict).toBeInstanceOf(Error);
      expect((strict as NodeJS.ErrnoException).code).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
      const res = await httpsGet(httpsPort, "force.test", "/f", { ca: localCaPem, chainOnly: true });
      expect(res.status).toBe(200);
      expect((JSON.parse(res.body) as Seen).headers["x-forwarded-proto"]).toBe("https");
    });

    it("answers 404 over HTTPS for a host with no route", async () => {
      const res = await httpsGet(httpsPort, "unknown.test", "/", { ca: localCaPem, chainOnly: true });
      expect(res.status).toBe(404);
    });
  });

  it("refuses TLS 1.1 (while the same client does TLS 1.1 with a server allowing it)", async () => {
    const legacy = { minVersion: "TLSv1" as const, maxVersion: "TLSv1.1" as const, ciphers: "DEFAULT@SECLEVEL=0" };
    // Control: this client can speak TLS 1.1 at all, so a failure below is the proxy's refusal.
    const pem = certs.exact;
    const control: TlsServer = createTlsServer({ cert: pem.cert, key: pem.key, minVersion: "TLSv1", ciphers: "DEFAULT@SECLEVEL=0" }, (s) => s.end());
    await new Promise<void>((res) => control.listen(0, "127.0.0.1", res));
    try {
      const ok = await handshake((control.address() as AddressInfo).port, "exact.test", { ca: ca.certPem, extra: legacy });
      expect(ok.protocol).toBe("TLSv1.1");
    } finally {
      await new Promise<void>((res) => control.close(() => res()));
    }
    // a Secret's certificate, a local-CA leaf, the default certificate, and no SNI at all
    for (const name of ["exact.test", "app.localhost", "unknown.test", undefined]) {
      const err = await handshake(httpsPort, name, { ca: ca.certPem, extra: legacy }).then(
        (h): NodeJS.ErrnoException => new Error(`handshake succeeded with ${h.protocol}`),
        (e: NodeJS.ErrnoException) => e,
      );
      expect(String(err.code ?? err.message), String(name)).toMatch(/ALERT_PROTOCOL_VERSION/);
    }
    // TLS 1.2 is accepted
    const h12 = await handshake(httpsPort, "exact.test", { ca: ca.certPem, extra: { minVersion: "TLSv1.2", maxVersion: "TLSv1.2" } });
    expect(h12.protocol).toBe("TLSv1.2");
  });

  it("a Secret with a key that does not match is an error with file:line, while other hosts keep serving", async () => {
    const bad = await ca.issue(["bad.test"]);
    const text = `${secretYaml("bad", { cert: bad.cert, key: await strayKey() })}---\n${tlsIngressYaml("bad", {
      hosts: ["bad.test"],
      service: "web",
      tls: [{ hosts: ["bad.test"], secretName: "bad" }],
    })}`;
    const reloaded = nextReload(proxy, (s) => s.tls.lookup("bad.test") !== undefined);
    const file = await rules.write("bad.yaml", text);
    await reloaded;
    const view = await apiConfig(proxy);
    const err = view.errors.find((e) => e.code === "invalid-certificate");
    expect(err, JSON.stringify(view.errors)).toBeDefined();
    expect(err!.field).toBe('data["tls.key"]');
    expect(err!.file).toBe(file);
    expect(err!.line).toBe(lineOf(text, "tls.key:"));
    expect(err!.resource).toContain("bad");
    // the bad Secret's certificate is never served; the host falls back to a local-CA leaf
    const h = await handshake(httpsPort, "bad.test", { ca: localCaPem });
    expect(h.fingerprint256).not.toBe(bad.fingerprint256);
    expect(h.authorized, h.authorizationError).toBe(true);
    expect(view.tls.find((t) => t.host === "bad.test")).toMatchObject({ certificate: "local-ca" });
    // the others keep their certificates and keep proxying
    expect((await handshake(httpsPort, "exact.test", { ca: ca.certPem })).fingerprint256).toBe(certs.exact.fingerprint256);
    expect((await handshake(httpsPort, "a.wild.test", { ca: ca.certPem })).fingerprint256).toBe(certs.wild.fingerprint256);
    const res = await httpsGet(httpsPort, "exact.test", "/still", { ca: ca.certPem });
    expect(res.status).toBe(200);

    const removed = nextReload(proxy, (s) => s.tls.lookup("bad.test") === undefined);
    await rm(file);
    await removed;
    expect((await apiConfig(proxy)).errors.filter((e) => e.code === "invalid-certificate")).toEqual([]);
  });

  it("serves a Secret edited on disk to the next handshake, while an open keep-alive connection goes on", async () => {
    const agent = new HttpsAgent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await httpsGet(httpsPort, "rotate.test", "/one", { ca: ca.certPem, agent });
      expect(first.status).toBe(200);
      expect(first.fingerprint256).toBe(certs.rotate1.fingerprint256);

      const reloaded = nextReload(proxy, (s) => s.tls.lookup("rotate.test")?.notAfter?.getTime() === new Date(new X509Certificate(certs.rotate2.cert).validTo).getTime() && s.issues.every((i) => !i.file.endsWith("secret-rotate.yaml")));
      await rules.write("secret-rotate.yaml", secretYaml("rotate", certs.rotate2));
      await reloaded;

      const fresh = await handshake(httpsPort, "rotate.test", { ca: ca.certPem });
      expect(fresh.fingerprint256).toBe(certs.rotate2.fingerprint256);
      expect(fresh.authorized).toBe(true);

      const second = await httpsGet(httpsPort, "rotate.test", "/two", { ca: ca.certPem, agent });
      expect(second.status).toBe(200);
      expect(second.reusedSocket).toBe(true);
      expect(second.socket).toBe(first.socket);
      expect(second.fingerprint256).toBe(certs.rotate1.fingerprint256);
      expect((JSON.parse(second.body) as Seen).url).toBe("/two");

      // a new connection through the agent would be the new certificate
      const fresh2 = await httpsGet(httpsPort, "rotate.test", "/three", { ca: ca.certPem });
      expect(fresh2.fingerprint256).toBe(certs.rotate2.fingerprint256);
    } finally {
      agent.destroy();
    }
  });
  it("a TLS host listed by two Ingresses is served by the first (by precedence), with a warning on the other", async () => {
    const first = await ca.issue(["dup.test"]);
    const second = await ca.issue(["dup.test"]);
    const text = [
      secretYaml("dup-first", first),
      secretYaml("dup-second", second),
      tlsIngressYaml("dup-first", { hosts: ["dup.test"], service: "web", tls: [{ hosts: ["dup.test"], secretName: "dup-first" }] }),
      tlsIngressYaml("dup-second", { hosts: ["dup.test"], service: "web", tls: [{ hosts: ["dup.test"], secretName: "dup-second" }] }),
    ].join("---\n");
    const reloaded = nextReload(proxy, (s) => s.tls.lookup("dup.test") !== undefined);
    const file = await rules.write("dup.yaml", text);
    try {
      await reloaded;
      const view = await apiConfig(proxy);
      expect(view.tls.filter((t) => t.host === "dup.test")).toEqual([expect.objectContaining({ secret: "default/dup-first", ingress: "default/dup-first" })]);
      const w = view.warnings.filter((i) => i.code === "duplicate-tls-host" && i.file === file);
      expect(w).toHaveLength(1);
      expect(w[0]!.resource).toContain("dup-second");
      expect((await handshake(httpsPort, "dup.test", { ca: ca.certPem })).fingerprint256).toBe(first.fingerprint256);
    } finally {
      const removed = nextReload(proxy, (s) => s.tls.lookup("dup.test") === undefined);
      await rm(file);
      await removed;
    }
  });

  it("proxies a WebSocket upgrade over HTTPS (wss) with X-Forwarded-Proto: https", async () => {
    const server = createHttpServer((_req, res) => res.writeHead(426).end());
    const wss = new WebSocketServer({ server });
    const upgrades: IncomingMessage[] = [];
    wss.on("connection", (ws, req) => {
      upgrades.push(req);
      ws.on("message", (m) => ws.send(`echo: ${String(m)}`));
    });
    await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
    const wsPort = (server.address() as AddressInfo).port;
    // ws.wild.test is covered by the *.wild.test TLS host; its own rule routes to the WebSocket upstream.
    const reloaded = nextReload(proxy, (s) => s.routes.lookup("ws.wild.test", "/")?.backends[0]?.backend.service === "wsup");
    const file = await rules.write("ws.yaml", `${serviceYaml("wsup", [wsPort])}---\n${tlsIngressYaml("ws", { hosts: ["ws.wild.test"], service: "wsup" })}`);
    await reloaded;
    // ws hands `servername` to tls.connect (its types do not list it)
    const wsOptions = { servername: "ws.wild.test", headers: { host: "ws.wild.test" }, ca: ca.certPem };
    const ws = new WebSocket(`wss://127.0.0.1:${httpsPort}/chat?room=1`, wsOptions);
    try {
      await within(once(ws, "open"), 5_000, "wss open");
      const reply = within(once(ws, "message"), 5_000, "wss message");
      ws.send("hi");
      const [data] = (await reply) as [Buffer];
      expect(String(data)).toBe("echo: hi");
      expect(upgrades).toHaveLength(1);
      expect(upgrades[0]!.url).toBe("/chat?room=1");
      expect(upgrades[0]!.headers["x-forwarded-proto"]).toBe("https");
    } finally {
      ws.terminate();
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((res) => wss.close(() => res()));
      server.closeAllConnections();
      await new Promise<void>((res) => server.close(() => res()));
      const removed = nextReload(proxy, (s) => s.routes.lookup("ws.wild.test", "/")?.backends[0]?.backend.service !== "wsup");
      await rm(file);
      await removed;
    }
  });

  it("resolves secretName in the Ingress's own namespace, and wants type kubernetes.io/tls", async () => {
    const other = await ca.issue(["ns.test", "ns2.test", "opaque.test"]);
    const text = [
      secretYaml("shared", other, { namespace: "team-a" }),
      // same name, type Opaque, in the default namespace
      `apiVersion: v1\nkind: Secret\nmetadata:\n  name: opaque\ntype: Opaque\ndata:\n  tls.crt: ${Buffer.from(other.cert).toString("base64")}\n  tls.key: ${Buffer.from(other.key).toString("base64")}\n`,
      tlsIngressYaml("ns-a", { namespace: "team-a", hosts: ["ns.test"], service: "web", tls: [{ hosts: ["ns.test"], secretName: "shared" }] }),
      tlsIngressYaml("ns-b", { namespace: "team-b", hosts: ["ns2.test"], service: "web", tls: [{ hosts: ["ns2.test"], secretName: "shared" }] }),
      tlsIngressYaml("opaque", { hosts: ["opaque.test"], service: "web", tls: [{ hosts: ["opaque.test"], secretName: "opaque" }] }),
    ].join("---\n");
    const reloaded = nextReload(proxy, (s) => s.tls.lookup("opaque.test") !== undefined);
    const file = await rules.write("ns.yaml", text);
    try {
      await reloaded;
      const view = await apiConfig(proxy);
      expect(view.tls.find((t) => t.host === "ns.test")).toMatchObject({ certificate: "secret", secret: "team-a/shared", ingress: "team-a/ns-a" });
      expect(view.tls.find((t) => t.host === "ns2.test")).toMatchObject({ certificate: "local-ca" });
      expect(view.tls.find((t) => t.host === "opaque.test")).toMatchObject({ certificate: "local-ca" });
      const mine = view.warnings.filter((w) => w.file === file && w.code === "unknown-secret");
      expect(mine.map((w) => w.message).join("\n")).toContain("team-b/shared");
      expect(mine.map((w) => w.message).join("\n")).toContain("default/opaque");
      expect(mine).toHaveLength(2);
      expect((await handshake(httpsPort, "ns.test", { ca: ca.certPem })).fingerprint256).toBe(other.fingerprint256);
      const b = await handshake(httpsPort, "ns2.test", { ca: localCaPem });
      expect(b.fingerprint256).not.toBe(other.fingerprint256);
      expect(b.authorized, b.authorizationError).toBe(true);
      const o = await handshake(httpsPort, "opaque.test", { ca: localCaPem });
      expect(o.authorized, o.authorizationError).toBe(true);
    } finally {
      const removed = nextReload(proxy, (s) => s.tls.lookup("opaque.test") === undefined);
      await rm(file);
      await removed;
    }
  });
});

describe("HTTPS listener opened by a reload", () => {
  let up: Upstream;
  let rules: RulesDir;
  let dataDir: string;
  let proxy: Proxy;

  beforeAll(async () => {
    up = await startUpstream(inspect("web"));
    rules = await rulesDir();
    dataDir = await tempDir("ingressd-data-");
    await rules.write("svc.yaml", serviceYaml("web", [up.port]));
    await rules.write("app.yaml", tlsIngressYaml("app", { hosts: ["app.localhost"], service: "web" }));
    // Not startProxy: its `{ ...d }` copies the `httpsPort` getter's value at start (undefined here).
    const d = await startIngressd({ rules: [rules.dir], bind: "127.0.0.1", httpPort: 0, adminBind: "127.0.0.1", adminPort: 0, ingressClass: "ingressd", watch: true, logger: pino({ level: "silent" }), debounceMs: 30, httpsPort: 0, dataDir });
    proxy = Object.assign(d, { url: `http://127.0.0.1:${d.httpPort}`, admin: `http://127.0.0.1:${d.adminPort}` });
  });
  afterAll(async () => {
    await proxy?.close();
    await up?.close();
    await rules?.cleanup();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("has no HTTPS without TLS, and opens it when an Ingress gains spec.tls", async () => {
    expect(proxy.httpsPort).toBeUndefined();
    expect((await get(`${proxy.url}/before`, { host: "app.localhost" })).status).toBe(200);
    const ready = proxy.httpsReady();
    await rules.write("app.yaml", tlsIngressYaml("app", { hosts: ["app.localhost"], service: "web", tls: [{ hosts: ["app.localhost"] }] }));
    const port = await within(ready, 10_000, "HTTPS listener");
    expect(proxy.httpsPort).toBe(port);
    const caPem = await readFile(join(dataDir, "ca.crt"), "utf8");
    const res = await httpsGet(port, "app.localhost", "/after", { ca: caPem });
    expect(res.status).toBe(200);
    expect((JSON.parse(res.body) as Seen).headers["x-forwarded-proto"]).toBe("https");
    const redirect = await get(`${proxy.url}/after?x=1`, { host: "app.localhost" });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.location).toBe(`https://app.localhost:${port}/after?x=1`);
  });

  it("redirects a hostless force-ssl-redirect rule to the Host the client used", async () => {
    const port = await proxy.httpsReady();
    const reloaded = nextReload(proxy, (s) => s.routes.lookup("anything.test", "/") !== undefined);
    await rules.write("catchall.yaml", tlsIngressYaml("catchall", { hosts: [null], service: "web", annotations: { "nginx.ingress.kubernetes.io/force-ssl-redirect": "true" } }));
    await reloaded;
    const named = await get(`${proxy.url}/c?d`, { host: "anything.test" });
    expect(named.status).toBe(308);
    expect(named.headers.location).toBe(`https://anything.test:${port}/c?d`);
    const byIp = await get(`${proxy.url}/c`);
    expect(byIp.status).toBe(308);
    expect(byIp.headers.location).toBe(`https://127.0.0.1:${port}/c`);
  });

  it("never answers a redirect to an empty host (HTTP/1.0 request without Host)", async () => {
    const res = await rawRequest(proxy.httpPort, "GET /c HTTP/1.0\r\n\r\n");
    const location = res.headers.find(([n]) => n.toLowerCase() === "location")?.[1];
    if (res.status === 308) {
      // a redirect must name a host (the address the client connected to would do)
      expect(location).toBeDefined();
      expect(URL.canParse(location!), `Location: ${location}`).toBe(true);
      const url = new URL(location!);
      expect(url.hostname).not.toBe("");
      expect(url.port).toBe(String(await proxy.httpsReady()));
      expect(url.pathname).toBe("/c");
    } else {
      expect(location).toBeUndefined();
    }
  });
});

describe("local CA across restarts", () => {
  it("reuses the CA files of the data dir after a restart, and new leaves verify against it", async () => {
    const up = await startUpstream(inspect("web"));
    const rules = await rulesDir();
    const dataDir = await tempDir("ingressd-data-");
    try {
      await rules.write("svc.yaml", serviceYaml("web", [up.port]));
      await rules.write("ing.yaml", tlsIngressYaml("app", { hosts: ["app.localhost"], service: "web", tls: [{ hosts: ["app.localhost"] }] }));
      const p1 = await startProxy([rules.dir], { httpsPort: 0, dataDir });
      let caPem1: string;
      let keyPem1: string;
      let leaf1: string;
      try {
        const port1 = await p1.httpsReady();
        caPem1 = await readFile(join(dataDir, "ca.crt"), "utf8");
        keyPem1 = await readFile(join(dataDir, "ca.key"), "utf8");
        const h1 = await handshake(port1, "app.localhost", { ca: caPem1 });
        expect(h1.authorized, h1.authorizationError).toBe(true);
        leaf1 = h1.fingerprint256;
        // an idle keep-alive HTTPS connection does not hold up close() for the grace period
        const agent = new HttpsAgent({ keepAlive: true });
        const idle = await httpsGet(port1, "app.localhost", "/idle", { ca: caPem1, agent });
        expect(idle.status).toBe(200);
        expect(idle.socket.destroyed).toBe(false);
        const socketClosed = once(idle.socket, "close");
        await within(p1.close(), 3_000, "close() with an idle keep-alive HTTPS connection");
        await within(socketClosed, 3_000, "the idle HTTPS connection closing");
        agent.destroy();
      } finally {
        await p1.close();
      }

      const p2 = await startProxy([rules.dir], { httpsPort: 0, dataDir });
      try {
        const port2 = await p2.httpsReady();
        expect(await readFile(join(dataDir, "ca.crt"), "utf8")).toBe(caPem1);
        expect(await readFile(join(dataDir, "ca.key"), "utf8")).toBe(keyPem1);
        for (const f of ["ca.crt", "ca.key"]) expect(((await stat(join(dataDir, f))).mode & 0o777).toString(8), f).toBe("600");
        const h2 = await handshake(port2, "app.localhost", { ca: caPem1 });
        expect(h2.authorized, h2.authorizationError).toBe(true);
        expect(h2.cn).toBe("app.localhost");
        // a fresh process issues a fresh leaf, from the same CA
        expect(h2.fingerprint256).not.toBe(leaf1);
        const res = await httpsGet(port2, "app.localhost", "/r", { ca: caPem1 });
        expect(res.status).toBe(200);
        expect((JSON.parse(res.body) as Seen).headers["x-forwarded-proto"]).toBe("https");
      } finally {
        await p2.close();
      }
    } finally {
      await up.close();
      await rules.cleanup();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe("--default-cert / --default-key", () => {
  const log = memoryLog();
  let ca: TestCa;
  let rules: RulesDir;
  let dataDir: string;
  let certDir: string;
  let proxy: Proxy;
  let up: Upstream;

  beforeAll(async () => {
    ca = await createTestCa("default test CA");
    up = await startUpstream(inspect("web"));
    rules = await rulesDir();
    dataDir = await tempDir("ingressd-data-");
    certDir = await tempDir("ingressd-certs-");
  });
  afterAll(async () => {
    await proxy?.close();
    await up?.close();
    await rules?.cleanup();
    await rm(dataDir, { recursive: true, force: true });
    await rm(certDir, { recursive: true, force: true });
  });

  it("serves the default certificate for unknown SNI and no SNI, opens HTTPS without any TLS host, and reloads it when the files are rewritten", async () => {
    const d1 = await ca.issue(["default.test"]);
    const d2 = await ca.issue(["default.test"]);
    const exact = await ca.issue(["exact.test"]);
    const certFile = join(certDir, "default.crt");
    const keyFile = join(certDir, "default.key");
    await writeFile(certFile, d1.cert);
    await writeFile(keyFile, d1.key);
    await rules.write("svc.yaml", serviceYaml("web", [up.port]));
    await rules.write("plain.yaml", tlsIngressYaml("plain", { hosts: ["plain.test"], service: "web" }));
    proxy = await startProxy([rules.dir], { httpsPort: 0, dataDir, defaultCert: certFile, defaultKey: keyFile, logger: log.logger });
    const port = await proxy.httpsReady();

    for (const sni of ["unknown.test", "plain.test", undefined]) {
      const h = await handshake(port, sni, { ca: ca.certPem, chainOnly: true });
      expect(h.fingerprint256, String(sni)).toBe(d1.fingerprint256);
      expect(h.authorized, String(sni)).toBe(true);
    }
    // plain.test has no TLS: served over HTTPS with the default cert, and not redirected on HTTP
    const res = await httpsGet(port, "plain.test", "/d", { ca: ca.certPem, chainOnly: true });
    expect(res.status).toBe(200);
    expect((await get(`${proxy.url}/d`, { host: "plain.test" })).status).toBe(200);

    // A TLS host added later still gets its own Secret; unknown names keep the default.
    const added = nextReload(proxy, (s) => s.tls.lookup("exact.test")?.context !== undefined);
    await rules.write("exact.yaml", `${secretYaml("exact", exact)}---\n${tlsIngressYaml("exact", { hosts: ["exact.test"], service: "web", tls: [{ hosts: ["exact.test"], secretName: "exact" }] })}`);
    await added;
    expect((await handshake(port, "exact.test", { ca: ca.certPem })).fingerprint256).toBe(exact.fingerprint256);
    expect((await handshake(port, "unknown.test", { ca: ca.certPem, chainOnly: true })).fingerprint256).toBe(d1.fingerprint256);

    // Rewrite both files and await ingressd's own word that the pair was reloaded. (A reload
    // that reads the new key with the old certificate fails, so the first success is the new pair.)
    const mark = log.lines.length;
    const reloaded = log.waitForLine((l) => log.lines.indexOf(l) >= mark && l.msg === "default certificate reloaded", "default certificate reloaded", 10_000);
    await writeFile(keyFile, d2.key);
    await writeFile(certFile, d2.cert);
    await reloaded;
    const seen = async (sni: string | undefined): Promise<string> => (await handshake(port, sni, { ca: ca.certPem, chainOnly: true })).fingerprint256;
    expect(await seen("unknown.test"), "unknown SNI after the default files were rewritten").toBe(d2.fingerprint256);
    expect(await seen(undefined), "no SNI after the default files were rewritten").toBe(d2.fingerprint256);
    // TLS hosts are unaffected
    expect((await handshake(port, "exact.test", { ca: ca.certPem })).fingerprint256).toBe(exact.fingerprint256);
    // and the reloaded default context still refuses TLS 1.1
    const legacy = { minVersion: "TLSv1" as const, maxVersion: "TLSv1.1" as const, ciphers: "DEFAULT@SECLEVEL=0" };
    for (const name of ["unknown.test", undefined]) {
      const err = await handshake(port, name, { ca: ca.certPem, extra: legacy }).then(
        (h): NodeJS.ErrnoException => new Error(`handshake succeeded with ${h.protocol}`),
        (e: NodeJS.ErrnoException) => e,
      );
      expect(String(err.code ?? err.message), String(name)).toMatch(/ALERT_PROTOCOL_VERSION/);
    }
  });

  it("keeps serving the previous default certificate when the rewritten files do not match", async () => {
    const port = await proxy.httpsReady();
    const certFile = join(certDir, "default.crt");
    const before = (await handshake(port, "unknown.test", { ca: ca.certPem, chainOnly: true })).fingerprint256;
    const d3 = await ca.issue(["default.test"]);
    const mark = log.lines.length;
    const refused = log.waitForLine((l) => log.lines.indexOf(l) >= mark && l.msg === "default certificate not reloaded; the previous one is still served", "default certificate not reloaded", 10_000);
    await writeFile(certFile, d3.cert); // the key file still holds the previous key
    await refused;
    const h = await handshake(port, "unknown.test", { ca: ca.certPem, chainOnly: true });
    expect(h.fingerprint256).toBe(before);
    expect(h.fingerprint256).not.toBe(d3.fingerprint256);
  });
});

describe("a broken --default-cert", () => {
  it("does not silently leave the TLS hosts without HTTPS: startup fails, or HTTPS opens for the valid Secrets", async () => {
    const ca = await createTestCa("broken default CA");
    const up = await startUpstream(inspect("web"));
    const rules = await rulesDir();
    const dataDir = await tempDir("ingressd-data-");
    const certDir = await tempDir("ingressd-certs-");
    const good = await ca.issue(["good.test"]);
    const other = await ca.issue(["default.test"]);
    const certFile = join(certDir, "default.crt");
    const keyFile = join(certDir, "default.key");
    await writeFile(certFile, other.cert);
    await writeFile(keyFile, good.key); // not the certificate's key
    let proxy: Proxy | undefined;
    try {
      await rules.write("svc.yaml", serviceYaml("web", [up.port]));
      await rules.write("good.yaml", `${secretYaml("good", good)}---\n${tlsIngressYaml("good", { hosts: ["good.test"], service: "web", tls: [{ hosts: ["good.test"], secretName: "good" }] })}`);
      const started = await startProxy([rules.dir], { httpsPort: 0, dataDir, defaultCert: certFile, defaultKey: keyFile }).then(
        (p) => p,
        (e: Error) => e,
      );
      if (started instanceof Error) {
        // failing fast is fine, if it names the file
        expect(started.message).toMatch(/default\.(crt|key)/);
        return;
      }
      proxy = started;
      const port = await within(proxy.httpsReady(), 5_000, "HTTPS listener (the default certificate files do not match; startIngressd resolved anyway)");
      const h = await handshake(port, "good.test", { ca: ca.certPem });
      expect(h.fingerprint256).toBe(good.fingerprint256);
    } finally {
      await proxy?.close();
      await up.close();
      await rules.cleanup();
      await rm(dataDir, { recursive: true, force: true });
      await rm(certDir, { recursive: true, force: true });
    }
  });
});

describe("ingressd ca path", () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await tempDir("ingressd-cli-");
    // tsc emits even when some file (perhaps one being edited concurrently) has a type
    // error; what matters here is that the CLI was freshly built.
    const root = join(import.meta.dirname, "..");
    const started = Date.now();
    const build = await run("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: root }).catch((e: { stdout?: string }) => e);
    if ("stdout" in build && build.stdout) console.warn(`tsc -p tsconfig.build.json reported:\n${build.stdout}`);
    for (const f of ["cli.js", "tls/localCa.js"]) {
      expect((await stat(join(root, "dist", f))).mtimeMs, `dist/${f} rebuilt`).toBeGreaterThanOrEqual(started - 1000);
    }
  }, 120_000);
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("prints the CA certificate path and trust commands, creating the CA files (mode 0600), and reuses them", async () => {
    const caDir = join(dataDir, "nested", "ingressd");
    const cli = join(import.meta.dirname, "..", "dist", "cli.js");
    const env = { ...process.env, HOME: dataDir, XDG_DATA_HOME: join(dataDir, "xdg") };
    const out1 = await run(process.execPath, [cli, "ca", "path", "--data-dir", caDir], { env });
    const certPath = join(caDir, "ca.crt");
    expect(out1.stdout.split("\n")[0]).toBe(certPath);
    expect(out1.stdout).toContain("update-ca-certificates");
    expect(out1.stdout).toContain(`--cacert ${certPath}`);
    for (const f of ["ca.crt", "ca.key"]) expect(((await stat(join(caDir, f))).mode & 0o777).toString(8), f).toBe("600");
    const pem = await readFile(certPath, "utf8");
    const cert = new X509Certificate(pem);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toContain(LOCAL_CA_CN);

    const out2 = await run(process.execPath, [cli, "ca", "path", "--data-dir", caDir], { env });
    expect(out2.stdout).toBe(out1.stdout);
    expect(await readFile(certPath, "utf8")).toBe(pem);
  });

  it("rejects an unknown ca subcommand with exit code 2", async () => {
    const cli = join(import.meta.dirname, "..", "dist", "cli.js");
    const err = await run(process.execPath, [cli, "ca", "nope", "--data-dir", dataDir]).then(
      () => undefined,
      (e: { code?: number; stderr?: string }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err?.stderr).toContain("ca path");
  });
});

describe("HTTPS on port 443", () => {
  it("leaves the port out of the redirect Location", async (ctx) => {
    // Needs to bind 443 on loopback (root, and the port free); skipped otherwise.
    const probe = createHttpServer();
    const free = await new Promise<boolean>((resolve) => {
      probe.once("error", () => resolve(false));
      probe.listen(443, "127.0.0.1", () => probe.close(() => resolve(true)));
    });
    if (!free) ctx.skip();
    const up = await startUpstream(inspect("web"));
    const rules = await rulesDir();
    const dataDir = await tempDir("ingressd-data-");
    try {
      await rules.write("svc.yaml", serviceYaml("web", [up.port]));
      await rules.write("app.yaml", tlsIngressYaml("app", { hosts: ["app.localhost"], service: "web", tls: [{ hosts: ["app.localhost"] }] }));
      const proxy = await startProxy([rules.dir], { httpsPort: 443, dataDir });
      try {
        expect(await proxy.httpsReady()).toBe(443);
        const res = await get(`${proxy.url}/x?y=1`, { host: "app.localhost" });
        expect(res.status).toBe(308);
        expect(res.headers.location).toBe("https://app.localhost/x?y=1");
      } finally {
        await proxy.close();
      }
    } finally {
      await up.close();
      await rules.cleanup();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe("force-ssl-redirect without any TLS configured", () => {
  it("redirects (the HTTPS listener opens with the default certificate) rather than serving plain HTTP", async () => {
    const up = await startUpstream(inspect("web"));
    const rules = await rulesDir();
    const dataDir = await tempDir("ingressd-data-");
    try {
      await rules.write("svc.yaml", serviceYaml("web", [up.port]));
      await rules.write("force.yaml", tlsIngressYaml("force", { hosts: ["force.test"], service: "web", annotations: { "nginx.ingress.kubernetes.io/force-ssl-redirect": "true" } }));
      const proxy = await startProxy([rules.dir], { httpsPort: 0, dataDir });
      try {
        const res = await get(`${proxy.url}/f`, { host: "force.test" });
        expect(res.status, `answered ${res.status} over plain HTTP; HTTPS port: ${String(proxy.httpsPort)}`).toBe(308);
        const port = await within(proxy.httpsReady(), 5_000, "HTTPS listener");
        expect(res.headers.location).toBe(`https://force.test:${port}/f`);
      } finally {
        await proxy.close();
      }
    } finally {
      await up.close();
      await rules.cleanup();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
