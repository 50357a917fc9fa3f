import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer as createTlsServer, type Server as TlsServer } from "node:tls";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emptySnapshot } from "../src/snapshot.js";
import { CertificateSelector } from "../src/tls/certificateSelector.js";
import { TlsTable } from "../src/tls/tlsTable.js";
import { handshake, type Handshake } from "./tlsHelpers.js";

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
  let dataDir: string;
  let server: TlsServer;
  let port: number;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "ingressd-data-"));
    const snapshot = { ...emptySnapshot(), tls: new TlsTable(new Map(), new Map([["wild.test", { host: "*.wild.test", ingress: "default/wild" }]])) };
    const selector = new CertificateSelector({ snapshots: { current: snapshot }, logger: pino({ level: "silent" }), dataDir, now: clock.now });
    server = createTlsServer({ ...(await selector.loadDefault()), SNICallback: selector.sniCallback }, (s) => s.end());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("serves the same leaf until a day before it ends, then a new one (a later end), and never the old one again", async () => {
    const host = "renew.wild.test";
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
