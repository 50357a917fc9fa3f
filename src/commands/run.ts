import { spawn } from "node:child_process";
import { request, type IncomingMessage } from "node:http";
import { createServer, type AddressInfo } from "node:net";
import { constants } from "node:os";
import type { Logger } from "pino";
import { startIngressd, type Ingressd } from "../server/ingressd.js";
import { ListenError } from "../server/listenError.js";
import type { RunOptions } from "../server/options.js";

/** What a registration answered: the host and the URLs it is served at. */
interface Served {
  host: string;
  http: string;
  https?: string;
}

/** A name registered with an ingressd, held for as long as its request stays open. */
interface Registration {
  served: Served;
  /** Resolves when the ingressd ends the registration (it stopped). */
  closed: Promise<void>;
  /** Gives the name up. */
  end(): void;
}

/** A failure `ingressd run` reports in one line and exits 1 on, without running the command. */
export class RunError extends Error {}

/** Signals a terminal or a supervisor sends that the command must receive as well. */
const FORWARDED: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR2"];

/**
 * `ingressd run NAME -- COMMAND...`: COMMAND runs with a free port in PORT (HOST=127.0.0.1)
 * and NAME.localhost is served to it while it runs. The name is registered over the admin
 * API of the ingressd serving the ports; when none answers, this process becomes that
 * ingressd (and other runs register with it). If the ingressd it registered with stops,
 * the name is registered again — with a new one, or by serving here. Resolves with the
 * exit status to exit with: COMMAND's, or 128 + its signal's number as shells report it.
 */
export async function runCommand(options: RunOptions, logger: Logger, say: (line: string) => void): Promise<number> {
  const port = await freePort();
  let own: Ingressd | undefined;
  let stopping = false;

  /** Registers with whatever ingressd answers on the admin port, starting one here if none does. */
  const attach = async (): Promise<Registration> => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const adminPort = own?.adminPort ?? options.adminPort;
      const r = adminPort === 0 ? "refused" : await registerWith(clientAddress(options.adminBind), adminPort, options.name, port);
      if (r !== "refused") {
        say(`ingressd: ${r.served.http}${r.served.https ? ` and ${r.served.https}` : ""} → ${options.command[0]} on PORT=${port}${own ? "" : ` (registered with the ingressd on port ${adminPort})`}\n`);
        return r;
      }
      if (own) throw new RunError(`the ingressd started here does not answer on its admin port ${own.adminPort}`);
      try {
        own = await startIngressd({ ...options, logger, shutdownGraceMs: 2_000 });
      } catch (err) {
        // Another run started one in the meantime: register with it.
        if (err instanceof ListenError && err.listener === "admin" && err.code === "EADDRINUSE") continue;
        throw err instanceof ListenError ? new RunError(err.message) : err;
      }
    }
    throw new RunError(`no ingressd could be reached or started on admin port ${options.adminPort}`);
  };
  const follow = (r: Registration): void => {
    void r.closed.then(async () => {
      if (stopping) return;
      say(`ingressd: the ingressd serving ${r.served.host} stopped; registering again\n`);
      try {
        registration = await attach();
        follow(registration);
      } catch (err) {
        say(`ingressd: ${(err as Error).message}; ${r.served.host} is not served any more\n`);
      }
    });
  };
  let registration = await attach();
  follow(registration);

  const [file, ...args] = options.command;
  const child = spawn(file!, args, { stdio: "inherit", env: { ...process.env, PORT: String(port), HOST: "127.0.0.1" } });
  // Ctrl-C in a terminal reaches the whole foreground process group, the command included:
  // sent again, a dev server would take it as a second Ctrl-C (many then quit at once).
  // ingressd run still catches it, to wait for the command and exit with its status.
  const fromTerminal = process.stdin.isTTY === true;
  const forward = (signal: NodeJS.Signals): void => {
    if (signal === "SIGINT" && fromTerminal) return;
    child.kill(signal);
  };
  for (const s of FORWARDED) process.on(s, forward);
  const status = await new Promise<number>((resolve) => {
    child.once("error", (err: NodeJS.ErrnoException) => {
      say(`ingressd: cannot run ${file}: ${err.code === "ENOENT" ? "command not found" : err.message}\n`);
      resolve(err.code === "ENOENT" ? 127 : 126);
    });
    child.once("exit", (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
  stopping = true;
  for (const s of FORWARDED) process.off(s, forward);
  registration.end();
  await own?.close();
  return status;
}

/** Where to reach an admin API bound to `bind`: a wildcard address is reached on loopback. */
function clientAddress(bind: string): string {
  return bind === "0.0.0.0" ? "127.0.0.1" : bind === "::" ? "::1" : bind;
}

/** A port nothing listens on now, for the command to take a moment later (as portless and Vite do). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** `POST /api/registrations`; "refused" when nothing listens on the admin port. */
function registerWith(host: string, port: number, name: string, target: number): Promise<Registration | "refused"> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ name, port: target });
    const req = request({ host, port, method: "POST", path: "/api/registrations", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } });
    req.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ECONNREFUSED") resolve("refused");
      else reject(new RunError(`cannot register ${name} with the ingressd on ${host}:${port}: ${err.message}`));
    });
    req.once("response", (res: IncomingMessage) => {
      let text = "";
      res.setEncoding("utf8");
      const closed = new Promise<void>((done) => res.once("close", () => done()));
      res.on("data", (chunk: string) => {
        if (text.includes("\n")) return;
        text += chunk;
        if (!text.includes("\n")) return;
        const answer = parse(text);
        if (res.statusCode === 200 && answer && typeof answer.http === "string") {
          resolve({ served: answer as unknown as Served, closed, end: () => req.destroy() });
        } else {
          reject(new RunError(typeof answer?.error === "string" ? answer.error : `${host}:${port} answered ${res.statusCode}: is it an ingressd admin port?`));
          req.destroy();
        }
      });
      res.once("end", () => reject(new RunError(`${host}:${port} answered ${res.statusCode} without a registration: is it an ingressd admin port?`)));
    });
    req.end(body);
  });
}

function parse(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text.slice(0, text.indexOf("\n"))) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
