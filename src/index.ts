/**
 * ingressd as a library: `import { start, check } from "ingressd"`. The same server
 * and the same validation as the `ingressd` command, with defaults for embedding
 * (loopback, ephemeral ports, no log output).
 */
import pino, { type Logger } from "pino";
import { configView } from "./admin/configView.js";
import { loadRules } from "./commands/loadRules.js";
import type { FileReport } from "./config/store.js";
import { startIngressd, type IngressdOptions } from "./server/ingressd.js";
import type { ConfigIssue } from "./model/issues.js";

export type { ConfigIssue, Severity, SourceLocation } from "./model/issues.js";
export type { FileReport, FileStatus } from "./config/store.js";
export { formatIssue } from "./model/issues.js";

export interface StartOptions {
  /** Rules folders (read recursively) or files. */
  rules: string | string[];
  /** Address of the HTTP(S) listeners. Default `127.0.0.1` (the CLI's is `0.0.0.0`). */
  bind?: string;
  /** Default 0: an ephemeral port, read back from `server.ports`. */
  httpPort?: number;
  /** Opened once TLS is configured. Default 0 (ephemeral). */
  httpsPort?: number;
  /** `/healthz`, `/readyz`, `/api/config`, `/metrics`. Default 0 (ephemeral). */
  adminPort?: number;
  /** Default `127.0.0.1`. */
  adminBind?: string;
  /** Serve Ingresses of this class and those without one. Default `ingressd`. */
  ingressClass?: string;
  /** Apply file changes as they happen. Default true; with false, only `reload()` applies them. */
  watch?: boolean;
  /** Reloads, configuration errors and access lines go here. Default: none (a silent logger). */
  logger?: Logger;
  connectTimeoutMs?: number;
  readTimeoutMs?: number;
  /** Quiet time before watched file changes apply. Default 100 ms. */
  debounceMs?: number;
  /** How long `close()` lets in-flight requests finish. Default 10 s. */
  shutdownGraceMs?: number;
  trustProxy?: string[];
  upstreamTryDurationMs?: number;
  /** Where the local development CA lives. Default `~/.local/share/ingressd`. */
  dataDir?: string;
  defaultCert?: string;
  defaultKey?: string;
}

export interface Ports {
  http: number;
  /** Undefined until TLS is configured and the HTTPS listener is open. */
  https: number | undefined;
  admin: number;
}

/** The `/api/config` document: routes, services, endpoints, files, errors. */
export type ConfigDocument = ReturnType<typeof configView>;

export interface IngressdServer {
  readonly ports: Ports;
  /** The generation being served; each reload adds one. */
  readonly generation: number;
  /** Every current problem of the rules (the files' valid parts are served regardless). */
  readonly issues: readonly ConfigIssue[];
  /** Reads the rules files again now and resolves with the generation that applied them. */
  reload(): Promise<number>;
  /** What is served, as the admin API's `/api/config` shows it. */
  config(): ConfigDocument;
  /** Stops accepting, lets in-flight requests finish (up to `shutdownGraceMs`), closes everything. */
  close(): Promise<void>;
}

/** Starts a server and resolves once its first configuration is loaded and every listener is open. */
export async function start(options: StartOptions): Promise<IngressdServer> {
  const { rules, logger, ...rest } = options;
  const server = await startIngressd({
    bind: "127.0.0.1",
    httpPort: 0,
    httpsPort: 0,
    adminBind: "127.0.0.1",
    adminPort: 0,
    ingressClass: "ingressd",
    watch: true,
    ...withoutUndefined(rest),
    rules: typeof rules === "string" ? [rules] : rules,
    logger: logger ?? pino({ level: "silent" }),
  });
  const { runtime, l4 } = server;
  return {
    get ports() {
      return { http: server.httpPort, https: server.httpsPort, admin: server.adminPort };
    },
    get generation() {
      return runtime.current.generation;
    },
    get issues() {
      return runtime.current.issues;
    },
    reload: () => runtime.rescan(),
    config: () => configView(runtime.current, server.notReady() === undefined, l4.status(), server.localCaCertificates()),
    close: () => server.close(),
  };
}

export interface CheckResult {
  /** No errors (warnings allowed): what `ingressd check` exits 0 for. */
  ok: boolean;
  files: FileReport[];
  resources: number;
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
}

/** Validates rules as the server would load them, without serving: `ingressd check` as a function. */
export async function check(rules: string | string[], options: { ingressClass?: string; gatewayClass?: string } = {}): Promise<CheckResult> {
  const loaded = await loadRules(typeof rules === "string" ? [rules] : rules, { ingressClass: options.ingressClass ?? "ingressd", gatewayClass: options.gatewayClass ?? "ingressd" });
  const errors = loaded.issues.filter((i) => i.severity === "error");
  return {
    ok: errors.length === 0,
    files: loaded.files,
    resources: loaded.resourceCount,
    errors,
    warnings: loaded.issues.filter((i) => i.severity === "warning"),
  };
}

/** An option given as `undefined` takes the default, as if it were not given. */
function withoutUndefined<T extends object>(o: T): Partial<IngressdOptions> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
