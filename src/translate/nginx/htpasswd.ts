/**
 * The password hashes ingressd checks (see proxy/filters/passwordHash.ts): bcrypt
 * (`htpasswd -B`), MD5-crypt (`htpasswd -m`, `openssl passwd -apr1`, and glibc's `$1$`)
 * and `{SHA}` (`htpasswd -s`). nginx takes whatever the system crypt(3) knows besides;
 * a line with another scheme is reported and skipped, never accepted as plain text.
 */
const SCHEMES: readonly (readonly [name: string, form: RegExp])[] = [
  ["bcrypt", /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/],
  ["MD5-crypt", /^\$(?:apr1|1)\$[^$:]{0,8}\$[./0-9A-Za-z]{22}$/],
  ["SHA-1", /^\{SHA\}[A-Za-z0-9+/]{27}=$/],
];

/** Why a hash is not served, or undefined when it is. */
export function unsupportedHash(hash: string): string | undefined {
  if (SCHEMES.some(([, form]) => form.test(hash))) return undefined;
  if (/^\$2[aby]\$|^\$(?:apr1|1)\$|^\{SHA\}/.test(hash)) return "the hash is malformed";
  return `the hash scheme is not supported (ingressd checks ${SCHEMES.map(([n]) => n).join(", ")}; crypt DES, {SSHA}, {PLAIN}, SHA-256/512-crypt are not)`;
}

export interface Htpasswd {
  /** user → hash; the first line of a user counts, as nginx reads the file top down. */
  users: Record<string, string>;
  /** 1-based line and what is wrong with it (never the hash itself). */
  problems: { line: number; message: string }[];
}

/** `user:hash[:comment]` lines; blank lines and `#` comments skipped (nginx's auth_basic_user_file). */
export function parseHtpasswd(text: string): Htpasswd {
  const users = new Map<string, string>();
  const problems: Htpasswd["problems"] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "" || line.startsWith("#")) return;
    const [user = "", hash] = line.split(":");
    const problem = hash === undefined || user === "" ? "not a user:hash line" : users.has(user) ? `user "${user}" again (the first line counts)` : userProblem(user, hash);
    if (problem) problems.push({ line: i + 1, message: problem });
    else users.set(user, hash!);
  });
  // fromEntries defines own properties: a user named __proto__ stays a user.
  return { users: Object.fromEntries(users), problems };
}

function userProblem(user: string, hash: string): string | undefined {
  const why = unsupportedHash(hash);
  return why ? `user "${user}": ${why}` : undefined;
}
