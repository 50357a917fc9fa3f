import { execFile, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingressYaml, rulesDir, serviceYaml, startProxy, startUpstream, type RulesDir, type Upstream } from "./helpers.js";

/**
 * `ingressd check` and `ingressd routes` as shipped: the built CLI, spawned with the
 * repository root as cwd, its stdout compared byte for byte with test/golden/*.txt.
 */
const root = fileURLToPath(new URL("..", import.meta.url));
const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

const GOOD = "test/fixtures/good";
const BROKEN = "test/fixtures/broken";
/** The good fixture without its default backend: unmatched requests get a 404. */
const NO_DEFAULT = ["--rules", `${GOOD}/services.yaml`, "--rules", `${GOOD}/ingress.yaml`];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith("INGRESSD_")) delete env[k];
    Object.assign(env, opts.env ?? {});
    execFile(process.execPath, [cli, ...args], { cwd: opts.cwd ?? root, env, timeout: 20_000 }, (err, stdout, stderr) => {
      // On a non-zero exit, `err.code` is the exit code (a string only when spawning itself failed).
      const code: unknown = err ? (err as { code?: unknown }).code : 0;
      resolve({ code: typeof code === "number" ? code : null, stdout, stderr });
    });
  });
}

function golden(name: string): string {
  return readFileSync(new URL(`./golden/${name}.txt`, import.meta.url), "utf8");
}

const USAGE_START = "Usage:\n  ingressd check  [--rules PATH]...";

beforeAll(() => {
  // Build the current sources, so the tests run the CLI as shipped.
  const build = spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: root, encoding: "utf8" });
  if (build.status !== 0) throw new Error(`build failed (${build.status}):\n${build.stdout}\n${build.stderr}`);
}, 120_000);

