import { parseArgs, type ParseArgsConfig } from "node:util";
import { availableParallelism, homedir } from "node:os";
import { join } from "node:path";
import { parseDuration } from "../config/annotations.js";
import type { LogFormat } from "../telemetry/log.js";
import { splitCidr } from "../net/cidr.js";
import { closestName } from "../model/editDistance.js";
import { parseFrom, parseTo, targetsProblem, type InlineRoute } from "../config/inlineRules.js";
import { CLUSTER_FLAGS, clusterOptions, type ClusterOptions } from "./clusterOptions.js";

export interface CliOptions {
  rules: string[];
  bind: string;
  httpPort: number;
  httpsPort: number;
  adminPort: number;
  adminBind: string;
  ingressClass: string;
  /** Gateways of this class are served, besides those whose GatewayClass names ingressd's controller. */
  gatewayClass: string;
  watch: boolean;
  logLevel: string;
  logFormat: LogFormat;
  trustProxy: string[];
  upstreamTryDurationMs: number;
  dataDir: string;
  defaultCert?: string;
  defaultKey?: string;
  /** `--workers`: processes serving the same listeners; absent = 1, one process as without the flag. */
  workers?: number;
  /** `--source kubernetes`: the configuration comes from a cluster's API server instead of `rules`. */
  cluster?: ClusterOptions;
}

export class UsageError extends Error {
  readonly code = "usage";
}

export const USAGE = `Usage: ingressd [options]
       ingressd proxy --from HOST --to ADDRESS   (ingressd proxy --help)
       ingressd run NAME -- COMMAND             (ingressd run --help)
       ingressd check | routes | hosts | ca      (ingressd check --help)
       ingressd convert --to gateway FILE...     (ingressd convert --help)

Serves the Ingress rules of a folder of Kubernetes YAML on one HTTP port.

Options (each also as an environment variable, e.g. --http-port = INGRESSD_HTTP_PORT):
  --rules PATH          rules folder (read recursively) or file; repeatable   [./ingress-rules]
  --bind ADDR           address of the HTTP(S) listeners                    [0.0.0.0]
  --http-port N         HTTP port                                          [8080]
  --https-port N        HTTPS port (opened once TLS is configured)         [8443]
  --admin-port N        admin API port (/healthz, /readyz, /api/config)    [9090]
  --admin-bind ADDR     admin API address; it shows the whole configuration [127.0.0.1]
  --ingress-class NAME  serve Ingresses of this class (and those without)  [ingressd]
  --gateway-class NAME  serve Gateways of this class (and of any GatewayClass
                        with controllerName ingressd.io/gateway-controller) [ingressd]
  --default-cert FILE   PEM certificate (chain) for SNI names no TLS host matches
  --default-key FILE    its key (without both: one issued by the local CA)
  --data-dir DIR        where the local development CA lives
                        [$XDG_DATA_HOME/ingressd or ~/.local/share/ingressd]
  --no-watch            load the rules once, do not watch for changes
  --trust-proxy CIDRS   proxies (comma-separated CIDRs) whose X-Forwarded-For
                        names the client, for affinity and logs        [none]
  --upstream-try-duration D
                        hold a request this long (e.g. 5s) while every
                        endpoint of its Service refuses, retrying      [0]
  --workers N|auto      processes serving the same ports; auto = one per core [1]
  --source SOURCE       files (--rules) or kubernetes (the cluster's API server) [files]
  --kubeconfig FILES    with --source kubernetes: the cluster to read (also
                        KUBECONFIG)                 [in a pod: its service account]
  --namespace NS        read only this namespace's objects                 [all]
  --watch-namespace-selector SELECTOR
                        read only namespaces with these labels (team=shop)
  --publish-service NS/NAME
                        write this Service's LoadBalancer address to the
                        status of the Ingresses served
  --publish-status-address ADDRS
                        write these addresses (comma-separated) instead
  --log-level LEVEL     trace, debug, info, warn, error, fatal, silent      [info]
  --log-format FORMAT   json or pretty                                     [json]
  -v, --version         print the version
  -h, --help            this text
`;

