import { execFile } from "node:child_process";
import { copyFile, readdir, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** What `ca trust` / `ca untrust` did to one trust store, said to the user as is. */
export interface TrustChange {
  store: string;
  done: boolean;
  detail: string;
}

export interface TrustOptions {
  /** The operating system (default: this one). */
  platform?: NodeJS.Platform;
  /** Home directory whose browser (NSS) databases are changed. */
  home?: string;
}

/** The name the CA goes by in every store: found again by `untrust`. */
const NAME = "ingressd-local-ca";
const NSS_NICKNAME = "ingressd local CA";

/** System stores of Linux distributions: the anchors folder and the command that rebuilds the bundle. */
const LINUX_STORES = [
  { store: "system (Debian/Ubuntu)", dir: "/usr/local/share/ca-certificates", file: `${NAME}.crt`, update: ["update-ca-certificates"], updateAfterRemove: ["update-ca-certificates", "--fresh"] },
  { store: "system (Fedora/RHEL)", dir: "/etc/pki/ca-trust/source/anchors", file: `${NAME}.pem`, update: ["update-ca-trust", "extract"], updateAfterRemove: ["update-ca-trust", "extract"] },
];

/**
 * Installs the local CA certificate where this machine's clients look: the system store
 * (curl, most tools; root needed), and the NSS databases Chrome and Firefox read on Linux
 * when `certutil` exists. Each store says what it did; one that is not here is skipped.
 */
export async function trustCa(certPath: string, options: TrustOptions = {}): Promise<TrustChange[]> {
  return changeTrust(certPath, true, options);
}

/** Removes what `trustCa` installed, store by store. */
export async function untrustCa(certPath: string, options: TrustOptions = {}): Promise<TrustChange[]> {
  return changeTrust(certPath, false, options);
}

async function changeTrust(certPath: string, add: boolean, options: TrustOptions): Promise<TrustChange[]> {
  const platform = options.platform ?? process.platform;
  const changes: TrustChange[] = [];
  if (platform === "darwin") {
    changes.push(await macKeychain(certPath, add));
  } else if (platform === "linux") {
    let found = false;
    for (const s of LINUX_STORES) {
      if (!(await isDirectory(s.dir))) continue;
      found = true;
      changes.push(await linuxStore(s, certPath, add));
    }
    if (!found) changes.push({ store: "system", done: false, detail: `no system trust store found (looked for ${LINUX_STORES.map((s) => s.dir).join(", ")})` });
  } else {
    changes.push({ store: "system", done: false, detail: `not supported on ${platform}: trust ${certPath} by hand (ingressd ca path prints how)` });
  }
  changes.push(...(await nssDatabases(certPath, add, options.home ?? homedir())));
  return changes;
}

async function linuxStore(s: (typeof LINUX_STORES)[number], certPath: string, add: boolean): Promise<TrustChange> {
  const target = join(s.dir, s.file);
  try {
    if (add) await copyFile(certPath, target);
    else if (await exists(target)) await rm(target);
    else return { store: s.store, done: false, detail: `${target} is not there: nothing to remove` };
    const [cmd, ...args] = add ? s.update : s.updateAfterRemove;
    await run(cmd!, args);
    return { store: s.store, done: true, detail: add ? `copied to ${target}, then ran ${[cmd, ...args].join(" ")}` : `removed ${target}, then ran ${[cmd, ...args].join(" ")}` };
  } catch (err) {
    return { store: s.store, done: false, detail: failure(err, target) };
  }
}

async function macKeychain(certPath: string, add: boolean): Promise<TrustChange> {
  const store = "system keychain (macOS)";
  const args = add ? ["add-trusted-cert", "-d", "-r", "trustRoot", "-k", "/Library/Keychains/System.keychain", certPath] : ["remove-trusted-cert", "-d", certPath];
  try {
    await run("security", args);
    return { store, done: true, detail: `security ${args.join(" ")}` };
  } catch (err) {
    return { store, done: false, detail: failure(err, "/Library/Keychains/System.keychain") };
  }
}

/** Chrome's (~/.pki/nssdb) and each Firefox profile's certificate database, when certutil is installed. */
async function nssDatabases(certPath: string, add: boolean, home: string): Promise<TrustChange[]> {
  const dbs = [join(home, ".pki", "nssdb")];
  const firefox = join(home, ".mozilla", "firefox");
  for (const entry of await readdir(firefox).catch(() => [] as string[])) {
    if (await exists(join(firefox, entry, "cert9.db"))) dbs.push(join(firefox, entry));
  }
  const present = [];
  for (const db of dbs) if (await exists(join(db, "cert9.db"))) present.push(db);
  if (present.length === 0) return [];
  if (!(await commandExists("certutil"))) {
    return [{ store: "browsers (NSS)", done: false, detail: `certutil not found (apt-get install libnss3-tools): ${present.join(", ")} left as they are` }];
  }
  const out: TrustChange[] = [];
  for (const db of present) {
    const args = add ? ["-d", `sql:${db}`, "-A", "-t", "C,,", "-n", NSS_NICKNAME, "-i", certPath] : ["-d", `sql:${db}`, "-D", "-n", NSS_NICKNAME];
    try {
      await run("certutil", args);
      out.push({ store: `browsers (NSS ${db})`, done: true, detail: `certutil ${args.join(" ")}` });
    } catch (err) {
      out.push({ store: `browsers (NSS ${db})`, done: false, detail: failure(err, db) });
    }
  }
  return out;
}

function failure(err: unknown, where: string): string {
  const e = err as NodeJS.ErrnoException & { stderr?: string };
  if (e.code === "EACCES" || e.code === "EPERM") return `permission denied on ${where}: run it as root (sudo ingressd ca trust)`;
  if (e.code === "ENOENT") return `${e.path ?? where} not found`;
  return (e.stderr?.trim() || e.message).split("\n")[0]!;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

async function commandExists(cmd: string): Promise<boolean> {
  return run("sh", ["-c", `command -v ${cmd}`]).then(
    () => true,
    () => false,
  );
}