describe("ingressd check", () => {
  it("a clean folder (no errors): exit 0, its warnings and the summary, no stderr", async () => {
    const res = await run(["check", "--rules", GOOD]);
    expect(res.stderr).toBe("");
    expect(res.stdout).toBe(golden("check-good"));
    expect(res.code).toBe(0);
  });

  it("a broken folder: exit 1, every issue as file:line:col: severity: message (field), paths relative to the cwd", async () => {
    const res = await run(["check", "--rules", BROKEN]);
    expect(res.stderr).toBe("");
    expect(res.stdout).toBe(golden("check-broken"));
    expect(res.code).toBe(1);
  });

  it("warnings alone still exit 0", async () => {
    const res = await run(["check", "--rules", `${BROKEN}/unknown-kind.yaml`]);
    expect(res.stdout).toBe(
      "test/fixtures/broken/unknown-kind.yaml:1:1: warning: no Kubernetes resources found in test/fixtures/broken/unknown-kind.yaml: nothing is served\n" +
        "test/fixtures/broken/unknown-kind.yaml:2:1: warning: ConfigMap (v1) is not used by ingressd and is ignored (kind)\n" +
        "1 file, 0 resources: 0 errors, 2 warnings — ok\n",
    );
    expect(res.code).toBe(0);
  });

  it("APIs Kubernetes removed (Ingress and IngressClass v1beta1, EndpointSlice v1beta1): exit 1, an error at each apiVersion naming the replacement", async () => {
    const res = await run(["check", "--rules", "test/fixtures/removed-apis"]);
    expect(res.stderr).toBe("");
    expect(res.stdout).toBe(golden("check-removed-apis"));
    expect(res.code).toBe(1);
  });

  it("paths are shown relative to the directory the command runs in", async () => {
    const res = await run(["check", "--rules", "fixtures/broken"], { cwd: fileURLToPath(new URL(".", import.meta.url)) });
    expect(res.code).toBe(1);
    // The same report, seen from test/ instead of the repository root.
    expect(res.stdout).toBe(golden("check-broken").replaceAll("test/fixtures/", "fixtures/"));
  });

  it("an unknown flag: exit 2, the message and the usage on stderr, nothing on stdout", async () => {
    const res = await run(["check", "--bogus", "--rules", GOOD]);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe("");
    expect(res.stderr).toMatch(/^ingressd check: unknown option --bogus\n/);
    expect(res.stderr).toContain(USAGE_START);
  });

  it("--help: the usage on stdout, exit 0", async () => {
    const res = await run(["check", "--help"]);
    expect(res.code).toBe(0);
    expect(res.stderr).toBe("");
    expect(res.stdout).toMatch(/^Usage:\n  ingressd check  \[--rules PATH\]\.\.\./);
  });

  it("--format xml: exit 2 with the usage on stderr", async () => {
    const res = await run(["check", "--format", "xml", "--rules", GOOD]);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe("");
    expect(res.stderr).toMatch(/^ingressd check: --format must be text or json, not "xml"\n/);
    expect(res.stderr).toContain(USAGE_START);
  });

  it("--explain belongs to routes only: check rejects it with exit 2", async () => {
    const res = await run(["check", "--explain", "http://api.example.test/", "--rules", GOOD]);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe("");
    expect(res.stderr).toMatch(/^ingressd check: unknown option --explain\n/);
  });

  it("--format json on a broken folder: summary counts, each issue with file/line/col/field", async () => {
    const res = await run(["check", "--rules", BROKEN, "--format", "json"]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe("");
    type Issue = { severity: string; code: string; message: string; file: string; line: number; col: number; field?: string; resource?: string };
    const doc = JSON.parse(res.stdout) as {
      ok: boolean;
      summary: { files: number; resources: number; errors: number; warnings: number };
      files: { path: string; status: string; resources: number }[];
      errors: Issue[];
      warnings: Issue[];
    };
    expect(doc.ok).toBe(false);
    expect(doc.summary).toEqual({ files: 4, resources: 2, errors: 3, warnings: 2 });
    expect(doc.errors).toHaveLength(3);
    expect(doc.warnings).toHaveLength(2);
    const byCode = (list: Issue[], code: string): Issue => {
      const i = list.find((x) => x.code === code);
      if (!i) throw new Error(`no issue ${code} in ${JSON.stringify(list)}`);
      return i;
    };
    expect(byCode(doc.errors, "yaml-syntax")).toMatchObject({ severity: "error", file: `${BROKEN}/syntax.yaml`, line: 10, col: 6 });
    expect(byCode(doc.errors, "yaml-syntax").field).toBeUndefined();
    expect(byCode(doc.errors, "schema")).toMatchObject({
      severity: "error",
      file: `${BROKEN}/schema.yaml`,
      line: 11,
      col: 13,
      field: "spec.rules[0].http.paths[0].pathType",
      resource: "Ingress default/shop-paths",
    });
    expect(byCode(doc.errors, "schema").message).toContain("Prefix");
    expect(byCode(doc.errors, "unknown-port")).toMatchObject({
      severity: "error",
      file: `${BROKEN}/port.yaml`,
      line: 24,
      col: 17,
      field: "spec.rules[0].http.paths[0].backend.service.port",
      resource: "Ingress default/shop",
    });
    expect(byCode(doc.errors, "unknown-port").message).toContain("8080");
    expect(byCode(doc.warnings, "unknown-kind")).toMatchObject({ severity: "warning", file: `${BROKEN}/unknown-kind.yaml`, line: 2, col: 1, field: "kind" });
    // Files: relative paths, sorted, with what each contributes.
    expect(doc.files.map((f) => f.path)).toEqual([`${BROKEN}/port.yaml`, `${BROKEN}/schema.yaml`, `${BROKEN}/syntax.yaml`, `${BROKEN}/unknown-kind.yaml`]);
    const file = (name: string) => doc.files.find((f) => f.path === `${BROKEN}/${name}`)!;
    expect(file("syntax.yaml")).toMatchObject({ status: "syntax-error", resources: 0 });
    expect(file("schema.yaml")).toMatchObject({ status: "invalid", resources: 0 });
    expect(file("unknown-kind.yaml")).toMatchObject({ status: "ok", resources: 0 });
    expect(file("port.yaml").resources).toBe(2);
  });

  it("--format json on a clean folder: ok, counts, no errors", async () => {
    const res = await run(["check", "--format", "json", "--rules", GOOD]);
    expect(res.code).toBe(0);
    const doc = JSON.parse(res.stdout) as { ok: boolean; summary: unknown; errors: unknown[]; warnings: unknown[]; files: { path: string; status: string }[] };
    // The warnings are the fixture's Ingress of another class and its Service without Endpoints (its routes show "-").
    expect(doc).toMatchObject({
      ok: true,
      summary: { files: 3, resources: 16, errors: 0, warnings: 2 },
      errors: [],
      warnings: [
        { code: "other-ingress-class", file: `${GOOD}/ingress.yaml`, line: 75, col: 3, resource: "Ingress default/elsewhere" },
        { code: "no-endpoints", file: `${GOOD}/services.yaml`, line: 76, col: 3, resource: "Service default/docs" },
      ],
    });
    expect(doc.files.map((f) => [f.path, f.status])).toEqual([
      [`${GOOD}/default-backend.yaml`, "ok"],
      [`${GOOD}/ingress.yaml`, "ok"],
      [`${GOOD}/services.yaml`, "ok"],
    ]);
  });

  it("INGRESSD_RULES is used when no --rules is given, and --rules wins over it", async () => {
    const fromEnv = await run(["check"], { env: { INGRESSD_RULES: BROKEN } });
    expect(fromEnv.stdout).toBe(golden("check-broken"));
    expect(fromEnv.code).toBe(1);
    const flagWins = await run(["check", "--rules", GOOD], { env: { INGRESSD_RULES: BROKEN } });
    expect(flagWins.stdout).toBe(golden("check-good"));
    expect(flagWins.code).toBe(0);
  });
});

describe("ingressd routes", () => {
  it("prints the aligned table: one row per route, the default backend last", async () => {
    const res = await run(["routes", "--rules", GOOD]);
    expect(res.stderr).toBe("");
    expect(res.stdout).toBe(golden("routes-good"));
    expect(res.code).toBe(0);
    // Aligned: every column starts where its header does.
    const lines = res.stdout.trimEnd().split("\n");
    const header = lines[0]!;
    const starts = ["PATH", "TYPE", "BACKEND", "ENDPOINTS", "SOURCE"].map((h) => header.indexOf(h));
    for (const line of lines.slice(1)) {
      for (const s of starts) expect(line[s - 1], `column at ${s} of ${JSON.stringify(line)}`).toBe(" ");
      for (const s of starts) expect(line[s], `column at ${s} of ${JSON.stringify(line)}`).not.toBe(" ");
    }
  });

  it("--format json: the same rows as data", async () => {
    const res = await run(["routes", "--rules", GOOD, "--format", "json"]);
    expect(res.code).toBe(0);
    const rows = JSON.parse(res.stdout) as { host: string; path: string; pathType: string; backend: string; endpoints: string[]; source: string }[];
    expect(rows.map((r) => `${r.host} ${r.path} ${r.pathType}`)).toEqual([
      "* /public Prefix",
      "*.apps.example.test /docs Prefix",
      "api.example.test /v1 Prefix",
      "api.example.test /v1/status Exact",
      "api.example.test /v1/status Prefix",
      "api.example.test /v1/users Prefix",
      "web.example.test /foo Prefix",
      "* (default backend) Prefix",
    ]);
    // A named Service port resolves to its number, its endpoints to the named Endpoints port.
    expect(rows.find((r) => r.host === "web.example.test")).toEqual({
      host: "web.example.test",
      path: "/foo",
      pathType: "Prefix",
      backend: "default/web:80",
      endpoints: ["127.0.0.1:9101", "127.0.0.2:9101"],
      filters: [],
      source: `${GOOD}/ingress.yaml:41`,
    });
    expect(rows.find((r) => r.path === "/docs")!.endpoints).toEqual([]);
    expect(rows.at(-1)).toMatchObject({ backend: "default/fallback:80", endpoints: ["127.0.0.1:9107"], source: `${GOOD}/default-backend.yaml:6` });
    // Another class's Ingress is not served, so not listed.
    expect(res.stdout).not.toContain("other.example.test");
  });

  it("INGRESSD_RULES (comma-separated) is used when no --rules is given", async () => {
    const res = await run(["routes"], { env: { INGRESSD_RULES: ` ${GOOD}/services.yaml , ${GOOD}/ingress.yaml` } });
    expect(res.code).toBe(0);
    const expected = golden("routes-good")
      .split("\n")
      .filter((l) => !l.includes("(default backend)"));
    // Without the default backend the PATH column is narrower: compare cell by cell.
    const cells = (text: string[]) => text.filter(Boolean).map((l) => l.split(/ {2,}/));
    expect(cells(res.stdout.split("\n"))).toEqual(cells(expected));
  });

  it("--format xml: exit 2 with the usage on stderr", async () => {
    const res = await run(["routes", "--format", "xml", "--rules", GOOD]);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe("");
    expect(res.stderr).toMatch(/^ingressd routes: --format must be text or json, not "xml"\n/);
    expect(res.stderr).toContain(USAGE_START);
  });

  it("--explain without a URL: exit 2", async () => {
    const res = await run(["routes", "--rules", GOOD, "--explain"]);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe("");
    expect(res.stderr).toContain(USAGE_START);
  });

  it("--explain with something that is not a URL: exit 2, said on stderr", async () => {
    const res = await run(["routes", "--rules", GOOD, "--explain", "http://[bad"]);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe("");
    expect(res.stderr).toContain('--explain needs a URL such as http://api.localhost/v1/users, not "http://[bad"');
  });
});

describe("ingressd routes --explain", () => {
  const explain = (url: string, rules = ["--rules", GOOD]) => run(["routes", ...rules, "--explain", url]);

  it("exact host, Prefix: the longest matching path wins over a shorter one", async () => {
    const res = await explain("http://api.example.test/v1/users/42");
    expect(res.stdout).toBe(golden("explain-longest-prefix"));
    expect(res.code).toBe(0);
  });

  it("Exact beats Prefix at equal length", async () => {
    const res = await explain("http://api.example.test/v1/status");
    expect(res.stdout).toBe(golden("explain-exact-beats-prefix"));
    expect(res.code).toBe(0);
  });

  it("a wildcard host serves a one-label subdomain", async () => {
    const res = await explain("http://blog.apps.example.test/docs/intro");
    expect(res.stdout).toBe(golden("explain-wildcard"));
    expect(res.code).toBe(0);
  });

  it("a host-less rule is reached once the exact host has no matching path", async () => {
    const res = await explain("http://api.example.test/public/x");
    expect(res.stdout).toBe(golden("explain-hostless"));
    expect(res.code).toBe(0);
  });

  it("the default backend takes what no rule matches", async () => {
    const res = await explain("http://api.example.test/nothing");
    expect(res.stdout).toBe(golden("explain-default-backend"));
    expect(res.code).toBe(0);
  });

  it("no match and no default backend: exit 1", async () => {
    const res = await explain("http://unknown.example.test/x", NO_DEFAULT);
    expect(res.stdout).toBe(golden("explain-no-match"));
    expect(res.code).toBe(1);
  });

  it("/foobar does not match Prefix /foo (whole path elements only)", async () => {
    const res = await explain("http://web.example.test/foobar", NO_DEFAULT);
    expect(res.stdout).toBe(golden("explain-foobar"));
    expect(res.code).toBe(1);
  });

  it("--format json: the winner, the reason, every candidate with its group and verdict", async () => {
    const res = await run(["routes", "--rules", GOOD, "--format", "json", "--explain", "http://web.example.test/foobar?q=1"]);
    expect(res.code).toBe(0);
    const doc = JSON.parse(res.stdout) as {
      host: string;
      path: string;
      match: { backend: string; path: string } | null;
      reason: string;
      candidates: { host: string; path: string; group: string; matched: boolean; reason: string }[];
    };
    expect(doc.host).toBe("web.example.test");
    expect(doc.path).toBe("/foobar");
    expect(doc.match).toMatchObject({ backend: "default/fallback:80" });
    expect(doc.reason).toContain("defaultBackend");
    expect(doc.candidates).toEqual([
      expect.objectContaining({ host: "web.example.test", path: "/foo", group: "exact host web.example.test", matched: false, reason: expect.stringContaining("only shares characters") }),
      expect.objectContaining({ host: "*", path: "/public", group: "rules without host (any host)", matched: false }),
    ]);
  });

  it("--format json without a match: match null, exit 1", async () => {
    const res = await run(["routes", ...NO_DEFAULT, "--format", "json", "--explain", "unknown.example.test/x"]);
    expect(res.code).toBe(1);
    const doc = JSON.parse(res.stdout) as { host: string; path: string; match: unknown; candidates: unknown[] };
    expect(doc).toMatchObject({ host: "unknown.example.test", path: "/x", match: null });
    expect(doc.candidates).toHaveLength(1);
  });
});

describe("routes --explain agrees with what the server serves", () => {
  let pub: Upstream;
  let users: Upstream;
  let rules: RulesDir;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  beforeAll(async () => {
    pub = await startUpstream("public");
    users = await startUpstream("users");
    rules = await rulesDir();
    await rules.write(
      "site.yaml",
      [
        serviceYaml("public", [pub.port]),
        serviceYaml("users", [users.port]),
        ingressYaml("site", "api.test", [
          { path: "/v1/users", service: "users" },
          { path: "/public", service: "public" },
        ]),
      ].join("---\n"),
    );
    proxy = await startProxy([rules.dir], { watch: false });
  });
  afterAll(async () => {
    await proxy?.close();
    await pub?.close();
    await users?.close();
    await rules?.cleanup();
  });

  /** Who answers `path` (sent exactly as given, no client-side normalization): the Service, or null for a 404. */
  function served(path: string): Promise<string | null> {
    return new Promise((resolve, reject) => {
      request({ host: "127.0.0.1", port: proxy.httpPort, path, headers: { host: "api.test" }, agent: false }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += String(c)));
        res.on("end", () => resolve(res.statusCode === 404 ? null : `default/${(JSON.parse(body) as { name: string }).name}:80`));
      })
        .on("error", reject)
        .end();
    });
  }

  it.each(["/v1/users/7", "/public/a", "/other", "/public/../v1/users", "/v1/users/../../public"])("%s", async (path) => {
    const res = await run(["routes", "--rules", rules.dir, "--format", "json", "--explain", `http://api.test${path}`]);
    const explained = (JSON.parse(res.stdout) as { match: { backend: string } | null }).match?.backend ?? null;
    expect(explained, `explain says ${explained}`).toBe(await served(path));
  });
});

