import { createHash, timingSafeEqual } from "node:crypto";
import { compare as bcryptCompare } from "bcryptjs";

/**
 * Whether `password` matches an htpasswd `hash` (one that translate/nginx/htpasswd.ts
 * accepted). MD5-crypt and `{SHA}` answer at once; bcrypt is slow by design, so it
 * answers later (bcryptjs works in slices, leaving the event loop to other requests).
 * Anything else, or a malformed hash, never matches.
 */
export function verifyPassword(password: Buffer, hash: string): boolean | Promise<boolean> {
  if (hash.startsWith("$2")) return bcryptCompare(password.toString("utf8"), hash).catch(() => false);
  if (hash.startsWith("{SHA}")) return sameText(createHash("sha1").update(password).digest("base64"), hash.slice(5));
  const md5 = /^(\$(?:apr1|1)\$)([^$]{0,8})\$/.exec(hash);
  if (md5) return sameText(md5Crypt(password, md5[1] as "$apr1$" | "$1$", md5[2]!), hash);
  return false;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const ZERO = Buffer.alloc(1);

/**
 * Poul-Henning Kamp's MD5-crypt, as FreeBSD's crypt-md5.c and APR's apr_md5_encode
 * (the latter with magic `$apr1$`): `<magic><salt>$<22 characters>`.
 */
export function md5Crypt(password: Buffer, magic: "$apr1$" | "$1$", salt: string): string {
  const s = Buffer.from(salt.slice(0, 8));
  const alternate = createHash("md5").update(password).update(s).update(password).digest();
  const ctx = createHash("md5").update(password).update(magic).update(s);
  for (let left = password.length; left > 0; left -= 16) ctx.update(alternate.subarray(0, Math.min(16, left)));
  // The original's quirk: a zero byte for each 1 bit of the length, else the password's first byte.
  for (let bits = password.length; bits > 0; bits >>= 1) ctx.update(bits & 1 ? ZERO : password.subarray(0, 1));
  let final = ctx.digest();
  // 1000 rounds, to slow down dictionary attacks (as of 1994).
  for (let i = 0; i < 1000; i++) {
    const round = createHash("md5").update(i & 1 ? password : final);
    if (i % 3) round.update(s);
    if (i % 7) round.update(password);
    final = round.update(i & 1 ? final : password).digest();
  }
  let out = "";
  const to64 = (v: number, n: number): void => {
    for (; n > 0; n--, v >>= 6) out += ITOA64[v & 0x3f];
  };
  for (const [a, b, c] of [[0, 6, 12], [1, 7, 13], [2, 8, 14], [3, 9, 15], [4, 10, 5]] as const) to64((final[a]! << 16) | (final[b]! << 8) | final[c]!, 4);
  to64(final[11]!, 2);
  return `${magic}${s.toString()}$${out}`;
}
