import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkCommand } from "../src/commands/check.js";
import { parseRulesFile } from "../src/config/parse.js";
import { validateDocuments } from "../src/config/validate.js";
import { get, nextReload, serviceYaml, startUpstream, type RulesDir, type Upstream } from "./helpers.js";
import { proxyWith, type Proxy } from "./proxyHelpers.js";
import { positionOf } from "./reloadHelpers.js";
import { createTestCa, tlsIngressYaml, type Pem, type TestCa } from "./tlsHelpers.js";

const P = "nginx.ingress.kubernetes.io/";

/** An Ingress routing `host` / to `service`:80, with nginx annotations given by short name. */
function annotated(name: string, host: string, service: string, annotations: Record<string, string>): string {
  return tlsIngressYaml(name, { hosts: [host], service, annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [P + k, v])) });
}

/** An Opaque Secret with the given PEM fields (`ca.crt`, `tls.crt`, `tls.key`). */
function pemSecret(name: string, fields: Record<string, string>): string {
  return `apiVersion: v1
kind: Secret
metadata:
  name: ${name}
type: Opaque
data:
${Object.entries(fields)
  .map(([k, v]) => `  ${k}: ${Buffer.from(v).toString("base64")}`)
  .join("\n")}
`;
}

/** What the HTTPS upstream saw of one request's TLS connection. */
interface TlsSeen {
  servername: string | false | null;
  clientCn: string | null;
  url: string;
  host: string;
}

