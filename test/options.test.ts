import { execFile, spawnSync } from "node:child_process";
import { readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { homedir, hostname } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { ListenError, type ListenerName } from "../src/server/listenError.js";
import type { ClusterOptions } from "../src/server/clusterOptions.js";
import { parseOptions, parseToolOptions, USAGE, UsageError, type CliOptions } from "../src/server/options.js";

const DEFAULTS: CliOptions = {
  rules: ["./ingress-rules"],
  bind: "0.0.0.0",
  httpPort: 8080,
  httpsPort: 8443,
  adminPort: 9090,
  adminBind: "127.0.0.1",
  ingressClass: "ingressd",
  gatewayClass: "ingressd",
  watch: true,
  logLevel: "info",
  logFormat: "json",
  trustProxy: [],
  upstreamTryDurationMs: 0,
  dataDir: join(homedir(), ".local", "share", "ingressd"),
};

/** parseOptions that must return options, not "help". */
function parse(argv: string[], env: Record<string, string | undefined> = {}): CliOptions {
  const out = parseOptions(argv, env);
  if (out === "help" || out === "version") throw new Error(`unexpected ${out}`);
  return out;
}

function usageError(argv: string[], env: Record<string, string | undefined> = {}): UsageError {
  try {
    parseOptions(argv, env);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error(`expected a UsageError for ${JSON.stringify(argv)} ${JSON.stringify(env)}`);
}

describe("parseOptions", () => {
  it("defaults", () => {
    expect(parseOptions([], {})).toEqual(DEFAULTS);
  });

  it("ignores unrelated environment variables", () => {
    expect(parseOptions([], { PORT: "1234", HTTP_PORT: "1", INGRESSD: "x", PATH: "/bin" })).toEqual(DEFAULTS);
  });

  it.each<[string[], Partial<CliOptions>]>([
    [["--rules", "/etc/ingressd"], { rules: ["/etc/ingressd"] }],
    [["--rules=./x.yaml"], { rules: ["./x.yaml"] }],
    [["--bind", "127.0.0.1"], { bind: "127.0.0.1" }],
    [["--bind=::"], { bind: "::" }],
    [["--http-port", "80"], { httpPort: 80 }],
    [["--http-port=0"], { httpPort: 0 }],
    [["--http-port", "65535"], { httpPort: 65535 }],
    [["--https-port", "443"], { httpsPort: 443 }],
    [["--admin-port", "9999"], { adminPort: 9999 }],
    [["--admin-bind", "0.0.0.0"], { adminBind: "0.0.0.0" }],
    [["--ingress-class", "public"], { ingressClass: "public" }],
    [["--gateway-class", "edge"], { gatewayClass: "edge" }],
    [["--no-watch"], { watch: false }],
    [["--log-level", "debug"], { logLevel: "debug" }],
    [["--log-level=silent"], { logLevel: "silent" }],
    [["--log-format", "pretty"], { logFormat: "pretty" }],
  ])("flag %j", (argv, changed) => {
    expect(parse(argv)).toEqual({ ...DEFAULTS, ...changed });
  });

  it.each(["trace", "debug", "info", "warn", "error", "fatal", "silent"])("log level %s is accepted", (level) => {
    expect(parse(["--log-level", level]).logLevel).toBe(level);
  });

  it("all flags at once", () => {
    expect(
      parse([
        "--rules", "a", "--bind", "127.0.0.2", "--http-port", "1", "--https-port", "2", "--admin-port", "3", "--admin-bind", "::1",
        "--ingress-class", "c", "--no-watch", "--log-level", "warn", "--log-format", "pretty",
        "--trust-proxy", "127.0.0.0/8", "--upstream-try-duration", "2s",
      ]),
    ).toEqual({
      rules: ["a"], bind: "127.0.0.2", httpPort: 1, httpsPort: 2, adminPort: 3, adminBind: "::1",
      ingressClass: "c", gatewayClass: "ingressd", watch: false, logLevel: "warn", logFormat: "pretty", trustProxy: ["127.0.0.0/8"], upstreamTryDurationMs: 2000, dataDir: DEFAULTS.dataDir,
    });
  });

  it("--rules is repeatable, in order", () => {
    expect(parse(["--rules", "a", "--rules=b", "--rules", "c/d.yaml"]).rules).toEqual(["a", "b", "c/d.yaml"]);
  });

  it.each<[Record<string, string>, Partial<CliOptions>]>([
    [{ INGRESSD_RULES: "/srv/rules" }, { rules: ["/srv/rules"] }],
    [{ INGRESSD_RULES: "a,b,c" }, { rules: ["a", "b", "c"] }],
    [{ INGRESSD_RULES: "a,,b," }, { rules: ["a", "b"] }],
    [{ INGRESSD_RULES: "" }, { rules: ["./ingress-rules"] }],
    [{ INGRESSD_BIND: "127.0.0.1" }, { bind: "127.0.0.1" }],
    [{ INGRESSD_HTTP_PORT: "8000" }, { httpPort: 8000 }],
    [{ INGRESSD_HTTPS_PORT: "8001" }, { httpsPort: 8001 }],
    [{ INGRESSD_ADMIN_PORT: "8002" }, { adminPort: 8002 }],
    [{ INGRESSD_ADMIN_BIND: "0.0.0.0" }, { adminBind: "0.0.0.0" }],
    [{ INGRESSD_INGRESS_CLASS: "internal" }, { ingressClass: "internal" }],
    [{ INGRESSD_GATEWAY_CLASS: "edge" }, { gatewayClass: "edge" }],
    [{ INGRESSD_NO_WATCH: "1" }, { watch: false }],
    [{ INGRESSD_NO_WATCH: "true" }, { watch: false }],
    [{ INGRESSD_NO_WATCH: "0" }, { watch: true }],
    [{ INGRESSD_NO_WATCH: "false" }, { watch: true }],
    [{ INGRESSD_NO_WATCH: "" }, { watch: true }],
    [{ INGRESSD_LOG_LEVEL: "error" }, { logLevel: "error" }],
    [{ INGRESSD_LOG_FORMAT: "pretty" }, { logFormat: "pretty" }],
  ])("environment %j", (env, changed) => {
    expect(parse([], env)).toEqual({ ...DEFAULTS, ...changed });
  });

  it("flags beat environment variables", () => {
    const env = {
      INGRESSD_RULES: "env-a,env-b",
      INGRESSD_BIND: "10.0.0.1",
      INGRESSD_HTTP_PORT: "1111",
      INGRESSD_HTTPS_PORT: "2222",
      INGRESSD_ADMIN_PORT: "3333",
      INGRESSD_ADMIN_BIND: "10.0.0.2",
      INGRESSD_INGRESS_CLASS: "env-class",
      INGRESSD_LOG_LEVEL: "trace",
      INGRESSD_LOG_FORMAT: "pretty",
      INGRESSD_TRUST_PROXY: "10.0.0.0/8",
      INGRESSD_UPSTREAM_TRY_DURATION: "3s",
    };
    expect(parse([], env)).toEqual({
      rules: ["env-a", "env-b"], bind: "10.0.0.1", httpPort: 1111, httpsPort: 2222, adminPort: 3333, adminBind: "10.0.0.2",
      ingressClass: "env-class", gatewayClass: "ingressd", watch: true, logLevel: "trace", logFormat: "pretty", trustProxy: ["10.0.0.0/8"], upstreamTryDurationMs: 3000, dataDir: DEFAULTS.dataDir,
    });
    expect(
      parse(
        [
          "--rules", "flag", "--bind", "127.0.0.1", "--http-port", "1", "--https-port", "2", "--admin-port", "3", "--admin-bind", "::1",
          "--ingress-class", "flag-class", "--log-level", "warn", "--log-format", "json",
          "--trust-proxy", "127.0.0.1", "--upstream-try-duration", "1s",
        ],
        env,
      ),
    ).toEqual({
      rules: ["flag"], bind: "127.0.0.1", httpPort: 1, httpsPort: 2, adminPort: 3, adminBind: "::1",
      ingressClass: "flag-class", gatewayClass: "ingressd", watch: true, logLevel: "warn", logFormat: "json", trustProxy: ["127.0.0.1"], upstreamTryDurationMs: 1000, dataDir: DEFAULTS.dataDir,
    });
  });

  it("a valid flag hides an invalid environment value", () => {
    expect(parse(["--http-port", "80", "--log-level", "info"], { INGRESSD_HTTP_PORT: "abc", INGRESSD_LOG_LEVEL: "loud" })).toMatchObject({ httpPort: 80, logLevel: "info" });
  });

  it("--no-watch and INGRESSD_NO_WATCH", () => {
    expect(parse(["--no-watch"]).watch).toBe(false);
    expect(parse(["--no-watch"], { INGRESSD_NO_WATCH: "0" }).watch).toBe(false);
    expect(parse([], { INGRESSD_NO_WATCH: "yes" }).watch).toBe(false);
  });

  it.each<[string, string[], Record<string, string>, RegExp]>([
    ["unknown flag", ["--bogus"], {}, /bogus/],
    ["unknown short flag", ["-x"], {}, /-x/],
    ["positional argument", ["rules-dir"], {}, /rules-dir/],
    ["flag without its value", ["--http-port"], {}, /http-port/],
    ["value on a boolean flag", ["--no-watch=yes"], {}, /no-watch/],
    ["--watch is not a flag", ["--watch"], {}, /watch/],
    ["port abc", ["--http-port", "abc"], {}, /--http-port.*abc/],
    ["port 70000", ["--http-port", "70000"], {}, /70000/],
    ["port 65536", ["--https-port", "65536"], {}, /--https-port.*65536/],
    ["negative port", ["--admin-port=-1"], {}, /-1/],
    ["port with a fraction", ["--http-port", "80.5"], {}, /80\.5/],
    ["port in exponent form", ["--http-port", "1e3"], {}, /1e3/],
    ["empty port", ["--http-port="], {}, /--http-port/],
    ["port abc from the environment", [], { INGRESSD_HTTP_PORT: "abc" }, /abc/],
    ["port 70000 from the environment", [], { INGRESSD_ADMIN_PORT: "70000" }, /70000/],
    ["log level loud", ["--log-level", "loud"], {}, /loud/],
    ["log level loud from the environment", [], { INGRESSD_LOG_LEVEL: "loud" }, /loud/],
    ["log level in capitals", ["--log-level", "INFO"], {}, /INFO/],
    ["log format xml", ["--log-format", "xml"], {}, /xml/],
    ["log format xml from the environment", [], { INGRESSD_LOG_FORMAT: "xml" }, /xml/],
  ])("%s throws UsageError", (_name, argv, env, message) => {
    const err = usageError(argv, env);
    expect(err.code).toBe("usage");
    expect(err.message).toMatch(message);
  });

  it("the log-level error lists the valid levels", () => {
    expect(usageError(["--log-level", "loud"]).message).toContain("trace, debug, info, warn, error, fatal, silent");
  });

  it("-h and --help return 'help'", () => {
    expect(parseOptions(["-h"], {})).toBe("help");
    expect(parseOptions(["--help"], {})).toBe("help");
    expect(parseOptions(["--http-port", "1", "-h"], {})).toBe("help");
  });

  it("the usage text documents every flag", () => {
    for (const flag of ["--rules", "--bind", "--http-port", "--https-port", "--admin-port", "--admin-bind", "--ingress-class", "--no-watch", "--log-level", "--log-format", "-h, --help"]) {
      expect(USAGE).toContain(flag);
    }
  });
});

// ---------------------------------------------------------------------------
// The built CLI
// ---------------------------------------------------------------------------

describe("built CLI", () => {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

  beforeAll(() => {
    // Build the current sources with the package's own build script, so the test runs the CLI as shipped
    // (from scratch: a file that is already there keeps its mode when rewritten).
    rmSync(cli, { force: true });
    const build = spawnSync("npm", ["run", "build"], { cwd: root, encoding: "utf8" });
    if (build.status !== 0) throw new Error(`build failed (${build.status}):\n${build.stdout}\n${build.stderr}`);
  }, 120_000);

  function run(args: string[], extraEnv: Record<string, string> = {}, file = process.execPath): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const env = { ...process.env };
      for (const k of Object.keys(env)) if (k.startsWith("INGRESSD_")) delete env[k];
      Object.assign(env, extraEnv);
      execFile(file, file === cli ? args : [cli, ...args], { cwd: root, env, timeout: 20_000 }, (err, stdout, stderr) => {
        // On a non-zero exit, `err.code` is the exit code (a string only when spawning itself failed).
        const code: unknown = err ? (err as { code?: unknown }).code : 0;
        resolve({ code: typeof code === "number" ? code : null, stdout, stderr });
      });
    });
  }

  it("an unknown flag exits with code 2 and prints the usage on stderr", async () => {
    const res = await run(["--bogus"]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^ingressd: .*--bogus/);
    expect(res.stderr).toContain("Usage: ingressd [options]");
    expect(res.stderr).toContain("--http-port N");
    expect(res.stdout).toBe("");
  });

  it("a bad value exits with code 2", async () => {
    const res = await run(["--http-port", "70000"]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("70000");
    expect(res.stderr).toContain("Usage: ingressd [options]");
  });

  it("an unknown flag names the nearest known one: --rule → --rules, one line, then the usage", async () => {
    const res = await run(["--rule", "x"]);
    expect(res.code).toBe(2);
    expect(res.stderr.split("\n")[0]).toBe("ingressd: unknown option --rule (did you mean --rules?)");
    const tool = await run(["routes", "--explian", "http://a/"]);
    expect(tool.stderr.split("\n")[0]).toBe("ingressd routes: unknown option --explian (did you mean --explain?)");
  });

  /** A port held by a real listener on 127.0.0.1, for the CLI to collide with. */
  async function occupiedPort(): Promise<{ port: number; close: () => void }> {
    const holder = createServer();
    await new Promise<void>((res) => holder.listen(0, "127.0.0.1", res));
    return { port: (holder.address() as AddressInfo).port, close: () => holder.close() };
  }

  it.each([
    ["HTTP", (p: number) => ["--bind", "127.0.0.1", "--http-port", String(p), "--admin-port", "0"], "--http-port or INGRESSD_HTTP_PORT"],
    ["admin", (p: number) => ["--http-port", "0", "--bind", "127.0.0.1", "--admin-bind", "127.0.0.1", "--admin-port", String(p)], "--admin-port or INGRESSD_ADMIN_PORT"],
  ])("a %s port already in use: one line naming the address, the flag and the variable; exit 1, no stack trace", async (_, args, setting) => {
    const held = await occupiedPort();
    try {
      const res = await run([...args(held.port), "--rules", "test/fixtures/good", "--log-level", "silent"]);
      expect(res.stderr).toBe(`ingressd: cannot listen on 127.0.0.1:${held.port} (address already in use): choose another with ${setting}\n`);
      expect(res.code).toBe(1);
    } finally {
      held.close();
    }
  });

  it("--help prints the usage on stdout and exits 0", async () => {
    const res = await run(["--help"]);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe(USAGE);
    expect(res.stderr).toBe("");
  });

  const version = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

  it.each([["--version"], ["-v"], ["check", "--version"], ["routes", "-v"], ["ca", "path", "--version"]])("%s %s %s prints ingressd <package.json version> and exits 0", async (...args) => {
    const res = await run(args.filter((a): a is string => typeof a === "string"));
    expect(res.stdout).toBe(`ingressd ${version}\n`);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
  });

  it("the build leaves dist/cli.js executable: ./dist/cli.js runs by itself", async () => {
    expect(statSync(cli).mode & 0o111).not.toBe(0);
    const res = await run(["--version"], {}, cli);
    expect(res.stdout).toBe(`ingressd ${version}\n`);
  });

  it("a bare `ingressd ca` prints the ca commands on stdout and exits 0", async () => {
    const res = await run(["ca"]);
    expect(res.code).toBe(0);
    expect(res.stderr).toBe("");
    expect(res.stdout).toMatch(/^Usage: ingressd ca <command>/);
    expect(res.stdout).toContain("ingressd ca path");
    expect((await run(["ca", "--help"])).stdout).toBe(res.stdout);
  });
});

