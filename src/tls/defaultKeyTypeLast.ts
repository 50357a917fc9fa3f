import { createPrivateKey } from "node:crypto";
import { DEFAULT_CIPHERS } from "node:tls";

/** OpenSSL keeps one certificate per key type; these are the signature algorithms of each. */
const SIGALGS_BY_KEY_TYPE: Record<string, string[]> = {
  ec: ["ecdsa_secp256r1_sha256", "ecdsa_secp384r1_sha384", "ecdsa_secp521r1_sha512", "ECDSA+SHA224", "ECDSA+SHA1"],
  ed25519: ["ed25519"],
  ed448: ["ed448"],
  rsa: ["rsa_pss_rsae_sha256", "rsa_pss_rsae_sha384", "rsa_pss_rsae_sha512", "rsa_pkcs1_sha256", "rsa_pkcs1_sha384", "rsa_pkcs1_sha512", "RSA+SHA224", "RSA+SHA1"],
  "rsa-pss": ["rsa_pss_pss_sha256", "rsa_pss_pss_sha384", "rsa_pss_pss_sha512"],
};

/** The TLS 1.2 authentication a key type signs for (Ed25519/Ed448 sign ECDSA suites). */
const TLS12_AUTH: Record<string, string> = { ec: "aECDSA", ed25519: "aECDSA", ed448: "aECDSA", rsa: "aRSA", "rsa-pss": "aRSA" };

export interface KeyTypePreference {
  ciphers: string;
  sigalgs: string;
  honorCipherOrder: true;
}

/**
 * Server preferences that rank the default certificate's key type last, for the
 * default secure context.
 *
 * Why: Node installs an SNICallback's certificate with SSL_use_certificate, which fills
 * that certificate's key-type slot and leaves the default context's certificate in its
 * own slot (nodejs/node#54235). When the two differ (an RSA Secret behind the local CA's
 * ECDSA default), the handshake holds both, and OpenSSL signs with the one the server
 * prefers: by default ECDSA for TLS 1.3 and RSA for TLS 1.2, so one of them served the
 * default certificate. Ranking the default's type last makes the SNI certificate win
 * whenever it is of another type; of the same type it replaced the default in its slot;
 * without SNI the default is alone. (Giving the default context both an RSA and an
 * ECDSA certificate does not help: one of them is then always left beside the Secret.)
 */
export function defaultKeyTypeLast(defaultKeyPem: string): KeyTypePreference {
  const type = createPrivateKey(defaultKeyPem).asymmetricKeyType ?? "";
  const others = Object.keys(SIGALGS_BY_KEY_TYPE).filter((t) => t !== type);
  const sigalgs = [...others, type].flatMap((t) => SIGALGS_BY_KEY_TYPE[t] ?? []);
  const auth = TLS12_AUTH[type];
  // OpenSSL's `+` moves the matching suites to the end, keeping their order.
  return { ciphers: auth ? `${DEFAULT_CIPHERS}:+${auth}` : DEFAULT_CIPHERS, sigalgs: sigalgs.join(":"), honorCipherOrder: true };
}