/** `parseArgs`, strict, no positionals; its errors become UsageErrors (exit 2). */
function parseFlags<T extends NonNullable<ParseArgsConfig["options"]>>(args: string[], options: T) {
  try {
    return parseArgs({ args, strict: true, allowPositionals: false, tokens: true, options });
  } catch (err) {
    const unknown = (err as { code?: string }).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" ? /'([^']+)'/.exec((err as Error).message)?.[1] : undefined;
    if (unknown === undefined) throw new UsageError((err as Error).message);
    // A typo is the likely cause: name the flag it was probably meant to be.
    const near = unknown.startsWith("--") ? closestName(unknown, Object.keys(options).map((name) => `--${name}`)) : undefined;
    throw new UsageError(`unknown option ${unknown}${near ? ` (did you mean ${near}?)` : ""}`);
  }
}

const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

/** The server's flags, shared by `ingressd`, `ingressd proxy` and `ingressd run`. */
const SERVER_FLAGS = {
  rules: { type: "string", multiple: true },
  bind: { type: "string" },
  "http-port": { type: "string" },
  "https-port": { type: "string" },
  "admin-port": { type: "string" },
  "admin-bind": { type: "string" },
  "ingress-class": { type: "string" },
  "gateway-class": { type: "string" },
  "no-watch": { type: "boolean" },
  "trust-proxy": { type: "string" },
  "default-cert": { type: "string" },
  "default-key": { type: "string" },
  "data-dir": { type: "string" },
  "upstream-try-duration": { type: "string" },
  workers: { type: "string" },
  ...CLUSTER_FLAGS,
  "log-level": { type: "string" },
  "log-format": { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
} as const;

type ServerFlagValues = { [K in keyof typeof SERVER_FLAGS]?: (typeof SERVER_FLAGS)[K]["type"] extends "boolean" ? boolean : K extends "rules" ? string[] : string };

/** Flags, then `INGRESSD_*` variables, then defaults. Throws UsageError on anything unknown or malformed. */
export function parseOptions(argv: string[], env: Record<string, string | undefined>): CliOptions | "help" | "version" {
  const v = parseFlags(argv, SERVER_FLAGS).values;
  if (v.help) return "help";
  if (v.version) return "version";
  return serverOptions(v, env, ["./ingress-rules"]);
}

/** The server's options from its flags' values; `defaultRules` when neither --rules nor INGRESSD_RULES is given. */
function serverOptions(v: ServerFlagValues, env: Record<string, string | undefined>, defaultRules: string[], defaultLogLevel = "info"): CliOptions {
  // An empty variable counts as unset, as shells make it easy to set one by accident.
  const fromEnv = (name: string): string | undefined => (env[name] === "" ? undefined : env[name]);
  const pick = (flag: string | undefined, name: string, fallback: string): string => flag ?? fromEnv(name) ?? fallback;
  /** How a bad value is named in the message: the flag, or the variable it came from. */
  const source = (flag: string | undefined, option: string, name: string): string => (flag === undefined && fromEnv(name) !== undefined ? name : option);
  const port = (flag: string | undefined, name: string, fallback: string, option: string): number => {
    const raw = pick(flag, name, fallback);
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n > 65535) throw new UsageError(`${source(flag, option, name)} must be a port number 0-65535, not "${raw}"`);
    return n;
  };
  const envRules = fromEnv("INGRESSD_RULES")?.split(",").map((r) => r.trim()).filter(Boolean);
  const rules = v.rules ?? (envRules && envRules.length > 0 ? envRules : defaultRules);
  const logLevel = pick(v["log-level"], "INGRESSD_LOG_LEVEL", defaultLogLevel);
  if (!LEVELS.includes(logLevel)) throw new UsageError(`${source(v["log-level"], "--log-level", "INGRESSD_LOG_LEVEL")} must be one of ${LEVELS.join(", ")}, not "${logLevel}"`);
  const logFormat = pick(v["log-format"], "INGRESSD_LOG_FORMAT", "json");
  if (logFormat !== "json" && logFormat !== "pretty") throw new UsageError(`${source(v["log-format"], "--log-format", "INGRESSD_LOG_FORMAT")} must be json or pretty, not "${logFormat}"`);
  const trustRaw = pick(v["trust-proxy"], "INGRESSD_TRUST_PROXY", "");
  const trustProxy = trustRaw.split(",").map((c) => c.trim()).filter(Boolean);
  for (const cidr of trustProxy) {
    if (!splitCidr(cidr)) throw new UsageError(`${source(v["trust-proxy"], "--trust-proxy", "INGRESSD_TRUST_PROXY")} must be comma-separated CIDRs such as 10.0.0.0/8 or 127.0.0.1, not "${cidr}"`);
  }
  const tryRaw = pick(v["upstream-try-duration"], "INGRESSD_UPSTREAM_TRY_DURATION", "0");
  const upstreamTryDurationMs = parseDuration(tryRaw);
  if (upstreamTryDurationMs === undefined) {
    throw new UsageError(`${source(v["upstream-try-duration"], "--upstream-try-duration", "INGRESSD_UPSTREAM_TRY_DURATION")} must be a duration such as 5s or 500ms, not "${tryRaw}"`);
  }
  const defaultCert = v["default-cert"] ?? fromEnv("INGRESSD_DEFAULT_CERT");
  const defaultKey = v["default-key"] ?? fromEnv("INGRESSD_DEFAULT_KEY");
  if ((defaultCert === undefined) !== (defaultKey === undefined)) {
    throw new UsageError("--default-cert and --default-key go together: give both or neither");
  }
  const workersRaw = v.workers ?? fromEnv("INGRESSD_WORKERS");
  const workers = workersRaw === undefined ? undefined : workerCount(workersRaw, source(v.workers, "--workers", "INGRESSD_WORKERS"));
  const home = fromEnv("HOME") ?? homedir();
  const dataDir = pick(v["data-dir"], "INGRESSD_DATA_DIR", join(fromEnv("XDG_DATA_HOME") ?? join(home, ".local", "share"), "ingressd"));
  const cluster = clusterOptions(v, env, source);
  if (typeof cluster === "string") throw new UsageError(cluster);
  if (cluster && v.rules !== undefined) throw new UsageError("--rules reads files: with --source kubernetes the configuration comes from the cluster");
  const envWatch = fromEnv("INGRESSD_NO_WATCH");
  const noWatch = v["no-watch"] ?? (envWatch !== undefined && envWatch !== "0" && envWatch !== "false");
  return {
    rules,
    bind: pick(v.bind, "INGRESSD_BIND", "0.0.0.0"),
    httpPort: port(v["http-port"], "INGRESSD_HTTP_PORT", "8080", "--http-port"),
    httpsPort: port(v["https-port"], "INGRESSD_HTTPS_PORT", "8443", "--https-port"),
    adminPort: port(v["admin-port"], "INGRESSD_ADMIN_PORT", "9090", "--admin-port"),
    adminBind: pick(v["admin-bind"], "INGRESSD_ADMIN_BIND", "127.0.0.1"),
    ingressClass: pick(v["ingress-class"], "INGRESSD_INGRESS_CLASS", "ingressd"),
    gatewayClass: pick(v["gateway-class"], "INGRESSD_GATEWAY_CLASS", "ingressd"),
    watch: !noWatch,
    logLevel,
    logFormat,
    trustProxy,
    upstreamTryDurationMs,
    dataDir,
    ...(defaultCert !== undefined && defaultKey !== undefined ? { defaultCert, defaultKey } : {}),
    ...(workers !== undefined ? { workers } : {}),
    ...(cluster ? { cluster } : {}),
  };
}

