import { readFile } from "node:fs/promises";
import { createSecureContext, type SecureContext } from "node:tls";
import type { Logger } from "pino";
import type { SnapshotSource } from "../snapshot/snapshot.js";
import { checkCertificatePair } from "../config/certificates.js";
import { defaultKeyTypeLast, type KeyTypePreference } from "../tls/defaultKeyTypeLast.js";
import { LocalCa } from "../tls/localCa.js";
import { LruMap } from "../tls/lruMap.js";
import { TokenBucket } from "../tls/tokenBucket.js";

export interface CertificateSelectorOptions {
  snapshots: SnapshotSource;
  logger: Logger;
  /** Where the local development CA lives. */
  dataDir: string;
  /** `--default-cert` / `--default-key`: the certificate for SNI names no TLS host matches. */
  defaultCert?: string;
  defaultKey?: string;
  /** Bounds on local-CA issuance (the defaults suit any real use; tests narrow them). */
  leafCacheSize?: number;
  issuance?: TokenBucket;
  /** The wall clock local-CA certificates are issued and renewed by (default Date.now; tests advance it). */
  now?: () => number;
}

/**
 * Every new SNI name under a wildcard TLS host without a Secret costs a key and a
 * certificate, and names are the client's to choose: the leaves kept are bounded, and
 * issuance is rate limited (a handshake beyond the rate gets the default certificate).
 */
const LEAF_CACHE_SIZE = 1_000;
const ISSUE_PER_SECOND = 10;
const ISSUE_BURST = 20;
/** Leaves (and the local CA's default certificate) are reissued a day before they end. */
const RENEW_BEFORE_MS = 24 * 3600_000;

interface IssuedLeaf {
  context: Promise<SecureContext>;
  /** When to reissue: once the leaf is known. */
  renewAt: number;
  /** When it ends: once the leaf is known. */
  notAfter?: Date;
}

/** A certificate the local CA issued that ingressd serves (`/api/config`, the dashboard). */
export interface LocalCaLeaf {
  host: string;
  notAfter: Date;
  /** The default certificate (for SNI names no TLS host matches), not a TLS host's leaf. */
  default?: true;
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
  private readonly issued: LruMap<string, IssuedLeaf>;
  private readonly issuance: TokenBucket;
  private defaultPem: { cert: string; key: string } | undefined;
  private defaultContext: SecureContext | undefined;
  /** When the local CA's default certificate is due for renewal (undefined: none, or from files). */
  private defaultRenewAt: number | undefined;
  /** When the local CA's default certificate ends (undefined: none, or from files). */
  private defaultNotAfter: Date | undefined;
  private readonly now: () => number;

  constructor(private readonly options: CertificateSelectorOptions) {
    this.issued = new LruMap(options.leafCacheSize ?? LEAF_CACHE_SIZE);
    this.issuance = options.issuance ?? new TokenBucket(ISSUE_PER_SECOND, ISSUE_BURST);
    this.now = options.now ?? Date.now;
  }

  /** Local-CA leaves currently kept. */
  get cachedLeaves(): number {
    return this.issued.size;
  }

  /** The local CA, created in the data directory on first use. */
  localCa(): Promise<LocalCa> {
    this.ca ??= LocalCa.open(this.options.dataDir).then((ca) => {
      // Once per machine and data directory: where the CA is, and how to make browsers trust it.
      if (ca.created) this.options.logger.info({ path: ca.certPath }, `created the local development CA at ${ca.certPath}; trust it once with: ingressd ca trust (as root; ingressd ca path shows the commands it runs)`);
      return ca;
    });
    return this.ca;
  }

