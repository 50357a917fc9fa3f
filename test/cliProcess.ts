import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/**
 * Builds the sources into a folder of the caller's own (`.build/<name>`), so a test that
 * runs the CLI as a process never meets a dist/ another test file is rebuilding.
 */
export function buildCli(name: string): string {
  const out = `${root}.build/${name}`;
  rmSync(out, { recursive: true, force: true });
  const build = spawnSync("npx", ["tsc", "-p", "tsconfig.build.json", "--outDir", out], { cwd: root, encoding: "utf8" });
  if (build.status !== 0) throw new Error(`build failed (${build.status}):\n${build.stdout}\n${build.stderr}`);
  return `${out}/cli.js`;
}

/** A CLI process whose output is collected, with a way to await a line of it. */
export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stdout+stderr, now or once printed; rejects if the process exits first. */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
  /** SIGKILLs the process and whatever it started (its own process group), as a terminal closing would. */
  killGroup(): void;
  /** Resolves with the exit status (128 + signal number when killed, as shells report it). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Each CLI runs in a process group of its own (detached), so a test can end it with what it started. */
export function startCli(cli: string, args: string[], env: Record<string, string> = {}): CliProcess {
  const clean: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(clean)) if (k.startsWith("INGRESSD_")) delete clean[k];
  const child = spawn(process.execPath, [cli, ...args], { cwd: root, env: { ...clean, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let out = "";
  let err = "";
  const waiters: (() => void)[] = [];
  const changed = (): void => waiters.forEach((w) => w());
  child.stdout!.setEncoding("utf8").on("data", (c: string) => ((out += c), changed()));
  child.stderr!.setEncoding("utf8").on("data", (c: string) => ((err += c), changed()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once("close", (code: number | null, signal: NodeJS.Signals | null) => res({ code, signal })));
  return {
    child,
    killGroup: () => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    },
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const m = (out + err).match(pattern);
          if (!m) return;
          waiters.splice(waiters.indexOf(check), 1);
          resolve(m);
        };
        waiters.push(check);
        check();
        void exited.then(() => {
          if (waiters.includes(check)) reject(new Error(`exited before printing ${pattern}:\nstdout: ${out}\nstderr: ${err}`));
        });
      }),
  };
}
