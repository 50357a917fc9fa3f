import "reflect-metadata"; // @peculiar/x509 needs it loaded first
import * as x509 from "@peculiar/x509";
import { randomBytes, webcrypto, X509Certificate } from "node:crypto";
import { request as httpsRequest, type Agent as HttpsAgent } from "node:https";
import type { IncomingMessage } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect, createServer as createTlsServer, type ConnectionOptions, type DetailedPeerCertificate, type TLSSocket } from "node:tls";
import pino from "pino";
import { emptySnapshot } from "../src/snapshot/snapshot.js";
import { CertificateSelector, type CertificateSelectorOptions } from "../src/proxy/certificateSelector.js";
import { TlsTable } from "../src/tls/tlsTable.js";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY = 24 * 3600_000;

/** A PEM certificate (chain) and key, and the leaf's SHA-256 fingerprint as Node prints it. */
export interface Pem {
  cert: string;
  key: string;
  fingerprint256: string;
}

export interface TestCa {
  certPem: string;
  cert: x509.X509Certificate;
  key: CryptoKey;
  /**
   * Issues a leaf for `names` (SAN DNS), valid from `notBefore` to `notAfter` (default: an
   * hour ago to 30 days on), with a key of type `keyType` (default ECDSA P-256), and `ips`
   * as SAN IP addresses too (a server reached as https://127.0.0.1 needs one).
   */
  issue(names: string[], opts?: { notBefore?: Date; notAfter?: Date; keyType?: LeafKeyType; ips?: string[] }): Promise<Pem>;
}

function serial(): string {
  const b = randomBytes(16);
  b[0]! &= 0x7f;
  return b.toString("hex");
}

/** The key types a Secret comes with: openssl, mkcert and cert-manager default to RSA 2048. */
export type LeafKeyType = "RSA-2048" | "RSA-4096" | "P-256" | "P-384";

const LEAF_KEY_ALG: Record<LeafKeyType, RsaHashedKeyGenParams | EcKeyGenParams> = {
  "RSA-2048": { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
  "RSA-4096": { name: "RSASSA-PKCS1-v1_5", modulusLength: 4096, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
  "P-256": ALG,
  "P-384": { name: "ECDSA", namedCurve: "P-384" },
};
type RsaHashedKeyGenParams = webcrypto.RsaHashedKeyGenParams;
type EcKeyGenParams = webcrypto.EcKeyGenParams;

async function keyPair(alg: RsaHashedKeyGenParams | EcKeyGenParams = ALG): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as CryptoKeyPair;
}

async function keyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY");
}

export function fingerprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

/** A throwaway CA for the tests (never the local development CA under test). */
export async function createTestCa(name = "ingressd test CA"): Promise<TestCa> {
  const keys = await keyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${name}`,
    notBefore: new Date(now - 2 * 365 * DAY),
    notAfter: new Date(now + 365 * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = cert.toString("pem");
  return {
    certPem,
    cert,
    key: keys.privateKey,
    async issue(names, opts = {}) {
      const leafKeys = await keyPair(LEAF_KEY_ALG[opts.keyType ?? "P-256"]);
      const t = Date.now();
      const leaf = await x509.X509CertificateGenerator.create({
        serialNumber: serial(),
        subject: `CN=${names[0]}`,
        issuer: cert.subject,
        notBefore: opts.notBefore ?? new Date(t - 3600_000),
        notAfter: opts.notAfter ?? new Date(t + 30 * DAY),
        signingKey: keys.privateKey,
        publicKey: leafKeys.publicKey,
        signingAlgorithm: ALG,
        extensions: [
          new x509.SubjectAlternativeNameExtension([
            ...names.map((n) => ({ type: "dns" as const, value: n })),
            ...(opts.ips ?? []).map((ip) => ({ type: "ip" as const, value: ip })),
          ]),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.BasicConstraintsExtension(false),
          await x509.AuthorityKeyIdentifierExtension.create(cert),
        ],
      });
      const leafPem = leaf.toString("pem");
      return { cert: leafPem, key: await keyPem(leafKeys.privateKey), fingerprint256: fingerprintOf(leafPem) };
    },
  };
}

/** A private key unrelated to any certificate. */
export async function strayKey(): Promise<string> {
  return keyPem((await keyPair()).privateKey);
}

/** YAML for a `kubernetes.io/tls` Secret, base64 `data` or plain `stringData`. */
export function secretYaml(name: string, pem: { cert: string; key: string }, opts: { stringData?: boolean; namespace?: string } = {}): string {
  const ns = opts.namespace ? `\n  namespace: ${opts.namespace}` : "";
  if (opts.stringData) {
    const block = (s: string): string =>
      s
        .trim()
        .split("\n")
        .map((l) => `    ${l}`)
        .join("\n");
    return `apiVersion: v1
kind: Secret
metadata:
  name: ${name}${ns}
type: kubernetes.io/tls
stringData:
  tls.crt: |
${block(pem.cert)}
  tls.key: |
${block(pem.key)}
`;
  }
  return `apiVersion: v1
kind: Secret
metadata:
  name: ${name}${ns}
type: kubernetes.io/tls
data:
  tls.crt: ${Buffer.from(pem.cert).toString("base64")}
  tls.key: ${Buffer.from(pem.key).toString("base64")}
`;
}

/** 1-based line of the first line of `text` that contains `needle`. */
export function lineOf(text: string, needle: string): number {
  const i = text.split("\n").findIndex((l) => l.includes(needle));
  if (i === -1) throw new Error(`"${needle}" not in text`);
  return i + 1;
}

/** YAML for an Ingress: one rule per host (null: a rule without host) → `service`:80, optional `spec.tls` and annotations. */
export function tlsIngressYaml(
  name: string,
  opts: { hosts: (string | null)[]; service: string; tls?: { hosts: string[]; secretName?: string }[]; annotations?: Record<string, string>; namespace?: string },
): string {
  const ns = opts.namespace ? `\n  namespace: ${opts.namespace}` : "";
  const ann = opts.annotations
    ? `\n  annotations:\n${Object.entries(opts.annotations)
        .map(([k, v]) => `    ${k}: "${v}"`)
        .join("\n")}`
    : "";
  const rules = opts.hosts
    .map(
      (h) => `    - ${h === null ? "" : `host: "${h}"
      `}http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: ${opts.service}
                port:
                  number: 80`,
    )
    .join("\n");
  const tls = opts.tls
    ? `\n  tls:\n${opts.tls
        .map((t) => `    - hosts: [${t.hosts.map((h) => `"${h}"`).join(", ")}]${t.secretName ? `\n      secretName: ${t.secretName}` : ""}`)
        .join("\n")}`
    : "";
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}${ns}${ann}
spec:
  rules:
${rules}${tls}
`;
}