/** `--workers N|auto`: a whole number from 1, or one per core the process may use. */
function workerCount(raw: string, named: string): number {
  if (raw === "auto") return availableParallelism();
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 1024) throw new UsageError(`${named} must be a number of processes from 1 to 1024, or auto (one per core), not "${raw}"`);
  return n;
}

/** `ingressd proxy`: the server's options and the routes its `--from`/`--to` pairs stand for. */
export interface ProxyOptions extends CliOptions {
  routes: InlineRoute[];
  /** `--print`: write the equivalent YAML and exit. */
  print: boolean;
}

export const PROXY_USAGE = `Usage: ingressd proxy --from HOST[/PATH] --to ADDRESS [--to ADDRESS]... [--from ...]... [options]
       ingressd proxy --from HOST --to ADDRESS --print

Serves each HOST (HTTP, and HTTPS with the local CA) from the addresses given after it,
without YAML: each --from becomes a Service, Endpoints and Ingress in memory, served
and shown like rules from files. --print writes that YAML instead, for a rules folder.

  --from HOST[/PATH]    a host (app.localhost, *.app.localhost), optionally a path prefix
  --to ADDRESS          :3000, 127.0.0.1:3000, [::1]:3000, http(s)://name:port;
                        several after one --from are balanced between
  --rules PATH          rules files served beside them (repeatable)       [none]
  --print               print the equivalent Kubernetes YAML and exit
  and every option of ingressd (ingressd --help): --http-port, --https-port, ...
`;