describe("unknown flags suggest the nearest known one (within two edits)", () => {
  it.each([
    [["--rule", "x"], "unknown option --rule (did you mean --rules?)"],
    [["--htp-port=1"], "unknown option --htp-port (did you mean --http-port?)"],
    [["--admin-prot", "1"], "unknown option --admin-prot (did you mean --admin-port?)"],
    [["--verison"], "unknown option --verison (did you mean --version?)"],
    [["--frobnicate"], "unknown option --frobnicate"],
    [["-x"], "unknown option -x"],
  ])("%j", (argv, message) => {
    expect(usageError(argv).message).toBe(message);
  });
  it("check and routes suggest among their own flags (--explain is routes only)", () => {
    expect(() => parseToolOptions("routes", ["--explian", "u"], {})).toThrow("unknown option --explian (did you mean --explain?)");
    expect(() => parseToolOptions("check", ["--explian", "u"], {})).toThrow(/^unknown option --explian$/);
    expect(() => parseToolOptions("check", ["--fromat", "json"], {})).toThrow("unknown option --fromat (did you mean --format?)");
  });
});

describe("ListenError: a listener that cannot open names what to change", () => {
  it.each<[ListenerName, string, string | undefined, string]>([
    ["https", "0.0.0.0", "EADDRINUSE", "cannot listen on 0.0.0.0:8443 (address already in use): choose another with --https-port or INGRESSD_HTTPS_PORT"],
    ["http", "::", "EACCES", "cannot listen on [::]:8443 (permission denied): choose another with --http-port or INGRESSD_HTTP_PORT"],
    ["admin", "10.9.9.9", "EADDRNOTAVAIL", "cannot listen on 10.9.9.9:8443 (address not available on this machine): choose another with --admin-bind or INGRESSD_ADMIN_BIND"],
  ])("%s %s %s", (listener, address, code, message) => {
    expect(new ListenError(listener, address, 8443, code).message).toBe(message);
  });
});