/** A node:https upstream on 127.0.0.1 answering what it saw of the TLS connection; it asks for (never requires) a client certificate. */
async function httpsUpstream(pem: Pem, clientCa: string): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer({ cert: pem.cert, key: pem.key, ca: clientCa, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const socket = req.socket as TLSSocket;
    const peer = socket.getPeerCertificate();
    const seen: TlsSeen = { servername: socket.servername, clientCn: typeof peer.subject?.CN === "string" ? peer.subject.CN : null, url: req.url ?? "", host: req.headers.host ?? "" };
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(seen));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("Backend protocol (ingress-nginx annotations.md § Backend Protocol, § Backend Certificate Authentication)", () => {
  let ca: TestCa;
  let otherCa: TestCa;
  let upstream: Awaited<ReturnType<typeof httpsUpstream>>;
  let plain: Upstream;
  let proxy: Proxy;
  let rules: RulesDir;

  beforeAll(async () => {
    ca = await createTestCa("upstream CA");
    otherCa = await createTestCa("some other CA");
    const serverPem = await ca.issue(["api.internal", "secure.default.svc"]);
    const clientPem = await ca.issue(["ingressd-client"]);
    upstream = await httpsUpstream(serverPem, ca.certPem);
    plain = await startUpstream("plain");
    ({ proxy, rules } = await proxyWith({
      "services.yaml": [serviceYaml("secure", [upstream.port]), serviceYaml("plain", [plain.port])].join("---\n"),
      "secrets.yaml": [
        pemSecret("upstream-ca", { "ca.crt": ca.certPem }),
        pemSecret("wrong-ca", { "ca.crt": otherCa.certPem }),
        pemSecret("with-client-cert", { "ca.crt": ca.certPem, "tls.crt": clientPem.cert, "tls.key": clientPem.key }),
      ].join("---\n"),
      "https.yaml": annotated("https", "https.localhost", "secure", { "backend-protocol": "HTTPS" }),
      "lower.yaml": annotated("lower", "lower.localhost", "secure", { "backend-protocol": "https" }),
      "named.yaml": annotated("named", "named.localhost", "secure", { "backend-protocol": "HTTPS", "proxy-ssl-name": "api.internal" }),
      "verified.yaml": annotated("verified", "verified.localhost", "secure", { "backend-protocol": "HTTPS", "proxy-ssl-verify": "on", "proxy-ssl-secret": "default/upstream-ca", "proxy-ssl-name": "api.internal" }),
      "verified-default-name.yaml": annotated("verified-default-name", "svcname.localhost", "secure", { "backend-protocol": "HTTPS", "proxy-ssl-verify": "on", "proxy-ssl-secret": "upstream-ca" }),
      "wrong-ca.yaml": annotated("wrong-ca", "wrongca.localhost", "secure", { "backend-protocol": "HTTPS", "proxy-ssl-verify": "on", "proxy-ssl-secret": "default/wrong-ca" }),
      "wrong-name.yaml": annotated("wrong-name", "wrongname.localhost", "secure", { "backend-protocol": "HTTPS", "proxy-ssl-verify": "on", "proxy-ssl-secret": "default/upstream-ca", "proxy-ssl-name": "other.internal" }),
      "unverified.yaml": annotated("unverified", "unverified.localhost", "secure", { "backend-protocol": "HTTPS", "proxy-ssl-secret": "default/wrong-ca" }),
      "client-cert.yaml": annotated("client-cert", "client.localhost", "secure", { "backend-protocol": "HTTPS", "proxy-ssl-verify": "on", "proxy-ssl-secret": "default/with-client-cert" }),
      "missing.yaml": annotated("missing", "missing.localhost", "secure", { "backend-protocol": "HTTPS", "proxy-ssl-secret": "default/nope" }),
      "grpcs.yaml": annotated("grpcs", "grpcs.localhost", "secure", { "backend-protocol": "GRPCS" }),
      "grpc.yaml": annotated("grpc", "grpc.localhost", "plain", { "backend-protocol": "GRPC" }),
      "http.yaml": annotated("http", "http.localhost", "secure", {}),
    }));
  });
  afterAll(async () => {
    await proxy.close();
    await upstream.close();
    await plain.close();
    await rules.cleanup();
  });

  async function through(host: string): Promise<{ status: number; seen?: TlsSeen; body: string }> {
    const res = await get(`${proxy.url}/some/path?q=1`, { host });
    return { status: res.status, body: res.body, ...(res.status === 200 ? { seen: JSON.parse(res.body) as TlsSeen } : {}) };
  }

  it("HTTPS: the request reaches the upstream over TLS, SNI the Service's host name, the certificate not verified", async () => {
    // The upstream's certificate is from a CA ingressd was never told of: accepted, as nginx's proxy_ssl_verify off.
    for (const host of ["https.localhost", "lower.localhost"]) {
      const r = await through(host);
      expect(r.status, r.body).toBe(200);
      expect(r.seen).toEqual({ servername: "secure.default.svc", clientCn: null, url: "/some/path?q=1", host });
    }
  });

  it("without backend-protocol the TLS upstream is spoken to in plain HTTP, which fails (502)", async () => {
    expect((await through("http.localhost")).status).toBe(502);
  });

  it("proxy-ssl-name is the SNI the upstream sees", async () => {
    const r = await through("named.localhost");
    expect(r.status, r.body).toBe(200);
    expect(r.seen!.servername).toBe("api.internal");
  });

  it("proxy-ssl-verify on with proxy-ssl-secret's ca.crt: a certificate from that CA for the name is accepted", async () => {
    const r = await through("verified.localhost");
    expect(r.status, r.body).toBe(200);
    expect(r.seen!.servername).toBe("api.internal");
    const byServiceName = await through("svcname.localhost");
    expect(byServiceName.status, byServiceName.body).toBe(200);
    expect(byServiceName.seen!.servername).toBe("secure.default.svc");
  });

  it("proxy-ssl-verify on: a certificate from another CA, or for another name, is refused with 502", async () => {
    expect((await through("wrongca.localhost")).status).toBe(502);
    expect((await through("wrongname.localhost")).status).toBe(502);
  });

  it("a proxy-ssl-secret without proxy-ssl-verify does not verify (as nginx's proxy_ssl_verify off)", async () => {
    expect((await through("unverified.localhost")).status).toBe(200);
  });

  it("the proxy-ssl-secret's tls.crt/tls.key is presented to the upstream as a client certificate", async () => {
    const r = await through("client.localhost");
    expect(r.status, r.body).toBe(200);
    expect(r.seen!.clientCn).toBe("ingressd-client");
  });

  it("a proxy-ssl-secret that does not exist: an error at the annotation, and 503 naming it", async () => {
    const r = await through("missing.localhost");
    expect(r.status).toBe(503);
    expect(r.body).toContain("default/nope");
    const issue = proxy.runtime.current.issues.find((i) => i.message.includes("default/nope"));
    expect(issue?.severity).toBe("error");
    expect(issue?.file).toMatch(/missing\.yaml$/);
    expect(issue?.line).toBe(positionOf(annotated("missing", "missing.localhost", "secure", { "backend-protocol": "HTTPS", "proxy-ssl-secret": "default/nope" }), `${P}proxy-ssl-secret:`).line);
  });

  it("GRPCS and GRPC are spoken to over HTTP/2 (issue 12; calls in test/grpc.test.ts): these HTTP/1.1-only upstreams are a bad gateway", async () => {
    expect((await through("grpcs.localhost")).status).toBe(502);
    expect((await get(`${proxy.url}/`, { host: "grpc.localhost" })).status).toBe(502);
    const metrics = await get(`${proxy.admin}/metrics`);
    expect(metrics.body).toContain(`service="default/secure:80+https+h2"`);
    expect(metrics.body).toContain(`service="default/plain:80+h2"`);
  });

  it("ingressd check takes GRPC and GRPCS without a warning (issue 12)", async () => {
    const { output } = await checkCommand([rules.dir], { ingressClass: "ingressd", format: "text", cwd: rules.dir });
    expect(output).not.toMatch(/grpcs?\.yaml:\d+:\d+: warning/);
  });

  it("the access log and metrics name the backend readably", async () => {
    await through("named.localhost");
    const metrics = await get(`${proxy.admin}/metrics`);
    expect(metrics.body).toContain(`service="default/secure:80+https(name=api.internal)"`);
  });

  it("a Secret's new CA takes effect on reload: connections are made with the new settings", async () => {
    expect((await through("wrongca.localhost")).status).toBe(502);
    const reloaded = nextReload(proxy);
    await rules.write("secrets.yaml", (await readFile(join(rules.dir, "secrets.yaml"), "utf8")).replace(pemSecret("wrong-ca", { "ca.crt": otherCa.certPem }), pemSecret("wrong-ca", { "ca.crt": ca.certPem })));
    await reloaded;
    expect((await through("wrongca.localhost")).status).toBe(200);
  });

  describe("bad values are errors at the annotation's line", () => {
    function errorsOf(annotations: Record<string, string>) {
      const text = annotated("bad", "bad.localhost", "secure", annotations);
      const parsed = parseRulesFile("bad.yaml", text);
      if (!parsed.ok) throw new Error("unexpected syntax error");
      const result = validateDocuments(parsed.documents);
      return { text, result, errors: result.issues.filter((i) => i.severity === "error"), warnings: result.issues.filter((i) => i.severity === "warning") };
    }

    it.each([
      ["backend-protocol", "SPDY", /must be HTTP, HTTPS, GRPC or GRPCS .*not "SPDY"/],
      ["backend-protocol", "FCGI", /"FCGI" is not supported/],
      ["proxy-ssl-verify", "yes", /must be "on" or "off", not "yes"/],
      ["proxy-ssl-name", "$host", /must be a host name, not "\$host"/],
      ["proxy-ssl-secret", "a/b/c", /must name a Secret as namespace\/name/],
    ])("%s: %s", (name, value, message) => {
      const { text, result, errors } = errorsOf({ "backend-protocol": "HTTPS", [name]: value });
      expect(errors).toHaveLength(1);
      expect(errors[0]!.message).toMatch(message);
      expect(errors[0]!.line).toBe(positionOf(text, `${P}${name}:`).line);
      expect(result.resources.map((r) => r.kind)).not.toContain("Ingress");
    });

    it("proxy-ssl-* with a plain-HTTP upstream, proxy-ssl-verify without a Secret, proxy-ssl-server-name off: warnings", () => {
      expect(errorsOf({ "proxy-ssl-name": "api.internal" }).warnings[0]!.message).toMatch(/proxy-ssl-name has no effect/);
      expect(errorsOf({ "backend-protocol": "HTTPS", "proxy-ssl-verify": "on" }).warnings[0]!.message).toMatch(/proxy-ssl-verify needs proxy-ssl-secret/);
      expect(errorsOf({ "backend-protocol": "HTTPS", "proxy-ssl-server-name": "off" }).warnings[0]!.message).toMatch(/always sends SNI/);
      expect(errorsOf({ "backend-protocol": "HTTPS", "proxy-ssl-server-name": "on" }).warnings).toEqual([]);
    });
  });
});
