import "reflect-metadata"; // @peculiar/x509's dependency injection needs it loaded first
import * as x509 from "@peculiar/x509";
import { randomBytes, webcrypto } from "node:crypto";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const CA_NAME = "CN=ingressd local development CA, O=ingressd";
const CA_DAYS = 3650;
/** Short-lived leaves: nothing to revoke, reissued well before they run out. */
const LEAF_DAYS = 7;
const DAY_MS = 24 * 3600 * 1000;

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
  notAfter: Date;
}

/**
 * ingressd's local development CA. Created on first start in the data directory (files
 * mode 0600), reused after; it issues one short-lived leaf per host on demand — one per
 * host rather than a `*.localhost` wildcard, which browsers reject (`localhost` is a
 * single label). Trust its certificate once and every local host is green. It keeps
 * nothing it issues: the CertificateSelector keeps (a bounded number of) leaves.
 */
export class LocalCa {
  private constructor(
    readonly certPath: string,
    private readonly cert: x509.X509Certificate,
    private readonly key: CryptoKey,
    /** Whether this open created the CA (the first start on this machine and data directory). */
    readonly created = false,
  ) {}

  static certPath(dataDir: string): string {
    return join(dataDir, "ca.crt");
  }

  /** Loads the CA from `dataDir`, creating it there when absent. */
  static async open(dataDir: string): Promise<LocalCa> {
    const certPath = LocalCa.certPath(dataDir);
    const keyPath = join(dataDir, "ca.key");
    const existing = await LocalCa.read(certPath, keyPath);
    if (existing) return existing;
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"])) as CryptoKeyPair;
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: CA_NAME,
      notBefore: new Date(now - 3600_000),
      notAfter: new Date(now + CA_DAYS * DAY_MS),
      keys,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    const keyPem = x509.PemConverter.encode(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey), "PRIVATE KEY");
    try {
      // Exclusive: the workers of `--workers N` (or two ingressd) may create it at the same
      // moment. The first to write the key makes the CA; the others load that one.
      await writeFile(keyPath, keyPem, { mode: 0o600, flag: "wx" });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const other = await LocalCa.whenCreated(certPath, keyPath);
      if (other) return other;
      // A key whose certificate never came (a first start cut short): made anew, as when both are absent.
      await writeFile(keyPath, keyPem, { mode: 0o600 });
    }
    await writeFile(certPath, cert.toString("pem"), { mode: 0o600 });
    await Promise.all([chmod(keyPath, 0o600), chmod(certPath, 0o600)]);
    return new LocalCa(certPath, cert, keys.privateKey, true);
  }

  /** The CA in these files, or undefined when they are absent. */
  private static async read(certPath: string, keyPath: string): Promise<LocalCa | undefined> {
    try {
      const [certPem, keyPem] = await Promise.all([readFile(certPath, "utf8"), readFile(keyPath, "utf8")]);
      const key = await webcrypto.subtle.importKey("pkcs8", x509.PemConverter.decodeFirst(keyPem), ALGORITHM, true, ["sign"]);
      return new LocalCa(certPath, new x509.X509Certificate(certPem), key as CryptoKey);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      return undefined;
    }
  }

  /**
   * The CA another process is creating: its key is written, its certificate follows.
   * There is no event for a file appearing to wait on: read again, for at most 5 s
   * (undefined then: the certificate never came).
   */
  private static async whenCreated(certPath: string, keyPath: string): Promise<LocalCa | undefined> {
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      // A file read while being written fails to parse: not whole yet.
      const ca = await LocalCa.read(certPath, keyPath).catch(() => undefined);
      if (ca) return ca;
      await new Promise((res) => setTimeout(res, 20));
    }
    return undefined;
  }

  get certPem(): string {
    return this.cert.toString("pem");
  }

  /** A new leaf certificate for `host` (a new key each time), valid for a week from `now`. */
  async issue(host: string, now = Date.now()): Promise<IssuedCertificate> {
    const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"])) as CryptoKeyPair;
    const notAfter = new Date(now + LEAF_DAYS * DAY_MS);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${host}`,
      issuer: this.cert.subject,
      notBefore: new Date(now - 3600_000),
      notAfter,
      signingKey: this.key,
      publicKey: keys.publicKey,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.SubjectAlternativeNameExtension([{ type: "dns", value: host }]),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.BasicConstraintsExtension(false),
        await x509.AuthorityKeyIdentifierExtension.create(this.cert),
      ],
    });
    const keyPem = x509.PemConverter.encode(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey), "PRIVATE KEY");
    // The chain includes the CA, so clients that trust it need nothing else.
    return { certPem: cert.toString("pem") + "\n" + this.certPem, keyPem, notAfter };
  }
}

/** A positive 128-bit serial, as CAs are asked to use (random, high bit clear). */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0]! &= 0x7f;
  return bytes.toString("hex");
}

/** Where the CA lives, and how to trust it: what `ingressd ca path` prints. */
export function trustInstructions(certPath: string): string {
  return `${certPath}

Trust it once, and browsers and tools accept every certificate ingressd issues:

  Debian/Ubuntu:
    sudo cp ${certPath} /usr/local/share/ca-certificates/ingressd-local-ca.crt
    sudo update-ca-certificates
  macOS:
    sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain ${certPath}
  Firefox / Chromium on Linux (NSS, needs libnss3-tools):
    certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n "ingressd local CA" -i ${certPath}
    (Firefox: each profile, e.g. certutil -d sql:$HOME/.mozilla/firefox/<profile> -A -t "C,," -n "ingressd local CA" -i ${certPath})
  curl / Node.js, without installing it:
    curl --cacert ${certPath} https://web.localhost:8443/
    NODE_EXTRA_CA_CERTS=${certPath} node app.js
`;
}
