import { readFile } from "node:fs/promises";
import { createSecureContext, type SecureContext } from "node:tls";
import type { Logger } from "pino";
import type { SnapshotSource } from "../snapshot.js";
import { checkCertificatePair } from "./certificates.js";
import { defaultKeyTypeLast, type KeyTypePreference } from "./defaultKeyTypeLast.js";
import { LocalCa } from "./localCa.js";

export interface CertificateSelectorOptions {
  snapshots: SnapshotSource;
  logger: Logger;
  /** Where the local development CA lives. */
  dataDir: string;
  /** `--default-cert` / `--default-key`: the certificate for SNI names no TLS host matches. */
  defaultCert?: string;
  defaultKey?: string;
}

/** The default certificate, with the preferences its secure context needs (see defaultKeyTypeLast). */
export type DefaultContextOptions = { cert: string; key: string } & KeyTypePreference;

/** Name the local CA's default certificate is issued for. */
const DEFAULT_NAME = "localhost";

/**
 * Picks the certificate of each TLS handshake by SNI, from the current snapshot: a TLS
 * host's Secret; for a TLS host without a usable Secret, a leaf the local CA issues on
 * demand; for anything else, the default certificate. Read per handshake, so a renewed
 * Secret is served to the next handshake and open connections keep theirs.
 */
export class CertificateSelector {
  private ca: Promise<LocalCa> | undefined;
  private readonly issued = new Map<string, Promise<SecureContext>>();
  private defaultPem: { cert: string; key: string } | undefined;
  private defaultContext: SecureContext | undefined;

  constructor(private readonly options: CertificateSelectorOptions) {}

  /** The local CA, created in the data directory on first use. */
  localCa(): Promise<LocalCa> {
    this.ca ??= LocalCa.open(this.options.dataDir);
    return this.ca;
  }

  /**
   * Loads (or reloads, when the files change) the default certificate: options for the
   * server's default secure context (`createServer`, `setSecureContext`).
   */
  async loadDefault(): Promise<DefaultContextOptions> {
    const { defaultCert, defaultKey } = this.options;
    let pem: { cert: string; key: string };
    if (defaultCert && defaultKey) {
      const [cert, key] = await Promise.all([readFile(defaultCert, "utf8"), readFile(defaultKey, "utf8")]);
      const check = checkCertificatePair(cert, key);
      if (!check.ok) throw new Error(`${check.field === "tls.crt" ? defaultCert : defaultKey}: ${check.message.replace(/^tls\.(crt|key)/, "the file")}`);
      for (const w of check.warnings) this.options.logger.warn({ file: defaultCert }, `default certificate: ${w}`);
      pem = { cert, key };
    } else {
      const issued = await (await this.localCa()).issue(DEFAULT_NAME);
      pem = { cert: issued.certPem, key: issued.keyPem };
    }
    const options = { ...pem, ...defaultKeyTypeLast(pem.key) };
    this.defaultPem = pem;
    this.defaultContext = createSecureContext(options);
    return options;
  }

  get defaultCertificate(): { cert: string; key: string } | undefined {
    return this.defaultPem;
  }

  /** For `tls.createServer({ SNICallback })`. */
  readonly sniCallback = (servername: string, done: (err: Error | null, ctx?: SecureContext) => void): void => {
    const entry = this.options.snapshots.current.tls.lookup(servername);
    if (entry?.context) {
      done(null, entry.context);
      return;
    }
    if (!entry) {
      done(null, this.defaultContext);
      return;
    }
    const host = servername.toLowerCase();
    this.issuedContext(host).then(
      (ctx) => done(null, ctx),
      (err: unknown) => {
        this.options.logger.error({ err, host }, "local CA could not issue a certificate; serving the default one");
        done(null, this.defaultContext);
      },
    );
  };

  private issuedContext(host: string): Promise<SecureContext> {
    // The CA caches leaves and renews them a day before they end; the context follows.
    let ctx = this.issued.get(host);
    if (!ctx) {
      ctx = this.localCa()
        .then((ca) => ca.issue(host))
        .then((leaf) => {
          setTimeout(() => this.issued.delete(host), Math.max(0, leaf.notAfter.getTime() - Date.now() - 24 * 3600_000)).unref();
          return createSecureContext({ cert: leaf.certPem, key: leaf.keyPem });
        });
      ctx.catch(() => this.issued.delete(host));
      this.issued.set(host, ctx);
    }
    return ctx;
  }
}