  /**
   * Loads (or reloads, when the files change) the default certificate: options for the
   * server's default secure context (`createServer`, `setSecureContext`).
   */
  async loadDefault(): Promise<DefaultContextOptions> {
    const { defaultCert, defaultKey } = this.options;
    let pem: { cert: string; key: string };
    let renewAt: number | undefined;
    let notAfter: Date | undefined;
    if (defaultCert && defaultKey) {
      const [cert, key] = await Promise.all([readFile(defaultCert, "utf8"), readFile(defaultKey, "utf8")]);
      const check = checkCertificatePair(cert, key);
      if (!check.ok) throw new Error(`${check.field === "tls.crt" ? defaultCert : defaultKey}: ${check.message.replace(/^tls\.(crt|key)/, "the file")}`);
      for (const w of check.warnings) this.options.logger.warn({ file: defaultCert }, `default certificate: ${w}`);
      pem = { cert, key };
    } else {
      const issued = await (await this.localCa()).issue(DEFAULT_NAME, this.now());
      pem = { cert: issued.certPem, key: issued.keyPem };
      renewAt = issued.notAfter.getTime() - RENEW_BEFORE_MS;
      notAfter = issued.notAfter;
    }
    const options = { ...pem, ...defaultKeyTypeLast(pem.key) };
    this.defaultPem = pem;
    this.defaultContext = createSecureContext(options);
    this.defaultRenewAt = renewAt;
    this.defaultNotAfter = notAfter;
    return options;
  }

  /**
   * Reissues the local CA's default certificate once it is due, as `loadDefault` does;
   * undefined when it is not due (or comes from `--default-cert`, which is watched instead).
   */
  async renewDefaultIfDue(): Promise<DefaultContextOptions | undefined> {
    const due = this.defaultRenewAt;
    if (due === undefined || due > this.now()) return undefined;
    this.defaultRenewAt = Infinity; // one renewal at a time
    try {
      return await this.loadDefault();
    } catch (err) {
      this.defaultRenewAt = due; // retried at the next check
      throw err;
    }
  }

  /**
   * The local CA's certificate file and the leaves it issued that are kept now (the
   * default certificate included when the CA issued it); undefined until the CA is used.
   */
  localCaCertificates(): { certPath: string; leaves: LocalCaLeaf[] } | undefined {
    if (!this.ca) return undefined;
    const leaves: LocalCaLeaf[] = [];
    if (this.defaultNotAfter) leaves.push({ host: DEFAULT_NAME, notAfter: this.defaultNotAfter, default: true });
    for (const [host, leaf] of this.issued) if (leaf.notAfter) leaves.push({ host, notAfter: leaf.notAfter });
    return { certPath: LocalCa.certPath(this.options.dataDir), leaves };
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
    const ctx = this.issuedContext(host);
    if (!ctx) {
      this.options.logger.debug({ host }, "local CA issuance rate exceeded; serving the default certificate");
      done(null, this.defaultContext);
      return;
    }
    ctx.then(
      (c) => done(null, c),
      (err: unknown) => {
        this.options.logger.error({ err, host }, "local CA could not issue a certificate; serving the default one");
        done(null, this.defaultContext);
      },
    );
  };

  /** The leaf for `host`: kept, or issued when the rate allows (else undefined). */
  private issuedContext(host: string): Promise<SecureContext> | undefined {
    const kept = this.issued.get(host);
    // A leaf due for renewal still has a day to go: served while the rate says wait.
    if (kept && (kept.renewAt > this.now() || !this.issuance.take())) return kept.context;
    if (!kept && !this.issuance.take()) return undefined;
    const context = this.localCa()
      .then((ca) => ca.issue(host, this.now()))
      .then((issued) => {
        leaf.renewAt = issued.notAfter.getTime() - RENEW_BEFORE_MS;
        leaf.notAfter = issued.notAfter;
        return createSecureContext({ cert: issued.certPem, key: issued.keyPem });
      });
    const leaf: IssuedLeaf = { context, renewAt: Infinity };
    leaf.context.catch(() => {
      if (this.issued.get(host) === leaf) this.issued.delete(host);
    });
    this.issued.set(host, leaf);
    return leaf.context;
  }
}