/** `ingressd proxy` flags: the server's, plus ordered `--from`/`--to` pairs. */
export function parseProxyOptions(argv: string[], env: Record<string, string | undefined>): ProxyOptions | "help" | "version" {
  const parsed = parseFlags(argv, { ...SERVER_FLAGS, from: { type: "string", multiple: true }, to: { type: "string", multiple: true }, print: { type: "boolean" } });
  const v = parsed.values;
  if (v.help) return "help";
  if (v.version) return "version";
  const routes = inlineRoutes(parsed.tokens ?? []);
  if (routes.length === 0) throw new UsageError("give at least one --from HOST --to ADDRESS (e.g. --from app.localhost --to :3000)");
  return { ...serverOptions(v, env, []), routes, print: v.print ?? false };
}

/** `--from`/`--to` pairs in the order given: each --to belongs to the --from before it. */
function inlineRoutes(tokens: readonly { kind: string; name?: string; value?: string | undefined }[]): InlineRoute[] {
  const routes: InlineRoute[] = [];
  for (const token of tokens) {
    if (token.kind !== "option" || (token.name !== "from" && token.name !== "to")) continue;
    const value = token.value ?? "";
    if (token.name === "from") {
      const from = parseFrom(value);
      if (typeof from === "string") throw new UsageError(from);
      routes.push({ ...from, targets: [] });
      continue;
    }
    const target = parseTo(value);
    if (typeof target === "string") throw new UsageError(target);
    const route = routes.at(-1);
    if (!route) throw new UsageError(`--to ${value} comes before any --from: write --from HOST --to ${value}`);
    route.targets.push(target);
  }
  for (const route of routes) {
    if (route.targets.length === 0) throw new UsageError(`--from ${route.host} has no --to: add --to ADDRESS after it (e.g. --to :3000)`);
    const problem = targetsProblem(route);
    if (problem) throw new UsageError(problem);
  }
  return routes;
}

/** `ingressd run NAME -- COMMAND...`: the server's options (used only when no ingressd runs yet), the name and the command. */
export interface RunOptions extends CliOptions {
  name: string;
  command: string[];
}

export const RUN_USAGE = `Usage: ingressd run [options] NAME -- COMMAND [ARGS...]

Runs COMMAND with a free port in PORT (and HOST=127.0.0.1) and serves NAME.localhost
to it, over HTTP and HTTPS (local CA), while it runs. When an ingressd already runs on
the admin port, the name is registered with it (loopback only); otherwise this one
serves on the usual ports. Signals go to COMMAND; its exit status is ingressd's.

  NAME                  a DNS label: web serves web.localhost
  --rules PATH          rules files served beside it, when no ingressd runs yet [none]
  and every option of ingressd (ingressd --help): --http-port, --admin-port, ...
                        (the log level defaults to warn here: the command's output is yours)
`;

/** Flags that take a value, to find where the flags before NAME end when `--` is not written. */
const VALUE_FLAGS = new Set(Object.entries(SERVER_FLAGS).filter(([, o]) => o.type === "string").map(([name]) => `--${name}`));