describe("check on a path that does not exist", () => {
  it("fails (exit 1) instead of passing as an empty folder", () => {
    const r = spawnSync(process.execPath, ["dist/cli.js", "check", "--rules", "test/fixtures/no-such-folder"], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("rules path test/fixtures/no-such-folder does not exist");
  });
});

/** `ingressd check` on a temp folder: the lines it prints for `files`. */
async function checkFolder(files: Record<string, string>, args: string[] = []): Promise<Run & { paths: Record<string, string> }> {
  const dir = await rulesDir();
  try {
    const paths: Record<string, string> = {};
    for (const [name, text] of Object.entries(files)) paths[name] = await dir.write(name, text);
    return { ...(await run(["check", "--rules", dir.dir, ...args])), paths };
  } finally {
    await dir.cleanup();
  }
}

/** 1-based line and column of the first `needle` in `text`. */
function at(text: string, needle: string): string {
  const before = text.slice(0, text.indexOf(needle)).split("\n");
  if (!text.includes(needle)) throw new Error(`"${needle}" not in text`);
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

describe("check tells what a user wants to know before serving (issue 11)", () => {
  it("a Service with no Endpoints or EndpointSlice is a warning at its name (requests get 503); an ExternalName Service is not", async () => {
    const svc = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
    - port: 80
---
apiVersion: v1
kind: Service
metadata:
  name: ext
spec:
  type: ExternalName
  externalName: example.test
  ports:
    - port: 80
`;
    const res = await checkFolder({ "svc.yaml": svc });
    expect(res.code).toBe(0);
    expect(res.stdout).toBe(
      `${res.paths["svc.yaml"]}:${at(svc, "name: web")}: warning: Service default/web has no Endpoints or EndpointSlice: requests to it will get 503 (metadata.name)\n` +
        "1 file, 2 resources: 0 errors, 1 warning — ok\n",
    );
  });
});

describe("check on an empty rules folder (issue 11)", () => {
  it("no YAML/JSON file: a warning that nothing is served, exit 0", async () => {
    const dir = await rulesDir();
    try {
      const res = await run(["check", "--rules", dir.dir]);
      expect(res.code).toBe(0);
      expect(res.stdout).toBe(`${dir.dir}:1:1: warning: no Kubernetes resources found in ${dir.dir}: nothing is served\n0 files, 0 resources: 0 errors, 1 warning — ok\n`);
    } finally {
      await dir.cleanup();
    }
  });
});
