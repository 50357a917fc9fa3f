import { mkdir, rename, rm, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import type { Snapshot } from "../src/snapshot/snapshot.js";
import type { ConfigIssue } from "../src/model/issues.js";
import { get, ingressYaml, nextReload, rulesDir, serviceYaml, startProxy, startUpstream, type RulesDir, type Upstream } from "./helpers.js";
import {
  countingUpstream,
  docs,
  fullGc,
  getJson,
  holdingUpstream,
  openWs,
  positionOf,
  recordReloads,
  roundTrip,
  routes,
  whoAnswers,
  wsEchoUpstream,
} from "./reloadHelpers.js";

type Proxy = Awaited<ReturnType<typeof startProxy>>;

// Everything a test starts is stopped after it, last started first.
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function upstream(name: string): Promise<Upstream> {
  const up = await startUpstream(name);
  cleanups.push(() => up.close());
  return up;
}

async function dir(): Promise<RulesDir> {
  const rules = await rulesDir();
  cleanups.push(() => rules.cleanup());
  return rules;
}

async function proxyOn(rules: RulesDir, extra: Parameters<typeof startProxy>[1] = {}): Promise<Proxy> {
  const proxy = await startProxy([rules.dir], extra);
  cleanups.push(() => proxy.close());
  return proxy;
}

/** ingressd's own debounce (100 ms); test/helpers.ts uses 30 ms. */
const DEFAULT_DEBOUNCE = 100;

const web = (host: string, service: string, name = host.split(".")[0]!): string => ingressYaml(name, host, [{ path: "/", service }]);

// ---------------------------------------------------------------------------------------------

describe("reload: files added, changed, removed, renamed", () => {
  it("a new rules file: its host is served", async () => {
    const a = await upstream("a");
    const rules = await dir();
    await rules.write("svc.yaml", serviceYaml("a", [a.port]));
    const proxy = await proxyOn(rules);
    expect(await whoAnswers(proxy.url, "new.localhost")).toBe(404);

    const reloaded = nextReload(proxy, (s) => routes(s, "new.localhost"));
    await rules.write("new.yaml", web("new.localhost", "a"));
    await reloaded;

    expect(await whoAnswers(proxy.url, "new.localhost")).toBe("a");
  });

  it("a changed file: the route re-pointed to another Service serves the new target", async () => {
    const a = await upstream("a");
    const b = await upstream("b");
    const rules = await dir();
    await rules.write("svc.yaml", docs(serviceYaml("a", [a.port]), serviceYaml("b", [b.port])));
    await rules.write("ing.yaml", web("app.localhost", "a"));
    const proxy = await proxyOn(rules);
    expect(await whoAnswers(proxy.url, "app.localhost")).toBe("a");

    const reloaded = nextReload(proxy, (s) => routes(s, "app.localhost", "b"));
    await rules.write("ing.yaml", web("app.localhost", "b"));
    await reloaded;

    expect(await whoAnswers(proxy.url, "app.localhost")).toBe("b");
    expect(b.received).toHaveLength(1);
  });

  it("a deleted file: its routes go (404), the other files' stay", async () => {
    const a = await upstream("a");
    const rules = await dir();
    await rules.write("svc.yaml", serviceYaml("a", [a.port]));
    await rules.write("keep.yaml", web("keep.localhost", "a"));
    const gone = await rules.write("gone.yaml", web("gone.localhost", "a"));
    const proxy = await proxyOn(rules);
    expect(await whoAnswers(proxy.url, "gone.localhost")).toBe("a");

    const reloaded = nextReload(proxy, (s) => !routes(s, "gone.localhost"));
    await unlink(gone);
    const snap = await reloaded;

    expect(await whoAnswers(proxy.url, "gone.localhost")).toBe(404);
    expect(await whoAnswers(proxy.url, "keep.localhost")).toBe("a");
    expect(snap.files.map((f) => f.path)).not.toContain(gone);
  });

  it("a renamed file: still served, in every generation published after the rename", async () => {
    const a = await upstream("a");
    const rules = await dir();
    await rules.write("svc.yaml", serviceYaml("a", [a.port]));
    const before = await rules.write("ing-old.yaml", web("moved.localhost", "a"));
    const after = join(rules.dir, "ing-new.yaml");
    const proxy = await proxyOn(rules);
    const log = recordReloads(proxy);

    // Done when the old name is gone from the snapshot and the new one is there.
    const reloaded = nextReload(proxy, (s) => {
      const paths = s.files.map((f) => f.path);
      return paths.includes(after) && !paths.includes(before);
    });
    await rename(before, after);
    const final = await reloaded;
    log.stop();

    expect(log.snapshots.length).toBeGreaterThan(0);
    for (const s of log.snapshots) expect(routes(s, "moved.localhost", "a"), `generation ${s.generation}`).toBe(true);
    expect(final.issues.filter((i) => i.severity === "error")).toEqual([]);
    expect(await whoAnswers(proxy.url, "moved.localhost")).toBe("a");
  });

  it.each([".ing.yaml.tmp", "ing.yaml.tmp", ".ing.yaml.swp"])(
    "an editor's atomic save (write %s, rename over) never drops the routes, and the file stays watched",
    async (tempName) => {
      const a = await upstream("a");
      const b = await upstream("b");
      const rules = await dir();
      await rules.write("svc.yaml", docs(serviceYaml("a", [a.port]), serviceYaml("b", [b.port])));
      const ing = await rules.write("ing.yaml", web("save.localhost", "a"));
      // The product's default debounce: the file is written twice (see "a second write soon after…").
      const proxy = await proxyOn(rules, { debounceMs: DEFAULT_DEBOUNCE });
      const log = recordReloads(proxy);

      const saved = nextReload(proxy, (s) => routes(s, "save.localhost", "b"));
      const temp = join(rules.dir, tempName);
      await writeFile(temp, web("save.localhost", "b"));
      await rename(temp, ing);
      await saved;
      expect(await whoAnswers(proxy.url, "save.localhost")).toBe("b");

      // A plain write after the atomic save is still seen (the watcher follows the new inode).
      const again = nextReload(proxy, (s) => routes(s, "save.localhost", "a"));
      await writeFile(ing, web("save.localhost", "a"));
      await again;
      log.stop();

      for (const s of log.snapshots) {
        expect(routes(s, "save.localhost"), `generation ${s.generation}`).toBe(true);
        expect(s.files.map((f) => f.path)).not.toContain(temp);
      }
      expect(await whoAnswers(proxy.url, "save.localhost")).toBe("a");
    },
  );

  it("unlink then write of the same path within the debounce window never drops the routes", async () => {
    const a = await upstream("a");
    const b = await upstream("b");
    const rules = await dir();
    await rules.write("svc.yaml", docs(serviceYaml("a", [a.port]), serviceYaml("b", [b.port])));
    const ing = await rules.write("ing.yaml", web("flip.localhost", "a"));
    const proxy = await proxyOn(rules, { debounceMs: DEFAULT_DEBOUNCE });
    const log = recordReloads(proxy);

    const saved = nextReload(proxy, (s) => routes(s, "flip.localhost", "b"));
    await unlink(ing);
    await writeFile(ing, web("flip.localhost", "b"));
    await saved;
    expect(await whoAnswers(proxy.url, "flip.localhost")).toBe("b");

    const again = nextReload(proxy, (s) => routes(s, "flip.localhost", "a"));
    await writeFile(ing, web("flip.localhost", "a"));
    await again;
    log.stop();

    for (const s of log.snapshots) expect(routes(s, "flip.localhost"), `generation ${s.generation}`).toBe(true);
    expect(await whoAnswers(proxy.url, "flip.localhost")).toBe("a");
  });

  // chokidar reports at most one `change` per path per 50 ms and drops the rest (no trailing
  // event); the FileSource reads a batch `debounceMs` after the last event, so with a debounce
  // under 50 ms a write landing after that read but inside the 50 ms is never seen.
  it.each([1, 30, DEFAULT_DEBOUNCE])("a second write soon after a reload is applied, not lost (debounceMs %i)", async (debounceMs) => {
    const a = await upstream("a");
    const b = await upstream("b");
    const rules = await dir();
    await rules.write("svc.yaml", docs(serviceYaml("a", [a.port]), serviceYaml("b", [b.port])));
    const ing = await rules.write("ing.yaml", web("again.localhost", "a"));
    const proxy = await proxyOn(rules, { debounceMs });

    const first = nextReload(proxy, (s) => routes(s, "again.localhost", "b"));
    await writeFile(ing, web("again.localhost", "b"));
    await first;

    // Right away, as a second save does: the file back to `a`, then another file as a marker.
    const marker = nextReload(proxy, (s) => routes(s, "marker.localhost"));
    await writeFile(ing, web("again.localhost", "a"));
    await rules.write("marker.yaml", web("marker.localhost", "a"));
    await marker;

    // Both writes were before the marker's, in one batch with it or earlier.
    expect(routes(proxy.runtime.current, "again.localhost", "a"), "the second write of ing.yaml was applied").toBe(true);
    expect(await whoAnswers(proxy.url, "again.localhost")).toBe("a");
  });

  // A generator in watch mode or a sync tool: the quiet period never comes.
  it("a file rewritten every 20 ms for 3 s is applied during the writes (about every 500 ms), and its last version once they stop", async () => {
    const a = await upstream("a");
    const rules = await dir();
    await rules.write("svc.yaml", serviceYaml("a", [a.port]));
    const version = (n: number): string => ingressYaml("gen", "gen.localhost", [{ path: `/v${n}`, service: "a" }]);
    const ing = await rules.write("gen.yaml", version(0));
    const proxy = await proxyOn(rules, { debounceMs: DEFAULT_DEBOUNCE });
    const reloadedAt: number[] = [];
    proxy.runtime.on("reload", () => reloadedAt.push(Date.now()));

    const started = Date.now();
    let n = 0;
    while (Date.now() - started < 3000) {
      await writeFile(ing, version(++n));
      await delay(20); // the writer's pace under test, not a wait for an event
    }
    const stopped = Date.now();
    const during = reloadedAt.filter((t) => t <= stopped);

    // Applied at most MAX_WAIT_MS (500) after a change; 1 s leaves room for a loaded machine.
    expect(during.length, `reloads during ${stopped - started} ms of writes`).toBeGreaterThanOrEqual(3);
    const times = [started, ...during, stopped];
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(Math.max(...gaps), `gaps between reloads: ${gaps.join(", ")} ms`).toBeLessThanOrEqual(1000);

    if (!routes(proxy.runtime.current, "gen.localhost", "a", `/v${n}`)) await nextReload(proxy, (s) => routes(s, "gen.localhost", "a", `/v${n}`));
    expect(await whoAnswers(proxy.url, "gen.localhost", `/v${n}`)).toBe("a");
  });

  it("a new sub-folder with a rules file is picked up; removing the folder removes its routes", async () => {
    const a = await upstream("a");
    const rules = await dir();
    await rules.write("svc.yaml", serviceYaml("a", [a.port]));
    const proxy = await proxyOn(rules);

    const added = nextReload(proxy, (s) => routes(s, "sub.localhost"));
    const nested = await rules.write("team-a/apps/sub.yaml", web("sub.localhost", "a"));
    const snap = await added;
    expect(await whoAnswers(proxy.url, "sub.localhost")).toBe("a");
    expect(snap.files.map((f) => f.path)).toContain(nested);

    const removed = nextReload(proxy, (s) => !routes(s, "sub.localhost"));
    await rm(join(rules.dir, "team-a"), { recursive: true });
    const after = await removed;
    expect(await whoAnswers(proxy.url, "sub.localhost")).toBe(404);
    expect(after.files.map((f) => f.path)).not.toContain(nested);
  });

  it("files with other extensions and editor temp files are ignored: no reload, not listed", async () => {
    const a = await upstream("a");
    const rules = await dir();
    await rules.write("svc.yaml", serviceYaml("a", [a.port]));
    const proxy = await proxyOn(rules);
    const log = recordReloads(proxy);

    // Each would route temp.localhost if it were read as rules.
    const tempNames = [".foo.yaml.swp", "foo.yaml~", ".#foo.yaml", "4913", "foo.txt", "foo.yaml.bak", ".foo.yaml"];
    const temps = tempNames.map((n) => join(rules.dir, n));
    for (const t of temps) await writeFile(t, web("temp.localhost", "a"));
    const s1 = nextReload(proxy, (s) => routes(s, "s1.localhost"));
    await rules.write("s1.yaml", web("s1.localhost", "a"));
    await s1;

    for (const t of temps) await unlink(t);
    const s2 = nextReload(proxy, (s) => routes(s, "s2.localhost"));
    await rules.write("s2.yaml", web("s2.localhost", "a"));
    await s2;

    // A removal is reported by the watcher after the same delay as the temp files' removals,
    // so any reload they caused has happened by now.
    const s1Gone = nextReload(proxy, (s) => !routes(s, "s1.localhost"));
    await unlink(join(rules.dir, "s1.yaml"));
    await s1Gone;
    log.stop();

    // Exactly the three real changes reloaded: s1 added, s2 added, s1 removed.
    expect(log.snapshots.map((s) => [routes(s, "s1.localhost"), routes(s, "s2.localhost")])).toEqual([
      [true, false],
      [true, true],
      [false, true],
    ]);
    for (const s of log.snapshots) {
      expect(routes(s, "temp.localhost")).toBe(false);
      for (const t of temps) expect(s.files.map((f) => f.path)).not.toContain(t);
    }
    const config = await getJson(`${proxy.admin}/api/config`);
    expect((config.body.files as { path: string }[]).map((f) => f.path).sort()).toEqual(
      [join(rules.dir, "s2.yaml"), join(rules.dir, "svc.yaml")].sort(),
    );
    expect(await whoAnswers(proxy.url, "temp.localhost")).toBe(404);
  });

  it("a rules file inside a hidden folder is ignored while watching, as it is at startup", async () => {
    const a = await upstream("a");
    const rules = await dir();
    await rules.write("svc.yaml", serviceYaml("a", [a.port]));
    const proxy = await proxyOn(rules);
    const log = recordReloads(proxy);

    // e.g. a ConfigMap mount's `..2024_01_01_00_00_00.123/` copy, or an editor's state folder.
    await mkdir(join(rules.dir, ".state"), { recursive: true });
    await writeFile(join(rules.dir, ".state", "hidden.yaml"), web("hidden.localhost", "a"));
    const visible = nextReload(proxy, (s) => routes(s, "visible.localhost"));
    await rules.write("visible.yaml", web("visible.localhost", "a"));
    await visible;
    log.stop();

    // What a restart on the same folder serves:
    const restarted = await proxyOn(rules);
    expect(routes(restarted.runtime.current, "hidden.localhost")).toBe(false);

    // The watching instance must agree with it.
    for (const s of log.snapshots) expect(routes(s, "hidden.localhost"), `generation ${s.generation}`).toBe(false);
    expect(await whoAnswers(proxy.url, "hidden.localhost")).toBe(404);
  });
});

// ---------------------------------------------------------------------------------------------

describe("reload: bad input loses nothing", () => {
  it("a YAML syntax error keeps the file's last good routes; other changes in the batch apply; fixing clears it", async () => {
    const webUp = await upstream("web");
    const other = await upstream("other");
    const rules = await dir();
    const aGood = docs(serviceYaml("web", [webUp.port]), web("a.localhost", "web", "a"));
    const aPath = await rules.write("a.yaml", aGood);
    const bPath = await rules.write("b.yaml", docs(serviceYaml("other", [other.port]), web("b.localhost", "other", "b")));
    const proxy = await proxyOn(rules, { debounceMs: DEFAULT_DEBOUNCE }); // a.yaml is written twice
    expect(await whoAnswers(proxy.url, "a.localhost")).toBe("web");

    // The broken version would re-point a.localhost, but it does not parse.
    const aBroken = docs(serviceYaml("web", [webUp.port]), web("a.localhost", "other", "a").replace("  name: a\n", "  name: a: broken\n"));
    const where = positionOf(aBroken, "a: broken");
    const batch = nextReload(proxy, (s) => routes(s, "b2.localhost") && s.issues.some((i) => i.code === "yaml-syntax"));
    await writeFile(aPath, aBroken);
    await writeFile(bPath, docs(serviceYaml("other", [other.port]), web("b.localhost", "other", "b"), web("b2.localhost", "other", "b2")));
    await batch;

    expect(await whoAnswers(proxy.url, "a.localhost")).toBe("web"); // last good
    expect(await whoAnswers(proxy.url, "b2.localhost")).toBe("other"); // the neighbour's change applied

    const broken = (await getJson(`${proxy.admin}/api/config`)).body;
    expect(broken.errors).toEqual([expect.objectContaining({ code: "yaml-syntax", severity: "error", file: aPath, line: where.line })]);
    // The column points into the offending `a: broken` (parsers differ on key or colon).
    expect(broken.errors[0].col).toBeGreaterThanOrEqual(where.col);
    expect(broken.errors[0].col).toBeLessThanOrEqual(where.col + "a: broken".length - 1);
    expect(broken.errors[0].message).toEqual(expect.any(String));
    expect(broken.files).toEqual(
      expect.arrayContaining([
        { path: aPath, status: "syntax-error", resources: 3, servingLastGood: true },
        { path: bPath, status: "ok", resources: 4, servingLastGood: false },
      ]),
    );
    expect(broken.hosts["a.localhost"]).toEqual([expect.objectContaining({ backend: "default/web:80" })]);

    const fixed = nextReload(proxy, (s) => routes(s, "a.localhost", "other"));
    await writeFile(aPath, docs(serviceYaml("web", [webUp.port]), web("a.localhost", "other", "a")));
    const snap = await fixed;
    expect(snap.issues).toEqual([]);
    expect(await whoAnswers(proxy.url, "a.localhost")).toBe("other");
    const ok = (await getJson(`${proxy.admin}/api/config`)).body;
    expect(ok.errors).toEqual([]);
    expect(ok.files).toEqual(expect.arrayContaining([{ path: aPath, status: "ok", resources: 3, servingLastGood: false }]));
  });

  it("an invalid resource (pathType Foo) is rejected alone; the valid Ingress in the same file serves", async () => {
    const a = await upstream("a");
    const rules = await dir();
    await rules.write("svc.yaml", serviceYaml("a", [a.port]));
    const proxy = await proxyOn(rules);

    const text = docs(
      ingressYaml("good", "good.localhost", [{ path: "/", service: "a" }]),
      ingressYaml("bad", "bad.localhost", [{ path: "/", pathType: "Foo", service: "a" }]),
    );
    const reloaded = nextReload(proxy, (s) => routes(s, "good.localhost"));
    const file = await rules.write("mixed.yaml", text);
    await reloaded;

    expect(await whoAnswers(proxy.url, "good.localhost")).toBe("a");
    expect(await whoAnswers(proxy.url, "bad.localhost")).toBe(404);

    const config = (await getJson(`${proxy.admin}/api/config`)).body;
    const at = positionOf(text, "pathType: Foo");
    expect(config.errors).toEqual([
      expect.objectContaining({
        severity: "error",
        file,
        line: at.line,
        col: at.col,
        field: "spec.rules[0].http.paths[0].pathType",
        resource: "Ingress default/bad",
      }),
    ]);
    expect(config.files).toEqual(expect.arrayContaining([{ path: file, status: "invalid", resources: 1, servingLastGood: false }]));
  });
});

// ---------------------------------------------------------------------------------------------

describe("reload: an invalid new version of a resource leaves its last good version serving", () => {
  /**
   * Writes a broken version over `path`, awaits the reload that reports it, checks that
   * app.localhost still answers from its last good version ("a"), and returns /api/config.
   */
  async function rejectedRewrite(proxy: Awaited<ReturnType<typeof proxyOn>>, path: string, text: string, reported: (i: ConfigIssue) => boolean) {
    const rejected = nextReload(proxy, (s) => s.issues.some(reported));
    await writeFile(path, text);
    await rejected;
    expect(await whoAnswers(proxy.url, "app.localhost")).toBe("a");
    return (await getJson(`${proxy.admin}/api/config`)).body;
  }

  it("a Service rewritten with sessionAffinity: ClusterIP: the host still answers from its upstream, /api/config says why; the fix serves", async () => {
    const a = await upstream("a");
    const rules = await dir();
    const good = serviceYaml("web", [a.port]);
    const svcPath = await rules.write("svc.yaml", good);
    await rules.write("ing.yaml", web("app.localhost", "web"));
    const proxy = await proxyOn(rules);
    expect(await whoAnswers(proxy.url, "app.localhost")).toBe("a");

    const typo = good.replace("spec:\n", "spec:\n  sessionAffinity: ClusterIP\n");
    const config = await rejectedRewrite(proxy, svcPath, typo, (i) => i.field === "spec.sessionAffinity");
    const at = positionOf(typo, "sessionAffinity");
    expect(config.errors).toEqual([
      expect.objectContaining({ severity: "error", file: svcPath, line: at.line, col: at.col, field: "spec.sessionAffinity", resource: "Service default/web" }),
    ]);
    expect(config.errors[0].message).toContain(`the last good version of Service default/web (${svcPath}:1) is still served`);
    expect(config.files).toEqual(expect.arrayContaining([{ path: svcPath, status: "invalid", resources: 2, servingLastGood: true }]));
    expect(config.services).toEqual([expect.objectContaining({ backend: "default/web:80", sessionAffinity: "None" })]);

    const fixed = nextReload(proxy, (s) => s.issues.length === 0);
    await writeFile(svcPath, typo.replace("ClusterIP", "ClientIP"));
    await fixed;
    expect(await whoAnswers(proxy.url, "app.localhost")).toBe("a");
    const after = (await getJson(`${proxy.admin}/api/config`)).body;
    expect(after.errors).toEqual([]);
    expect(after.files).toEqual(expect.arrayContaining([{ path: svcPath, status: "ok", resources: 2, servingLastGood: false }]));
    expect(after.services).toEqual([expect.objectContaining({ backend: "default/web:80", sessionAffinity: "ClientIP" })]);
  });

  it("a Service whose ports are dedented out of spec: an error at that key, the last good version serves", async () => {
    const a = await upstream("a");
    const rules = await dir();
    const good = serviceYaml("web", [a.port]);
    const svcPath = await rules.write("svc.yaml", good);
    await rules.write("ing.yaml", web("app.localhost", "web"));
    const proxy = await proxyOn(rules);

    const misIndented = good.replace("spec:\n  ports:\n    - port: 80\n", "spec:\n  type: ClusterIP\nports:\n  - port: 80\n");
    expect(misIndented).not.toBe(good);
    const config = await rejectedRewrite(proxy, svcPath, misIndented, (i) => i.code === "unknown-field");
    const at = positionOf(misIndented, "ports:");
    expect(config.errors).toEqual([expect.objectContaining({ code: "unknown-field", file: svcPath, line: at.line, col: 1, field: "ports", resource: "Service default/web" })]);
    expect(config.errors[0].message).toContain("is still served");
    expect(config.files).toEqual(expect.arrayContaining([{ path: svcPath, status: "invalid", resources: 2, servingLastGood: true }]));
  });

  it("an Ingress whose spec is indented under metadata: an error, no fall-through to the catch-all rule, the last good version serves", async () => {
    const a = await upstream("a");
    const fallback = await upstream("fallback");
    const rules = await dir();
    await rules.write("svc.yaml", docs(serviceYaml("web", [a.port]), serviceYaml("fallback", [fallback.port])));
    await rules.write("catch-all.yaml", ingressYaml("catch-all", null, [{ path: "/", service: "fallback" }]));
    const good = web("app.localhost", "web");
    const ingPath = await rules.write("ing.yaml", good);
    const proxy = await proxyOn(rules);
    expect(await whoAnswers(proxy.url, "app.localhost")).toBe("a");

    // Every line from spec on, two spaces further in.
    const misIndented = good.replace(/^spec:[^]*$/m, (rest) => rest.replace(/^(?=.)/gm, "  "));
    const config = await rejectedRewrite(proxy, ingPath, misIndented, (i) => i.code === "unknown-field");
    const at = positionOf(misIndented, "spec:");
    expect(config.errors).toEqual([expect.objectContaining({ code: "unknown-field", file: ingPath, line: at.line, col: at.col, field: "metadata.spec", resource: "Ingress default/app" })]);
    expect(config.errors[0].message).toContain("is still served");
    expect(config.files).toEqual(expect.arrayContaining([{ path: ingPath, status: "invalid", resources: 1, servingLastGood: true }]));
  });

  it("an Ingress backend naming a port the Service lacks: no fall-through to the catch-all rule, the last good version serves; the fix serves", async () => {
    const a = await upstream("a");
    const fallback = await upstream("fallback");
    const rules = await dir();
    await rules.write("svc.yaml", docs(serviceYaml("web", [a.port]).replace("    - port: 80", "    - name: http\n      port: 80"), serviceYaml("fallback", [fallback.port])));
    await rules.write("catch-all.yaml", ingressYaml("catch-all", null, [{ path: "/", service: "fallback" }]));
    const good = web("app.localhost", "web");
    const ingPath = await rules.write("ing.yaml", good);
    const proxy = await proxyOn(rules);
    expect(await whoAnswers(proxy.url, "app.localhost")).toBe("a");

    const typo = good.replace("number: 80", "name: htp");
    const config = await rejectedRewrite(proxy, ingPath, typo, (i) => i.code === "unknown-port");
    expect(config.errors).toEqual([
      expect.objectContaining({ code: "unknown-port", file: ingPath, line: positionOf(typo, "port:\n                  name: htp").line, resource: "Ingress default/app" }),
    ]);
    expect(config.errors[0].message).toContain(`the last good version of Ingress default/app (${ingPath}:1) is still served`);
    expect(config.files).toEqual(expect.arrayContaining([{ path: ingPath, status: "invalid", resources: 1, servingLastGood: true }]));

    const fixed = nextReload(proxy, (s) => s.issues.length === 0);
    await writeFile(ingPath, typo.replace("name: htp", "name: http"));
    await fixed;
    expect(await whoAnswers(proxy.url, "app.localhost")).toBe("a");
    expect(proxy.runtime.current.routes.lookup("app.localhost", "/")?.backends[0]?.backend.port).toBe(80);
    expect(proxy.runtime.current.files.every((f) => !f.servingLastGood)).toBe(true);
  });
});

describe("reload: what is in flight carries on", () => {
  it("a request in flight finishes on the original upstream; a new one goes to the new target", async () => {
    const slow = await holdingUpstream("original");
    cleanups.push(() => slow.close());
    const next = await upstream("next");
    const rules = await dir();
    const svc = await rules.write("svc.yaml", serviceYaml("a", [slow.port]));
    const ing = await rules.write("ing.yaml", web("slow.localhost", "a"));
    const proxy = await proxyOn(rules);

    const inflight = get(`${proxy.url}/long`, { host: "slow.localhost" });
    await slow.arrived;

    // The original Service disappears entirely: its endpoint is retired while the request runs.
    const reloaded = nextReload(proxy, (s) => routes(s, "slow.localhost", "b") && !s.pools.has("default/a:80"));
    await writeFile(svc, serviceYaml("b", [next.port]));
    await writeFile(ing, web("slow.localhost", "b"));
    await reloaded;

    expect(await whoAnswers(proxy.url, "slow.localhost", "/fresh")).toBe("next");
    slow.release();
    const res = await inflight;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ name: "original", url: "/long" });
    expect(await whoAnswers(proxy.url, "slow.localhost", "/fresh")).toBe("next");
    expect(slow.received).toHaveLength(1);
  });

  it("pools survive an unrelated edit: same pool object, same keep-alive connection", async () => {
    const webUp = await countingUpstream("web");
    cleanups.push(() => webUp.close());
    const o1 = await upstream("other-1");
    const o2 = await upstream("other-2");
    const rules = await dir();
    await rules.write("web.yaml", docs(serviceYaml("web", [webUp.port]), web("web.localhost", "web")));
    const otherPath = await rules.write("other.yaml", docs(serviceYaml("other", [o1.port]), web("other.localhost", "other")));
    const proxy = await proxyOn(rules);

    expect(await whoAnswers(proxy.url, "web.localhost")).toBe("web");
    expect(webUp.connections()).toBe(1);
    const pool = proxy.runtime.current.pools.get("default/web:80");
    const otherPool = proxy.runtime.current.pools.get("default/other:80");
    expect(pool).toBeDefined();
    const generation = proxy.runtime.current.generation;

    const reloaded = nextReload(proxy, (s) => s.pools.get("default/other:80")?.endpoints[0]?.address === `127.0.0.1:${o2.port}`);
    await writeFile(otherPath, docs(serviceYaml("other", [o2.port]), web("other.localhost", "other"), web("other2.localhost", "other")));
    const snap = await reloaded;

    expect(snap.generation).toBeGreaterThan(generation);
    expect(snap.pools.get("default/other:80")).not.toBe(otherPool); // the edited one is rebuilt...
    expect(proxy.runtime.current.pools.get("default/web:80")).toBe(pool); // ...the unrelated one is kept
    expect(proxy.runtime.current.pools.get("default/web:80")!.endpoints[0]).toBe(pool!.endpoints[0]);

    expect(await whoAnswers(proxy.url, "web.localhost")).toBe("web");
    expect(await whoAnswers(proxy.url, "other2.localhost")).toBe("other-2");
    expect(webUp.received).toHaveLength(2);
    expect(webUp.connections()).toBe(1);
  });

  it("an open WebSocket survives an unrelated reload and a reload that changes other routes", async () => {
    const wsUp = await wsEchoUpstream();
    cleanups.push(() => wsUp.close());
    const o1 = await upstream("other-1");
    const o2 = await upstream("other-2");
    const rules = await dir();
    const wsPath = await rules.write("ws.yaml", docs(serviceYaml("ws", [wsUp.port]), web("ws.localhost", "ws")));
    const otherPath = await rules.write("other.yaml", docs(serviceYaml("other", [o1.port]), web("other.localhost", "other")));
    const proxy = await proxyOn(rules, { debounceMs: DEFAULT_DEBOUNCE });

    const ws = await openWs(proxy.url, "ws.localhost");
    cleanups.push(() => ws.terminate());
    expect(await roundTrip(ws, "one")).toBe("one");

    // Unrelated: another file, another Service's endpoints.
    const unrelated = nextReload(proxy, (s) => s.pools.get("default/other:80")?.endpoints[0]?.address === `127.0.0.1:${o2.port}`);
    await writeFile(otherPath, docs(serviceYaml("other", [o2.port]), web("other.localhost", "other")));
    await unrelated;
    expect(await roundTrip(ws, "two")).toBe("two");

    // Other routes change, in the very file that routes the WebSocket and in a new file.
    const changed = nextReload(proxy, (s) => routes(s, "extra.localhost") && routes(s, "more.localhost"));
    await writeFile(wsPath, docs(serviceYaml("ws", [wsUp.port]), web("ws.localhost", "ws"), web("extra.localhost", "other")));
    await rules.write("more.yaml", web("more.localhost", "other"));
    await changed;
    expect(await roundTrip(ws, "three")).toBe("three");

    expect(ws.readyState).toBe(ws.OPEN);
    expect(wsUp.connections()).toBe(1);
    expect(await whoAnswers(proxy.url, "extra.localhost")).toBe("other-2");
  });
});

