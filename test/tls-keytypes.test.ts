import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rulesDir, serviceYaml, startProxy, startUpstream, type RulesDir, type Upstream } from "./helpers.js";
import { memoryLog } from "./healthHelpers.js";
import { inspect, type Proxy } from "./proxyHelpers.js";
import { createTestCa, handshake, secretYaml, tlsIngressYaml, type LeafKeyType, type Pem, type TestCa } from "./tlsHelpers.js";

const run = promisify(execFile);
const KEY_TYPES: LeafKeyType[] = ["RSA-2048", "RSA-4096", "P-256", "P-384"];
const VERSIONS = ["TLSv1.2", "TLSv1.3"] as const;
const LOCAL_CA_CN = "ingressd local development CA";
const hostOf = (t: LeafKeyType): string => `${t.toLowerCase()}.keys.test`;

/** The leaf certificate `openssl s_client` was served, as a fingerprint. */
async function opensslLeaf(port: number, servername: string, version: "-tls1_2" | "-tls1_3"): Promise<string> {
  const pending = run("openssl", ["s_client", version, "-connect", `127.0.0.1:${port}`, "-servername", servername], { timeout: 10_000 });
  pending.child.stdin?.end();
  const { stdout } = await pending;
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(stdout)?.[0];
  if (!pem) throw new Error(`openssl s_client printed no certificate:\n${stdout}`);
  return new X509Certificate(pem).fingerprint256;
}

describe("every Secret is served whole, whatever its key type and the default certificate's (issue 9.1)", () => {
  let ca: TestCa;
  let secrets: Record<LeafKeyType, Pem>;
  let up: Upstream;
  let rules: RulesDir;
  let dirs: string[] = [];

  beforeAll(async () => {
    ca = await createTestCa("key types test CA");
    secrets = Object.fromEntries(await Promise.all(KEY_TYPES.map(async (t) => [t, await ca.issue([hostOf(t)], { keyType: t })] as const))) as Record<LeafKeyType, Pem>;
    up = await startUpstream(inspect("web"));
    rules = await rulesDir();
    await rules.write("svc.yaml", serviceYaml("web", [up.port]));
    for (const t of KEY_TYPES) await rules.write(`secret-${t}.yaml`, secretYaml(t.toLowerCase(), secrets[t]));
    await rules.write(
      "ing.yaml",
      tlsIngressYaml("keys", {
        hosts: [...KEY_TYPES.map(hostOf), "local.keys.test", "*.wild.keys.test"],
        service: "web",
        tls: [...KEY_TYPES.map((t) => ({ hosts: [hostOf(t)], secretName: t.toLowerCase() })), { hosts: ["local.keys.test", "*.wild.keys.test"] }],
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await up?.close();
    await rules?.cleanup();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
    dirs = [];
  });

  const tempDir = async (prefix: string): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };

  /** Each Secret on TLS 1.2 and 1.3; local-CA leaves for hosts without one; the default without SNI. */
  async function expectEveryCertificate(port: number, dataDir: string, defaultFingerprint: string, label: string): Promise<void> {
    await handshake(port, "local.keys.test"); // creates the local CA when a --default-cert kept it unused
    const localCa = await readFile(join(dataDir, "ca.crt"), "utf8");
    for (const version of VERSIONS) {
      const extra = { minVersion: version, maxVersion: version };
      for (const t of KEY_TYPES) {
        const h = await handshake(port, hostOf(t), { ca: ca.certPem, extra });
        expect(h.protocol, `${label}, ${t} Secret`).toBe(version);
        expect(h.fingerprint256, `${label}, ${t} Secret on ${version}: served ${h.cn}`).toBe(secrets[t].fingerprint256);
        expect(h.authorized, `${label}, ${t} Secret on ${version}: ${h.authorizationError}`).toBe(true);
      }
      for (const host of ["local.keys.test", "any.wild.keys.test"]) {
        const h = await handshake(port, host, { ca: localCa, extra });
        expect(h.cn, `${label}, local-CA leaf for ${host} on ${version}`).toBe(host);
        expect(h.cert.issuer?.CN, `${label}, ${host}`).toBe(LOCAL_CA_CN);
        expect(h.authorized, `${label}, ${host} on ${version}: ${h.authorizationError}`).toBe(true);
      }
      const none = await handshake(port, undefined, { extra });
      expect(none.fingerprint256, `${label}, no SNI on ${version}`).toBe(defaultFingerprint);
    }
    // The issue's own reproduction, with OpenSSL's client and its signature algorithm order.
    for (const t of KEY_TYPES) {
      expect(await opensslLeaf(port, hostOf(t), "-tls1_3"), `${label}, openssl s_client -tls1_3 for the ${t} Secret`).toBe(secrets[t].fingerprint256);
      expect(await opensslLeaf(port, hostOf(t), "-tls1_2"), `${label}, openssl s_client -tls1_2 for the ${t} Secret`).toBe(secrets[t].fingerprint256);
    }
  }

  it("with the local CA's default certificate (ECDSA)", async () => {
    const dataDir = await tempDir("ingressd-data-");
    const proxy: Proxy = await startProxy([rules.dir], { httpsPort: 0, dataDir });
    try {
      const port = await proxy.httpsReady();
      const def = await handshake(port, "unknown.test");
      expect(def.cn).toBe("localhost");
      await expectEveryCertificate(port, dataDir, def.fingerprint256, "local CA default");
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it("with an RSA --default-cert, and after it is rewritten with an ECDSA P-384 one", async () => {
    const dataDir = await tempDir("ingressd-data-");
    const certDir = await tempDir("ingressd-certs-");
    const rsa = await ca.issue(["default.test"], { keyType: "RSA-2048" });
    const ecdsa = await ca.issue(["default.test"], { keyType: "P-384" });
    const certFile = join(certDir, "default.crt");
    const keyFile = join(certDir, "default.key");
    await writeFile(certFile, rsa.cert);
    await writeFile(keyFile, rsa.key);
    const log = memoryLog();
    const proxy: Proxy = await startProxy([rules.dir], { httpsPort: 0, dataDir, defaultCert: certFile, defaultKey: keyFile, logger: log.logger });
    try {
      const port = await proxy.httpsReady();
      await expectEveryCertificate(port, dataDir, rsa.fingerprint256, "RSA default");

      // setSecureContext on reload must rank the new default's key type last too.
      const mark = log.lines.length;
      const reloaded = log.waitForLine((l) => log.lines.indexOf(l) >= mark && l.msg === "default certificate reloaded", "default certificate reloaded", 10_000);
      await writeFile(keyFile, ecdsa.key);
      await writeFile(certFile, ecdsa.cert);
      await reloaded;
      await expectEveryCertificate(port, dataDir, ecdsa.fingerprint256, "ECDSA P-384 default after reload");
    } finally {
      await proxy.close();
    }
  }, 60_000);
});
