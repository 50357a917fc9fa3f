import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rulesDir, serviceYaml, startProxy, startUpstream, type RulesDir, type Upstream } from "./helpers.js";
import { memoryLog } from "./healthHelpers.js";
import { inspect, type Proxy } from "./proxyHelpers.js";
import { createTestCa, handshake, secretYaml, selectorServer, tlsIngressYaml, type Handshake, type SelectorServer } from "./tlsHelpers.js";

const DAY = 24 * 3600_000;
const LOCAL_CA_CN = "ingressd local development CA";

/** A wall clock the test moves forward: the real time plus `offset`. */
function testClock(): { now: () => number; offset: number } {
  const clock = { offset: 0, now: () => Date.now() + clock.offset };
  return clock;
}

/** What tells two certificates apart, and when the served one ends. */
const served = (h: Handshake): { fingerprint256: string; serial: string; notAfter: number } => ({
  fingerprint256: h.fingerprint256,
  serial: h.cert.serialNumber,
  notAfter: Date.parse(h.cert.valid_to),
});

describe("local-CA leaves are reissued a day before they end (CertificateSelector, injected clock)", () => {
  const clock = testClock();
  let wild: SelectorServer;
  beforeAll(async () => {
    wild = await selectorServer({ now: clock.now });
  });
  afterAll(() => wild?.close());

  it("serves the same leaf until a day before it ends, then a new one (a later end), and never the old one again", async () => {
    const host = "renew.wild.test";
    const { port } = wild;
    const first = await handshake(port, host);
    expect(first.cn).toBe(host);
    expect(first.cert.issuer?.CN).toBe(LOCAL_CA_CN);
    const old = served(first);
    expect(old.notAfter - Date.now(), "a leaf lasts a week").toBeGreaterThan(6.9 * DAY);

    clock.offset = 6 * DAY - 3600_000; // an hour before it is due
    expect(served(await handshake(port, host)), "not due yet: the kept leaf").toEqual(old);

    clock.offset = 6 * DAY + 3600_000; // an hour after it was due
    const renewed = served(await handshake(port, host));
    expect(renewed.fingerprint256, "due: a new leaf").not.toBe(old.fingerprint256);
    expect(renewed.serial).not.toBe(old.serial);
    expect(renewed.notAfter, "the new leaf ends a week after the (moved) clock").toBeGreaterThan(old.notAfter + 5 * DAY);
    for (let i = 0; i < 3; i++) expect(served(await handshake(port, host)), "the renewed leaf is kept, the old one gone").toEqual(renewed);
  });
});

describe("the local CA's default certificate is renewed while ingressd runs", () => {
  const clock = testClock();
  const log = memoryLog();
  let up: Upstream;
  let rules: RulesDir;
  let dataDir: string;
  let proxy: Proxy;
  let rsaFingerprint: string;

  beforeAll(async () => {
    const ca = await createTestCa("renewal test CA");
    const rsa = await ca.issue(["rsa.test"], { keyType: "RSA-2048" });
    up = await startUpstream(inspect("web"));
    rules = await rulesDir();
    dataDir = await mkdtemp(join(tmpdir(), "ingressd-data-"));
    await rules.write("svc.yaml", serviceYaml("web", [up.port]));
    await rules.write("secret.yaml", secretYaml("rsa", rsa));
    await rules.write("ing.yaml", tlsIngressYaml("rsa", { hosts: ["rsa.test"], service: "web", tls: [{ hosts: ["rsa.test"], secretName: "rsa" }] }));
    proxy = await startProxy([rules.dir], { httpsPort: 0, dataDir, logger: log.logger, now: clock.now, defaultRenewalCheckMs: 20 });
    rsaFingerprint = rsa.fingerprint256;
  });

  afterAll(async () => {
    await proxy?.close();
    await up?.close();
    await rules?.cleanup();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("a day before it ends: installed for new handshakes without SNI, for localhost and for unknown names, ending later; Secrets of another key type still win", async () => {
    const port = await proxy.httpsReady();
    const first = await handshake(port, undefined);
    expect(first.cn).toBe("localhost");
    expect(first.cert.issuer?.CN).toBe(LOCAL_CA_CN);
    const old = served(first);
    for (const sni of ["localhost", "unknown.test"]) expect(served(await handshake(port, sni)), sni).toEqual(old);

    const mark = log.lines.length;
    const renewedLine = log.waitForLine((l) => log.lines.indexOf(l) >= mark && l.msg === "default certificate renewed", "default certificate renewed", 10_000);
    clock.offset = 6 * DAY + 3600_000; // an hour after it was due
    const line = await renewedLine;

    const none = await handshake(port, undefined);
    expect(none.cn).toBe("localhost");
    expect(none.cert.issuer?.CN).toBe(LOCAL_CA_CN);
    const renewed = served(none);
    expect(renewed.fingerprint256, "no SNI after renewal").not.toBe(old.fingerprint256);
    expect(renewed.serial).not.toBe(old.serial);
    expect(renewed.notAfter, "the renewed default ends later").toBeGreaterThan(old.notAfter + 5 * DAY);
    expect(Date.parse(String(line.notAfter)), "the log names when it ends").toBe(renewed.notAfter);
    for (const sni of ["localhost", "unknown.test", undefined]) expect(served(await handshake(port, sni)), `${sni} after renewal`).toEqual(renewed);

    // setSecureContext kept the default's key type ranked last: the RSA Secret is served whole.
    for (const version of ["TLSv1.2", "TLSv1.3"] as const) {
      const h = await handshake(port, "rsa.test", { extra: { minVersion: version, maxVersion: version } });
      expect(h.fingerprint256, `RSA Secret on ${version} after renewal: served ${h.cn}`).toBe(rsaFingerprint);
    }
    expect(log.lines.filter((l) => l.msg === "default certificate renewed"), "renewed once: the new one is not due").toHaveLength(1);
  });
});
