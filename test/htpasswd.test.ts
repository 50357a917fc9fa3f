import bcrypt from "bcryptjs";
import { describe, expect, it } from "vitest";
import type { Exchange } from "../src/proxy/exchange.js";
import { basicAuthStep } from "../src/proxy/filters/basicAuth.js";
import { md5Crypt, verifyPassword } from "../src/proxy/filters/passwordHash.js";
import { parseHtpasswd, unsupportedHash } from "../src/translate/nginx/htpasswd.js";

/** htpasswd files and their hashes, as nginx's auth_basic_user_file takes them (ingress-nginx annotations.md § Authentication). */
describe("htpasswd parsing (ingress-nginx annotations.md § Authentication)", () => {
  const APR1 = "$apr1$xxxxxxxx$dxHfLAsjHkDRmG83UXe8K0"; // openssl passwd -apr1 -salt xxxxxxxx password
  const SHA = "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="; // htpasswd -s: "secret"
  const BCRYPT = bcrypt.hashSync("pw", 4).replace(/^\$2b\$/, "$2y$");

  it("reads user:hash lines, skipping blanks and # comments, a trailing :comment and CRLF", () => {
    const text = `# users\r\nfoo:${APR1}\r\n\nbar:${SHA}:the admin\nbaz:${BCRYPT}\n`;
    expect(parseHtpasswd(text)).toEqual({ users: { foo: APR1, bar: SHA, baz: BCRYPT }, problems: [] });
  });

  it("reports malformed lines, unsupported schemes and repeated users by line, without the hash; the rest is kept", () => {
    const text = [`foo:${APR1}`, "no colon here", "des:abJnggxhB/yWI", "plain:{PLAIN}secret", `foo:${SHA}`, "cut:$apr1$xxxxxxxx$short", ":{SHA}x"].join("\n");
    const { users, problems } = parseHtpasswd(text);
    expect(users).toEqual({ foo: APR1 });
    expect(problems.map((p) => p.line)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(problems[0]!.message).toBe("not a user:hash line");
    expect(problems[1]!.message).toMatch(/^user "des": the hash scheme is not supported/);
    expect(problems[3]!.message).toBe(`user "foo" again (the first line counts)`);
    expect(problems[4]!.message).toBe(`user "cut": the hash is malformed`);
    expect(JSON.stringify(problems)).not.toContain("abJnggxhB");
  });

  it("a user named __proto__ is a user like any other", () => {
    const { users } = parseHtpasswd(`__proto__:${SHA}`);
    expect(Object.keys(users)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(users)).toBe(Object.prototype);
  });

  it.each([
    ["bcrypt $2y$", BCRYPT],
    ["bcrypt $2a$", BCRYPT.replace("$2y$", "$2a$")],
    ["MD5-crypt $apr1$", APR1],
    ["MD5-crypt $1$", "$1$abc$jWy0FsfCoVBK.I85XpXf30"],
    ["SHA-1", SHA],
  ])("%s is supported", (_name, hash) => {
    expect(unsupportedHash(hash)).toBeUndefined();
  });
});

describe("password hash verification (ingress-nginx annotations.md § Authentication)", () => {
  it("MD5-crypt matches openssl's known vectors", () => {
    // openssl passwd -apr1 -salt xxxxxxxx password / -salt a "" / -salt short "<long>" / openssl passwd -1 -salt abc hello
    expect(md5Crypt(Buffer.from("password"), "$apr1$", "xxxxxxxx")).toBe("$apr1$xxxxxxxx$dxHfLAsjHkDRmG83UXe8K0");
    expect(md5Crypt(Buffer.from(""), "$apr1$", "a")).toBe("$apr1$a$lsAcX0kKaMIVmrCtUuk5b0");
    expect(md5Crypt(Buffer.from("a much longer password, over sixteen bytes: ünïcode"), "$apr1$", "short")).toBe("$apr1$short$wYgOrnA29XuSbsqjX95XV.");
    expect(md5Crypt(Buffer.from("hello"), "$1$", "abc")).toBe("$1$abc$jWy0FsfCoVBK.I85XpXf30");
  });

  it("MD5-crypt and SHA-1 answer at once: true for the password, false otherwise", () => {
    expect(verifyPassword(Buffer.from("password"), "$apr1$xxxxxxxx$dxHfLAsjHkDRmG83UXe8K0")).toBe(true);
    expect(verifyPassword(Buffer.from("passwore"), "$apr1$xxxxxxxx$dxHfLAsjHkDRmG83UXe8K0")).toBe(false);
    expect(verifyPassword(Buffer.from("secret"), "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=")).toBe(true);
    expect(verifyPassword(Buffer.from("Secret"), "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=")).toBe(false);
  });

  it("bcrypt answers asynchronously", async () => {
    const hash = bcrypt.hashSync("pässword", 4).replace(/^\$2b\$/, "$2y$");
    const right = verifyPassword(Buffer.from("pässword"), hash);
    expect(right).toBeInstanceOf(Promise);
    expect(await right).toBe(true);
    expect(await verifyPassword(Buffer.from("password"), hash)).toBe(false);
  });

  it("an unknown scheme or a malformed hash never matches, even the text itself", async () => {
    expect(verifyPassword(Buffer.from("secret"), "secret")).toBe(false);
    expect(verifyPassword(Buffer.from("secret"), "{PLAIN}secret")).toBe(false);
    expect(await verifyPassword(Buffer.from("x"), "$2y$04$tooshort")).toBe(false);
  });
});

describe("basic auth step: verified passwords remembered (ingress-nginx annotations.md § Authentication)", () => {
  const route = {} as never;
  const exchange = (user: string, password: string): Exchange & { replies: number[] } => {
    const x = {
      req: { headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` } },
      replies: [] as number[],
      reply: (status: number) => x.replies.push(status),
    };
    return x as unknown as Exchange & { replies: number[] };
  };

  it("a bcrypt password verified once is then accepted at once; a wrong one is checked (and refused) every time", async () => {
    const step = basicAuthStep({ type: "basicAuth", realm: "r", secret: "default/users", users: { alice: bcrypt.hashSync("cached-pw", 4) } }, route);
    const env = { httpsPort: undefined };
    const first = step(exchange("alice", "cached-pw"), env);
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toBe(false);
    expect(step(exchange("alice", "cached-pw"), env)).toBe(false);
    for (let i = 0; i < 2; i++) {
      const wrong = exchange("alice", "other-pw");
      const answer = step(wrong, env);
      expect(answer).toBeInstanceOf(Promise);
      expect(await answer).toBe(true);
      expect(wrong.replies).toEqual([401]);
    }
  });

  it("a changed hash for the user (a new Secret) is verified anew", async () => {
    const env = { httpsPort: undefined };
    const before = basicAuthStep({ type: "basicAuth", realm: "r", secret: "default/users", users: { bob: bcrypt.hashSync("old-pw", 4) } }, route);
    expect(await before(exchange("bob", "old-pw"), env)).toBe(false);
    const after = basicAuthStep({ type: "basicAuth", realm: "r", secret: "default/users", users: { bob: bcrypt.hashSync("new-pw", 4) } }, route);
    expect(await after(exchange("bob", "old-pw"), env)).toBe(true);
  });
});