describe("issue 3 flags", () => {
  it("--trust-proxy takes comma-separated CIDRs and bare addresses", () => {
    expect(parse(["--trust-proxy", "10.0.0.0/8, 127.0.0.1,::1/128"]).trustProxy).toEqual(["10.0.0.0/8", "127.0.0.1", "::1/128"]);
    expect(parse([], { INGRESSD_TRUST_PROXY: "192.168.0.0/16" }).trustProxy).toEqual(["192.168.0.0/16"]);
  });
  it("--trust-proxy rejects what is not a CIDR, naming the source", () => {
    expect(() => parse(["--trust-proxy", "10.0.0.0/33"])).toThrow(/--trust-proxy/);
    expect(() => parse([], { INGRESSD_TRUST_PROXY: "example.com" })).toThrow(/INGRESSD_TRUST_PROXY/);
  });
  it("--upstream-try-duration takes a duration", () => {
    expect(parse(["--upstream-try-duration", "5s"]).upstreamTryDurationMs).toBe(5000);
    expect(parse(["--upstream-try-duration=750ms"]).upstreamTryDurationMs).toBe(750);
    expect(parse([], { INGRESSD_UPSTREAM_TRY_DURATION: "1m" }).upstreamTryDurationMs).toBe(60000);
    expect(() => parse(["--upstream-try-duration", "soon"])).toThrow(UsageError);
  });
});