/** What one TLS handshake showed. */
export interface Handshake {
  cert: DetailedPeerCertificate;
  fingerprint256: string;
  /** The subject CN of the presented leaf. */
  cn: string | undefined;
  authorized: boolean;
  authorizationError: string | undefined;
  protocol: string | null;
}

/**
 * One TLS handshake to 127.0.0.1:`port` with SNI `servername` (none when undefined),
 * never rejecting the certificate: `authorized` says whether it verified against `ca`
 * (chain only when `chainOnly`, else chain and host name).
 */
export function handshake(port: number, servername: string | undefined, opts: { ca?: string | string[]; chainOnly?: boolean; extra?: ConnectionOptions } = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket: TLSSocket = tlsConnect({
      host: "127.0.0.1",
      port,
      ...(servername !== undefined ? { servername } : {}),
      ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
      rejectUnauthorized: false,
      ...(opts.chainOnly ? { checkServerIdentity: () => undefined } : {}),
      ...opts.extra,
    });
    socket.once("secureConnect", () => {
      const cert = socket.getPeerCertificate(true);
      const out: Handshake = {
        cert,
        fingerprint256: cert.fingerprint256,
        cn: typeof cert.subject?.CN === "string" ? cert.subject.CN : undefined,
        authorized: socket.authorized,
        authorizationError: socket.authorizationError === null || socket.authorizationError === undefined ? undefined : String(socket.authorizationError),
        protocol: socket.getProtocol(),
      };
      socket.destroy();
      resolve(out);
    });
    socket.once("error", (e) => {
      socket.destroy();
      reject(e);
    });
  });
}

export interface HttpsResult {
  status: number;
  headers: IncomingMessage["headers"];
  body: string;
  socket: TLSSocket;
  reusedSocket: boolean;
  fingerprint256: string;
}

/** An HTTPS request to 127.0.0.1:`port` with SNI and Host `host`, verified against `ca` (chain only when `chainOnly`). */
export function httpsGet(port: number, host: string, path: string, opts: { ca: string | string[]; agent?: HttpsAgent | false; headers?: Record<string, string>; chainOnly?: boolean }): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: "127.0.0.1", port, path, method: "GET", servername: host, ca: opts.ca, headers: { host, ...opts.headers }, agent: opts.agent ?? false, ...(opts.chainOnly ? { checkServerIdentity: () => undefined } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        const socket = res.socket as TLSSocket;
        const fingerprint256 = socket.getPeerCertificate().fingerprint256;
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), socket, reusedSocket: req.reusedSocket, fingerprint256 }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** A bare TLS server whose certificates a CertificateSelector picks, for `*.wild.test` (a TLS host without a Secret). */
export interface SelectorServer {
  selector: CertificateSelector;
  port: number;
  close(): Promise<void>;
}

export async function selectorServer(options: Partial<Omit<CertificateSelectorOptions, "snapshots" | "logger" | "dataDir">> = {}): Promise<SelectorServer> {
  const dataDir = await mkdtemp(join(tmpdir(), "ingressd-data-"));
  const snapshot = { ...emptySnapshot(), tls: new TlsTable(new Map(), new Map([["wild.test", { host: "*.wild.test", ingress: "default/wild" }]])) };
  const selector = new CertificateSelector({ snapshots: { current: snapshot }, logger: pino({ level: "silent" }), dataDir, ...options });
  const server = createTlsServer({ ...(await selector.loadDefault()), SNICallback: selector.sniCallback }, (s) => s.end());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    selector,
    port: (server.address() as AddressInfo).port,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