// ---------------------------------------------------------------------------------------------

describe("reload: admin API and modes", () => {
  it("/api/config: generation per reload, lastReload, files with status, hosts → paths → backend → endpoints", async () => {
    const a = await upstream("a");
    const rules = await dir();
    const webPath = await rules.write("web.yaml", docs(serviceYaml("web", [a.port]), web("web.localhost", "web")));
    const proxy = await proxyOn(rules);

    const c1 = (await getJson(`${proxy.admin}/api/config`)).body;
    expect(c1.ready).toBe(true);
    expect(c1.generation).toBe(proxy.runtime.current.generation);
    expect(c1.files).toEqual([{ path: webPath, status: "ok", resources: 3, servingLastGood: false }]);
    expect(c1.hosts).toEqual({
      "web.localhost": [expect.objectContaining({ path: "/", pathType: "Prefix", backend: "default/web:80", endpoints: [`127.0.0.1:${a.port}`] })],
    });

    const log = recordReloads(proxy);
    const added = nextReload(proxy, (s) => routes(s, "api.localhost", "web", "/v1"));
    const apiPath = await rules.write("api.yaml", ingressYaml("api", "api.localhost", [{ path: "/v1", pathType: "Exact", service: "web" }]));
    await added;
    const c2 = (await getJson(`${proxy.admin}/api/config`)).body;

    const removed = nextReload(proxy, (s) => !routes(s, "api.localhost", "web", "/v1"));
    await unlink(apiPath);
    await removed;
    const c3 = (await getJson(`${proxy.admin}/api/config`)).body;
    log.stop();

    // One generation per published snapshot, no gaps, and the API shows the latest.
    const gens = log.snapshots.map((s) => s.generation);
    expect(gens).toEqual(gens.map((_, i) => c1.generation + 1 + i));
    expect(c3.generation).toBe(gens.at(-1));
    expect(c2.generation).toBeGreaterThan(c1.generation);
    expect(c3.generation).toBeGreaterThan(c2.generation);
    expect(Date.parse(c2.lastReload)).toBeGreaterThan(Date.parse(c1.lastReload));
    expect(Date.parse(c3.lastReload)).toBeGreaterThan(Date.parse(c2.lastReload));

    expect(c2.files).toEqual([
      { path: apiPath, status: "ok", resources: 1, servingLastGood: false },
      { path: webPath, status: "ok", resources: 3, servingLastGood: false },
    ]);
    expect(c2.hosts["api.localhost"]).toEqual([
      expect.objectContaining({ path: "/v1", pathType: "Exact", backend: "default/web:80", endpoints: [`127.0.0.1:${a.port}`], ingress: "default/api" }),
    ]);
    expect(c3.files).toEqual([{ path: webPath, status: "ok", resources: 3, servingLastGood: false }]);
    expect(c3.hosts["api.localhost"]).toBeUndefined();
  });

  it("/api/config lists an Ingress of a removed API (extensions/v1beta1) as an error at its apiVersion; its host is not served", async () => {
    const a = await upstream("a");
    const rules = await dir();
    await rules.write("svc.yaml", serviceYaml("old", [a.port]));
    const text = `apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: old
spec:
  rules:
    - host: old.localhost
      http:
        paths:
          - path: /
            backend:
              serviceName: old
              servicePort: 80
`;
    const file = await rules.write("old.yaml", text);
    const proxy = await proxyOn(rules);

    expect(await whoAnswers(proxy.url, "old.localhost")).toBe(404);
    const config = (await getJson(`${proxy.admin}/api/config`)).body;
    expect(config.errors).toEqual([
      expect.objectContaining({ severity: "error", code: "removed-api", file, line: 1, col: 1, field: "apiVersion", resource: "Ingress default/old" }),
    ]);
    expect(config.errors[0].message).toContain("networking.k8s.io/v1");
    expect(config.warnings).toEqual([]);
    expect(config.files).toEqual(expect.arrayContaining([{ path: file, status: "invalid", resources: 0, servingLastGood: false }]));
  });

  it("/readyz is 200 once started", async () => {
    const rules = await dir();
    await rules.write("svc.yaml", serviceYaml("a", [1]));
    const proxy = await proxyOn(rules);
    const res = await get(`${proxy.admin}/readyz`);
    expect(res.status).toBe(200);
  });

  it("--no-watch: a file change is not applied", async () => {
    const a = await upstream("a");
    const b = await upstream("b");
    const rules = await dir();
    await rules.write("svc.yaml", docs(serviceYaml("a", [a.port]), serviceYaml("b", [b.port])));
    const ing = await rules.write("ing.yaml", web("nw.localhost", "a"));
    const frozen = await proxyOn(rules, { watch: false, debounceMs: 1 });
    // A watching instance on the same folder, slower to apply, tells when the change has been seen.
    const witness = await proxyOn(rules, { debounceMs: 200 });
    const frozenLog = recordReloads(frozen);

    const seen = nextReload(witness, (s) => routes(s, "nw.localhost", "b"));
    await writeFile(ing, web("nw.localhost", "b"));
    await seen;
    frozenLog.stop();

    expect(await whoAnswers(witness.url, "nw.localhost")).toBe("b");
    expect(frozenLog.snapshots).toEqual([]);
    expect(frozen.runtime.current.generation).toBe(1);
    expect(await whoAnswers(frozen.url, "nw.localhost")).toBe("a");
    expect((await getJson(`${frozen.admin}/api/config`)).body.generation).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------

describe("reload: memory", () => {
  // Each revision is a new file (and the previous one is removed): writing one file over and
  // over with a debounce under 50 ms loses writes (see "a second write soon after a reload").
  it("stays flat across 1,000 reloads; old snapshots and retired endpoints are collected", async () => {
    const gc = fullGc();
    const u0 = await upstream("m0");
    const u1 = await upstream("m1");
    const rules = await dir();
    const hosts = Array.from({ length: 20 }, (_, j) => `h${j}.localhost`);
    // Revision i: Service mem-i on u0 or u1, a Service churn-i whose endpoint (never called)
    // exists only in this revision, the Ingress for mem.localhost/ri, and 20 filler hosts.
    const text = (i: number): string =>
      docs(
        serviceYaml(`mem-${i}`, [(i % 2 === 0 ? u0 : u1).port]),
        serviceYaml(`churn-${i}`, [20_000 + i]),
        ingressYaml(`mem-${i}`, "mem.localhost", [{ path: `/r${i}`, pathType: "Exact", service: `mem-${i}` }]),
        ...hosts.map((h, j) => ingressYaml(`filler-${j}-${i}`, h, [{ path: `/r${i}`, service: `mem-${i}` }, { path: `/s${i}`, service: `churn-${i}` }])),
      );
    const name = (i: number): string => `mem-${String(i).padStart(5, "0")}.yaml`;
    await rules.write(name(0), text(0));
    const proxy = await proxyOn(rules, { debounceMs: 1 });

    const snapshots: WeakRef<Snapshot>[] = [];
    const endpoints: WeakRef<object>[] = [];
    let tracking = false;
    const track = (s: Snapshot): void => {
      if (!tracking) return;
      snapshots.push(new WeakRef(s));
      for (const [key, pool] of s.pools) if (key.includes("/churn-")) for (const e of pool.endpoints) endpoints.push(new WeakRef(e));
    };
    proxy.runtime.on("reload", track);
    cleanups.push(() => void proxy.runtime.off("reload", track));

    const revise = async (i: number): Promise<void> => {
      const reloaded = nextReload(proxy, (s) => routes(s, "mem.localhost", `mem-${i}`, `/r${i}`));
      await rules.write(name(i), text(i));
      await unlink(join(rules.dir, name(i - 1)));
      await reloaded;
      expect(await whoAnswers(proxy.url, "mem.localhost", `/r${i}`)).toBe(i % 2 === 0 ? "m0" : "m1");
      // startUpstream keeps every request it received: ~5 KB each that would count as growth here.
      u0.received.length = 0;
      u1.received.length = 0;
    };
    /** Resolves once the removals have caught up: only revision `i` is loaded. */
    const onlyRevision = (i: number): Promise<unknown> => {
      const done = (s: Snapshot): boolean => s.files.length === 1 && s.files[0]!.path === join(rules.dir, name(i));
      return done(proxy.runtime.current) ? Promise.resolve() : nextReload(proxy, done);
    };
    const heap = async (): Promise<number> => {
      for (let k = 0; k < 3; k++) {
        await new Promise((r) => setImmediate(r));
        gc();
      }
      return process.memoryUsage().heapUsed;
    };

    for (let i = 1; i <= 100; i++) await revise(i); // warm-up
    await onlyRevision(100);
    const before = await heap();
    const generation = proxy.runtime.current.generation;
    tracking = true;
    for (let i = 101; i <= 1100; i++) await revise(i);
    await onlyRevision(1100);
    tracking = false;
    const after = await heap();

    expect(proxy.runtime.current.generation - generation).toBeGreaterThanOrEqual(1000);
    expect(proxy.runtime.current.issues).toEqual([]);
    const growth = after - before;
    expect(growth, `heap grew by ${(growth / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(10 * 2 ** 20);
    // Only the current snapshot and its churn endpoint may still be reachable.
    const alive = snapshots.filter((r) => r.deref() !== undefined).length;
    expect(alive, `${alive} of ${snapshots.length} snapshots still reachable`).toBeLessThanOrEqual(2);
    expect(new Set(endpoints.map((r) => r.deref()).filter((e) => e !== undefined)).size).toBeLessThanOrEqual(1);
  }, 300_000);
});

describe("a rules file named on the command line", () => {
  it("is watched whatever its extension, as it is read at start", async () => {
    const up = await startUpstream("named");
    const rules = await rulesDir();
    const file = await rules.write("ingress.conf", `${serviceYaml("named", [up.port])}---\n${ingressYaml("named", "one.localhost", [{ path: "/", service: "named" }])}`);
    const proxy = await startProxy([file]);
    try {
      expect((await get(`${proxy.url}/`, { host: "one.localhost" })).status).toBe(200);
      const reloaded = nextReload(proxy, (s) => s.routes.lookup("two.localhost", "/") !== undefined);
      await writeFile(file, `${serviceYaml("named", [up.port])}---\n${ingressYaml("named", "two.localhost", [{ path: "/", service: "named" }])}`);
      await reloaded;
      expect((await get(`${proxy.url}/`, { host: "two.localhost" })).status).toBe(200);
    } finally {
      await proxy.close();
      await up.close();
      await rules.cleanup();
    }
  });
});