describe("issue 4 flags", () => {
  it("--data-dir defaults to $XDG_DATA_HOME/ingressd, else ~/.local/share/ingressd", () => {
    expect(parse([], { XDG_DATA_HOME: "/xdg" }).dataDir).toBe("/xdg/ingressd");
    expect(parse([], { HOME: "/home/u" }).dataDir).toBe("/home/u/.local/share/ingressd");
    expect(parse(["--data-dir", "/d"], { XDG_DATA_HOME: "/xdg" }).dataDir).toBe("/d");
    expect(parse([], { INGRESSD_DATA_DIR: "/e" }).dataDir).toBe("/e");
  });
  it("--default-cert and --default-key go together", () => {
    expect(parse(["--default-cert", "c.pem", "--default-key", "k.pem"])).toMatchObject({ defaultCert: "c.pem", defaultKey: "k.pem" });
    expect(() => parse(["--default-cert", "c.pem"])).toThrow(UsageError);
  });
});

describe("--source kubernetes", () => {
  const host = hostname();
  /** The cluster options of a plain `--source kubernetes`, outside a pod, without HOME or KUBECONFIG. */
  const CLUSTER = { inCluster: false, leaseNamespace: "ingressd", identity: host };

  it("defaults: the files source, no cluster", () => {
    expect(parse([]).cluster).toBeUndefined();
    expect(parse(["--source", "files"])).toEqual(DEFAULTS);
    expect(parse([], { INGRESSD_SOURCE: "files" })).toEqual(DEFAULTS);
  });

  it("--source kubernetes and INGRESSD_SOURCE=kubernetes read the cluster (with the rules default untouched)", () => {
    expect(parse(["--source", "kubernetes"]).cluster).toEqual(CLUSTER);
    expect(parse([], { INGRESSD_SOURCE: "kubernetes" }).cluster).toEqual(CLUSTER);
    expect(parse(["--source=files"], { INGRESSD_SOURCE: "kubernetes" }).cluster).toBeUndefined();
  });

  it.each<[string, string[], Record<string, string>, Partial<ClusterOptions>]>([
    ["--kubeconfig", ["--kubeconfig", "/k/config"], {}, { kubeconfig: "/k/config" }],
    ["INGRESSD_KUBECONFIG", [], { INGRESSD_KUBECONFIG: "/k/env" }, { kubeconfig: "/k/env" }],
    ["KUBECONFIG when neither is given", [], { KUBECONFIG: "/a:/b" }, { kubeconfig: "/a:/b" }],
    ["--kubeconfig before KUBECONFIG", ["--kubeconfig", "/flag"], { KUBECONFIG: "/kube", INGRESSD_KUBECONFIG: "/env" }, { kubeconfig: "/flag" }],
    ["INGRESSD_KUBECONFIG before KUBECONFIG", [], { KUBECONFIG: "/kube", INGRESSD_KUBECONFIG: "/env" }, { kubeconfig: "/env" }],
    ["--namespace", ["--namespace", "shop"], {}, { namespace: "shop" }],
    ["INGRESSD_NAMESPACE", [], { INGRESSD_NAMESPACE: "shop" }, { namespace: "shop" }],
    ["--watch-namespace-selector", ["--watch-namespace-selector", "team=shop"], {}, { namespaceSelector: "team=shop" }],
    ["INGRESSD_WATCH_NAMESPACE_SELECTOR", [], { INGRESSD_WATCH_NAMESPACE_SELECTOR: "env in (dev,test),!legacy" }, { namespaceSelector: "env in (dev,test),!legacy" }],
    ["--publish-service", ["--publish-service", "ingressd/ingressd"], {}, { publishService: { namespace: "ingressd", name: "ingressd" } }],
    ["INGRESSD_PUBLISH_SERVICE", [], { INGRESSD_PUBLISH_SERVICE: "edge/lb" }, { publishService: { namespace: "edge", name: "lb" } }],
    ["--publish-status-address", ["--publish-status-address", "203.0.113.7, lb.example.com,2001:db8::1"], {}, { publishStatusAddress: ["203.0.113.7", "lb.example.com", "2001:db8::1"] }],
    ["INGRESSD_PUBLISH_STATUS_ADDRESS", [], { INGRESSD_PUBLISH_STATUS_ADDRESS: "198.51.100.1" }, { publishStatusAddress: ["198.51.100.1"] }],
    ["POD_NAMESPACE and POD_NAME", [], { POD_NAMESPACE: "edge", POD_NAME: "ingressd-7f9c-x2" }, { leaseNamespace: "edge", identity: "ingressd-7f9c-x2" }],
    ["KUBERNETES_SERVICE_HOST: in a pod", [], { KUBERNETES_SERVICE_HOST: "10.96.0.1" }, { inCluster: true }],
    ["HOME: where ~/.kube/config is looked for", [], { HOME: "/home/u" }, { home: "/home/u" }],
  ])("%s", (_name, argv, env, changed) => {
    expect(parse(["--source", "kubernetes", ...argv], env).cluster).toEqual({ ...CLUSTER, ...changed });
  });

  it("a flag beats its variable", () => {
    const env = { INGRESSD_NAMESPACE: "env-ns", INGRESSD_PUBLISH_SERVICE: "env/svc", INGRESSD_PUBLISH_STATUS_ADDRESS: "10.0.0.1" };
    expect(parse(["--source", "kubernetes", "--namespace", "flag-ns", "--publish-service", "flag/svc", "--publish-status-address", "10.0.0.2"], env).cluster).toMatchObject({
      namespace: "flag-ns",
      publishService: { namespace: "flag", name: "svc" },
      publishStatusAddress: ["10.0.0.2"],
    });
  });

  it.each<[string, string[], Record<string, string>, string]>([
    ["bad source", ["--source", "k8s"], {}, '--source must be files or kubernetes, not "k8s"'],
    ["bad source from the environment", [], { INGRESSD_SOURCE: "cluster" }, 'INGRESSD_SOURCE must be files or kubernetes, not "cluster"'],
    ["bad namespace", ["--source", "kubernetes", "--namespace", "Shop_1"], {}, '--namespace must be a namespace name (a DNS label), not "Shop_1"'],
    ["bad namespace from the environment", ["--source", "kubernetes"], { INGRESSD_NAMESPACE: "-x" }, 'INGRESSD_NAMESPACE must be a namespace name (a DNS label), not "-x"'],
    ["bad selector", ["--source", "kubernetes", "--watch-namespace-selector", "team=(shop"], {}, '--watch-namespace-selector must be a label selector such as team=shop or env in (dev,test), not "team=(shop"'],
    ["empty selector", ["--source", "kubernetes", "--watch-namespace-selector", " "], {}, '--watch-namespace-selector must be a label selector such as team=shop or env in (dev,test), not " "'],
    ["bad selector from the environment", ["--source", "kubernetes"], { INGRESSD_WATCH_NAMESPACE_SELECTOR: "a b" }, 'INGRESSD_WATCH_NAMESPACE_SELECTOR must be a label selector such as team=shop or env in (dev,test), not "a b"'],
    ["namespace and selector together", ["--source", "kubernetes", "--namespace", "shop", "--watch-namespace-selector", "team=shop"], {}, "--watch-namespace-selector and --namespace both limit the namespaces read: give one"],
    ["bad publish-service", ["--source", "kubernetes", "--publish-service", "ingressd"], {}, '--publish-service must be a Service as NAMESPACE/NAME, not "ingressd"'],
    ["publish-service with three parts", ["--source", "kubernetes", "--publish-service", "a/b/c"], {}, '--publish-service must be a Service as NAMESPACE/NAME, not "a/b/c"'],
    ["bad publish-service from the environment", ["--source", "kubernetes"], { INGRESSD_PUBLISH_SERVICE: "/lb" }, 'INGRESSD_PUBLISH_SERVICE must be a Service as NAMESPACE/NAME, not "/lb"'],
    ["bad publish-status-address", ["--source", "kubernetes", "--publish-status-address", "10.0.0.1,not an address"], {}, '--publish-status-address must be comma-separated IP addresses or host names, not "10.0.0.1,not an address"'],
    ["empty publish-status-address", ["--source", "kubernetes", "--publish-status-address", ","], {}, '--publish-status-address must be comma-separated IP addresses or host names, not ","'],
    ["bad publish-status-address from the environment", ["--source", "kubernetes"], { INGRESSD_PUBLISH_STATUS_ADDRESS: "_lb" }, 'INGRESSD_PUBLISH_STATUS_ADDRESS must be comma-separated IP addresses or host names, not "_lb"'],
    ["--kubeconfig without --source kubernetes", ["--kubeconfig", "/k"], {}, "--kubeconfig reads from a cluster: give --source kubernetes with it"],
    ["--namespace without --source kubernetes", ["--namespace", "shop"], {}, "--namespace reads from a cluster: give --source kubernetes with it"],
    ["--watch-namespace-selector with --source files", ["--source", "files", "--watch-namespace-selector", "a=b"], {}, "--watch-namespace-selector reads from a cluster: give --source kubernetes with it"],
    ["--publish-service without --source kubernetes", ["--publish-service", "a/b"], {}, "--publish-service reads from a cluster: give --source kubernetes with it"],
    ["--publish-status-address without --source kubernetes", ["--publish-status-address", "10.0.0.1"], {}, "--publish-status-address reads from a cluster: give --source kubernetes with it"],
    ["--rules with --source kubernetes", ["--source", "kubernetes", "--rules", "./x"], {}, "--rules reads files: with --source kubernetes the configuration comes from the cluster"],
  ])("%s: a usage error naming it", (_name, argv, env, message) => {
    const err = usageError(argv, env);
    expect(err.code).toBe("usage");
    expect(err.message).toBe(message);
  });

  it("cluster variables without --source kubernetes are ignored (a pod's environment, a shell's KUBECONFIG)", () => {
    expect(parse([], { KUBECONFIG: "/k", POD_NAME: "p", POD_NAMESPACE: "n", KUBERNETES_SERVICE_HOST: "10.96.0.1" })).toEqual(DEFAULTS);
  });

  it("the usage text documents every cluster flag", () => {
    for (const flag of ["--source SOURCE", "--kubeconfig FILES", "--namespace NS", "--watch-namespace-selector SELECTOR", "--publish-service NS/NAME", "--publish-status-address ADDRS"]) {
      expect(USAGE).toContain(flag);
    }
  });
});
