import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";

/** A certificate chain and its key, checked. */
export interface CertificatePair {
  certPem: string;
  keyPem: string;
  /** The leaf (first certificate of the chain). */
  leaf: X509Certificate;
  notAfter: Date;
  /** DNS names the leaf is for (SAN, else CN). */
  names: string[];
}

export type PairCheck =
  | { ok: true; pair: CertificatePair; warnings: string[] }
  | { ok: false; field: "tls.crt" | "tls.key"; message: string };

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Parses a PEM chain and key and checks they belong together. An expired certificate
 * is still served (a warning): a developer's stale cert should not take a host down.
 */
export function checkCertificatePair(certPem: string, keyPem: string, now = new Date()): PairCheck {
  const blocks = certPem.match(PEM_BLOCK);
  if (!blocks || blocks.length === 0) return { ok: false, field: "tls.crt", message: "tls.crt holds no PEM certificate (-----BEGIN CERTIFICATE-----)" };
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(blocks[0]!);
    for (const b of blocks.slice(1)) new X509Certificate(b);
  } catch (err) {
    return { ok: false, field: "tls.crt", message: `tls.crt is not a valid PEM certificate chain: ${(err as Error).message}` };
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    return { ok: false, field: "tls.key", message: `tls.key is not a valid PEM private key: ${(err as Error).message}` };
  }
  if (!leaf.checkPrivateKey(key)) {
    return { ok: false, field: "tls.key", message: `tls.key does not match the certificate in tls.crt (${leaf.subject.replace(/\n/g, ", ")})` };
  }
  const notAfter = new Date(leaf.validTo);
  const warnings: string[] = [];
  if (notAfter.getTime() < now.getTime()) warnings.push(`the certificate expired on ${notAfter.toISOString()}; it is still served`);
  return { ok: true, pair: { certPem, keyPem, leaf, notAfter, names: certificateNames(leaf) }, warnings };
}

export function certificateNames(cert: X509Certificate): string[] {
  const san = cert.subjectAltName;
  if (san) {
    return san
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s.startsWith("DNS:"))
      .map((s) => s.slice(4).toLowerCase());
  }
  const cn = /CN=([^\n,]+)/.exec(cert.subject)?.[1];
  return cn ? [cn.toLowerCase()] : [];
}

/** The PEM text of a Secret field: `stringData` as is, `data` base64-decoded. */
export function secretField(secret: { data?: Record<string, string>; stringData?: Record<string, string> }, name: string): string | undefined {
  const s = secret.stringData?.[name];
  if (s !== undefined) return s;
  const d = secret.data?.[name];
  return d === undefined ? undefined : Buffer.from(d, "base64").toString("utf8");
}