export function parseRunOptions(argv: string[], env: Record<string, string | undefined>): RunOptions | "help" | "version" {
  // `run [flags] NAME [flags] -- COMMAND...`; without `--`, the command starts after NAME.
  const dashes = argv.indexOf("--");
  let head: string[];
  let command: string[];
  if (dashes >= 0) {
    head = argv.slice(0, dashes);
    command = argv.slice(dashes + 1);
  } else {
    let i = 0;
    while (i < argv.length && argv[i]!.startsWith("-")) i += VALUE_FLAGS.has(argv[i]!) ? 2 : 1;
    head = argv.slice(0, i + 1);
    command = argv.slice(i + 1);
  }
  let parsed;
  try {
    parsed = parseArgs({ args: head, strict: true, allowPositionals: true, options: SERVER_FLAGS });
  } catch {
    parsed = parseFlags(head.filter((a) => a.startsWith("-")), SERVER_FLAGS); // throws the usage error, with its suggestion
  }
  const v = parsed.values;
  if (v.help) return "help";
  if (v.version) return "version";
  const [name, ...extra] = parsed.positionals;
  if (name === undefined) throw new UsageError("give a NAME and the command to run: ingressd run web -- npm run dev");
  if (extra.length > 0) throw new UsageError(`one NAME, then -- and the command: ingressd run ${name} -- ${extra.join(" ")}`);
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) throw new UsageError(`NAME must be a DNS label (lowercase letters, digits, -), not "${name}": it serves NAME.localhost`);
  if (command.length === 0) throw new UsageError(`give the command to run after --: ingressd run ${name} -- npm run dev`);
  return { ...serverOptions(v, env, [], "warn"), name, command };
}

export interface ToolOptions {
  rules: string[];
  /** `--from`/`--to` pairs, checked and listed as `ingressd proxy` would serve them. */
  routes: InlineRoute[];
  ingressClass: string;
  gatewayClass: string;
  format: "text" | "json";
  explain?: string;
}

export const TOOL_USAGE = `Usage:
  ingressd check  [--rules PATH]... [--from HOST --to ADDRESS]... [--ingress-class NAME] [--gateway-class NAME] [--format text|json]
  ingressd routes [--rules PATH]... [--from HOST --to ADDRESS]... [--ingress-class NAME] [--gateway-class NAME] [--format text|json] [--explain URL]
  ingressd hosts  [--rules PATH]... [--from HOST --to ADDRESS]... [--ingress-class NAME] [--gateway-class NAME] [--format text|json]
  ingressd ca path [--data-dir DIR]

  ingressd --version

  check    validate rules as the server would; exit 0 clean, 1 errors, 2 usage
  routes   print the compiled routing table; --explain URL tells which rule
           a URL matches and why the others lost
  hosts    print an /etc/hosts line for every served host (for resolvers
           that do not map *.localhost to 127.0.0.1)
`;

/** Options of `ingressd check` and `ingressd routes`. */
export function parseToolOptions(command: "check" | "routes" | "hosts", argv: string[], env: Record<string, string | undefined>): ToolOptions | "help" | "version" {
  const parsed = parseFlags(argv, {
    rules: { type: "string", multiple: true },
    "ingress-class": { type: "string" },
    "gateway-class": { type: "string" },
    format: { type: "string" },
    help: { type: "boolean", short: "h" },
    version: { type: "boolean", short: "v" },
    from: { type: "string", multiple: true },
    to: { type: "string", multiple: true },
    ...(command === "routes" ? { explain: { type: "string" as const } } : {}),
  });
  const v = parsed.values as { rules?: string[]; "ingress-class"?: string; "gateway-class"?: string; format?: string; help?: boolean; version?: boolean; explain?: string };
  if (v.help) return "help";
  if (v.version) return "version";
  const format = v.format ?? "text";
  if (format !== "text" && format !== "json") throw new UsageError(`--format must be text or json, not "${format}"`);
  const envRules = env.INGRESSD_RULES?.split(",").map((r) => r.trim()).filter(Boolean);
  const routes = inlineRoutes(parsed.tokens ?? []);
  return {
    // With --from pairs and no --rules, only the pairs: as `ingressd proxy` serves them.
    rules: v.rules ?? (envRules && envRules.length > 0 ? envRules : routes.length > 0 ? [] : ["./ingress-rules"]),
    routes,
    ingressClass: v["ingress-class"] ?? (env.INGRESSD_INGRESS_CLASS || "ingressd"),
    gatewayClass: v["gateway-class"] ?? (env.INGRESSD_GATEWAY_CLASS || "ingressd"),
    format,
    ...(v.explain !== undefined ? { explain: v.explain } : {}),
  };
}
