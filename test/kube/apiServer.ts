import { EventEmitter, once } from "node:events";
import { writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { createTestCa, type Pem } from "../tlsHelpers.js";
import { jsonPatch, mergePatch, PatchError } from "./patch.js";
import { groupVersion, NAMESPACES, qualifiedName, resourceNamed, resourceOfObject, resourceOfPath, RESOURCES, type Resource } from "./resources.js";
import { fieldMatcher, labelMatcher, SelectorError, type KubeObject, type Matcher } from "./selectors.js";
import { ApiError } from "./status.js";
import { notFound, Store, type Change, type ReplacePart } from "./store.js";

/** One request as the server received it. */
export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  time: number;
}

/** One watch as opened (emitted as "watch" once its replay is written). */
export interface WatchRecord {
  plural: string;
  group: string;
  namespace: string | undefined;
  query: Record<string, string>;
}

export interface KubeApiServerOptions {
  /** How often watchers that asked (allowWatchBookmarks) get a BOOKMARK; the real server's is about a minute. */
  bookmarkIntervalMs?: number;
  /** A watch without timeoutSeconds ends after this; the real server picks 30 to 60 minutes. */
  watchTimeoutSeconds?: number;
}

/** A watch connection and what it asked for. */
interface Watcher {
  resource: Resource;
  version: string;
  namespace: string | undefined;
  match: Matcher;
  bookmarks: boolean;
  res: ServerResponse;
}

/** Where a path points: a collection (no name) or an object, maybe its status. */
interface Target {
  resource: Resource;
  version: string;
  namespace: string | undefined;
  name: string | undefined;
  status: boolean;
}

const JSON_TYPE = { "Content-Type": "application/json" };

/** Sets kind and apiVersion first, as the server serializes them. */
function typed(o: KubeObject, r: Resource, version: string): KubeObject {
  return { kind: r.kind, apiVersion: groupVersion(r.group, version), ...o };
}

/**
 * A Kubernetes API server on 127.0.0.1 for the tests: HTTPS with its own CA, bearer token,
 * list/watch/get/create/replace/patch/delete of the kinds in resources.ts, as the real one
 * answers them (k8s.io/apiserver semantics) for what a controller uses.
 */
export class KubeApiServer extends EventEmitter {
  readonly token = randomBytes(16).toString("hex");
  readonly requests: RequestRecord[] = [];
  /** Delays list responses (not watches) by this much... */
  listDelayMs = 0;
  /** ...only the first list of each kind when true, every list when false. */
  listDelayFirstOnly = false;
  /**
   * Resources (plural or qualified plural, "endpointslices.discovery.k8s.io") this server
   * does not have, as an older cluster: 404 on their paths, absent from discovery (a group
   * left with none is absent too). The test controls still reach them.
   */
  readonly unserved = new Set<string>();
  /** Resources (plural or qualified plural) every request for is refused 403 Forbidden, as RBAC refuses a kind the service account lacks. */
  readonly forbidden = new Set<string>();
  private readonly store = new Store();
  private readonly watchers = new Set<Watcher>();
  private readonly sockets = new Set<Socket>();
  private readonly listed = new Set<Resource>();
  private server: Server | undefined;
  private pem: Pem | undefined;
  private caPem = "";
  private port = 0;
  private bookmarkTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: KubeApiServerOptions = {}) {
    super();
    // The namespaces every cluster starts with.
    for (const name of ["default", "kube-node-lease", "kube-public", "kube-system"]) this.ensureNamespace(name);
    this.store.on("change", (c: Change) => {
      for (const w of this.watchers) if (w.resource === c.resource) this.deliver(w, c);
    });
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** The CA certificate (PEM) the server's certificate chains to. */
  get ca(): string {
    return this.caPem;
  }

  /** Listens (again, on the same port after stop()). */
  async start(): Promise<void> {
    if (!this.pem) {
      const ca = await createTestCa("test kube-apiserver CA");
      this.caPem = ca.certPem;
      this.pem = await ca.issue(["localhost", "kubernetes.default.svc"], { ips: ["127.0.0.1"] });
    }
    const server = createServer({ cert: this.pem.cert, key: this.pem.key }, (req, res) => this.handle(req, res));
    server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    server.listen(this.port, "127.0.0.1");
    await once(server, "listening");
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    this.bookmarkTimer = setInterval(() => this.bookmark(), this.options.bookmarkIntervalMs ?? 60_000);
    this.bookmarkTimer.unref();
  }

  /** "The API server is gone": closes the listener and destroys every connection. */
  async stop(): Promise<void> {
    clearInterval(this.bookmarkTimer);
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.watchers.clear();
    await closed;
  }

  kubeconfig(): string {
    return `apiVersion: v1
kind: Config
clusters:
  - name: test
    cluster:
      server: ${this.url}
      certificate-authority-data: ${Buffer.from(this.caPem).toString("base64")}
users:
  - name: test
    user:
      token: ${this.token}
contexts:
  - name: test
    context:
      cluster: test
      user: test
current-context: test
`;
  }

  /** Writes kubeconfig() to `dir`/kubeconfig and returns its path. */
  async writeKubeconfig(dir: string): Promise<string> {
    const path = join(dir, "kubeconfig");
    await writeFile(path, this.kubeconfig());
    return path;
  }

  // ---- test controls: the cluster's own writes (kubectl, other controllers) ----

  private resourceOf(obj: KubeObject): Resource {
    const found = resourceOfObject(String(obj.apiVersion ?? ""), String(obj.kind ?? ""));
    if (!found) throw new Error(`test API server: no resource for ${String(obj.apiVersion)} ${String(obj.kind)}`);
    return found.resource;
  }

  private out(o: KubeObject, r: Resource): KubeObject {
    return structuredClone(typed(o, r, r.versions[0]!));
  }

  /** Creates `obj`, and its namespace first when that does not exist yet (in a cluster, it would). */
  create(obj: KubeObject): KubeObject {
    const r = this.resourceOf(obj);
    if (r.namespaced) this.ensureNamespace(obj.metadata.namespace ?? "default");
    return this.out(this.store.create(r, obj, obj.metadata.namespace, false), r);
  }

  /** Replaces the whole object, status included, whatever its resourceVersion. */
  update(obj: KubeObject): KubeObject {
    const r = this.resourceOf(obj);
    const ns = r.namespaced ? (obj.metadata.namespace ?? "default") : undefined;
    return this.out(this.store.replace(r, { ...obj, metadata: { ...obj.metadata, namespace: ns } } as KubeObject, "all"), r);
  }

  private ensureNamespace(name: string): void {
    if (!this.store.get(NAMESPACES, undefined, name)) this.store.create(NAMESPACES, { metadata: { name } }, undefined, true);
  }

  /** Creates or replaces. */
  apply(obj: KubeObject): KubeObject {
    const r = this.resourceOf(obj);
    return this.store.get(r, r.namespaced ? (obj.metadata.namespace ?? "default") : undefined, obj.metadata.name) ? this.update(obj) : this.create(obj);
  }

  remove(kindOrPlural: string, namespace: string | undefined, name: string): KubeObject {
    const r = resourceNamed(kindOrPlural);
    return this.out(this.store.remove(r, namespace, name), r);
  }

  get(kindOrPlural: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const r = resourceNamed(kindOrPlural);
    const o = this.store.get(r, namespace, name);
    return o && this.out(o, r);
  }

  list(kindOrPlural: string): KubeObject[] {
    const r = resourceNamed(kindOrPlural);
    return this.store.items(r).map((o) => this.out(o, r));
  }

  /** The current resourceVersion (the last write's). */
  get resourceVersion(): string {
    return String(this.store.resourceVersion);
  }

  /** Forgets history: watches from an older resourceVersion get a 410 ERROR event; lists are unaffected. */
  compact(): void {
    this.store.compact();
  }

  /** Destroys every open watch connection mid-stream, without a final chunk (a dropped TCP connection). */
  dropWatches(): void {
    for (const w of this.watchers) w.res.socket?.destroy();
    this.watchers.clear();
  }

  /** Ends every open watch cleanly (the final chunk), as the server does at a watch's timeout. */
  endWatches(): void {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
  }

  /** A BOOKMARK now to every watcher that asked for them. */
  bookmark(): void {
    const rv = String(this.store.resourceVersion);
    for (const w of this.watchers)
      if (w.bookmarks) this.send(w, "BOOKMARK", { kind: w.resource.kind, apiVersion: groupVersion(w.resource.group, w.version), metadata: { resourceVersion: rv } } as unknown as KubeObject, false);
  }

  /** Open watches of `plural`. */
  watchCount(plural: string): number {
    return [...this.watchers].filter((w) => w.resource.plural === plural).length;
  }

  /** The next watch of `plural` to open (after its replay was written). */
  nextWatch(plural: string): Promise<WatchRecord> {
    return new Promise((resolve) => {
      const on = (w: WatchRecord): void => {
        if (w.plural !== plural) return;
        this.off("watch", on);
        resolve(w);
      };
      this.on("watch", on);
    });
  }

  /** The next request whose method and path match. */
  nextRequest(method: string, path: string | RegExp): Promise<RequestRecord> {
    return new Promise((resolve) => {
      const on = (r: RequestRecord): void => {
        if (r.method !== method || !(typeof path === "string" ? r.path === path : path.test(r.path))) return;
        this.off("request", on);
        resolve(r);
      };
      this.on("request", on);
    });
  }

  // ---- HTTP ----

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "https://127.0.0.1");
    const record: RequestRecord = { method: req.method ?? "GET", path: url.pathname, query: Object.fromEntries(url.searchParams), time: Date.now() };
    this.requests.push(record);
    this.emit("request", record);
    if (req.headers.authorization !== `Bearer ${this.token}`) return this.fail(res, new ApiError(401, "Unauthorized", "Unauthorized"));
    this.route(req, res, url).catch((e: unknown) => this.fail(res, e));
  }

  private fail(res: ServerResponse, e: unknown): void {
    const err = e instanceof ApiError ? e : new ApiError(500, "InternalError", `Internal error occurred: ${e instanceof Error ? e.message : String(e)}`);
    if (res.headersSent) return void res.destroy();
    this.reply(res, err.code, err.status);
  }

  private reply(res: ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, JSON_TYPE);
    res.end(JSON.stringify(body));
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const parts = url.pathname.split("/").filter((p) => p !== "");
    const discovery = this.discovery(parts);
    if (discovery !== undefined) {
      if (req.method !== "GET") throw new ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
      return this.reply(res, 200, discovery);
    }
    const target = this.target(parts);
    if (!target) throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    const q = url.searchParams;
    const { resource: r, version } = target;
    if (this.forbidden.has(r.plural) || this.forbidden.has(qualifiedName(r))) {
      // RBAC: the service account lacks this resource (the real message's shape).
      const verb = req.method === "GET" ? (target.name !== undefined ? "get" : q.get("watch") === "true" || q.get("watch") === "1" ? "watch" : "list") : req.method!.toLowerCase();
      const scope = target.namespace !== undefined ? `in the namespace "${target.namespace}"` : "at the cluster scope";
      throw new ApiError(403, "Forbidden", `${qualifiedName(r)} is forbidden: User "system:serviceaccount:ingressd:ingressd" cannot ${verb} resource "${r.plural}" in API group "${r.group}" ${scope}`);
    }
    switch (req.method) {
      case "GET":
        if (target.name === undefined) return q.get("watch") === "true" || q.get("watch") === "1" ? this.watch(res, target, q) : this.listTo(res, target, q);
        return this.reply(res, 200, typed(this.existing(target), r, version));
      case "POST": {
        if (target.name !== undefined || (r.namespaced && target.namespace === undefined)) throw new ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
        const body = this.checkBody(await readJson(req), target);
        // The NamespaceLifecycle admission plugin: nothing is created in a namespace that does not exist.
        if (r.namespaced && !this.store.get(NAMESPACES, undefined, target.namespace!)) throw notFound(NAMESPACES, target.namespace!);
        return this.reply(res, 201, typed(this.store.create(r, body, target.namespace, true), r, version));
      }
      case "PUT": {
        const body = this.checkBody(await readJson(req), target);
        return this.reply(res, 200, typed(this.store.replace(r, body, this.part(target)), r, version));
      }
      case "PATCH": {
        const patch = await readJson(req);
        const current = typed(this.existing(target), r, version);
        const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim();
        let patched: unknown;
        try {
          // A strategic merge patch is applied as a JSON merge patch: the same for every
          // field but lists with a patch strategy (containers, ports...), which
          // the controller under test does not patch.
          if (type === "application/merge-patch+json" || type === "application/strategic-merge-patch+json") patched = mergePatch(current, patch);
          else if (type === "application/json-patch+json") patched = jsonPatch(current, patch);
          else throw new ApiError(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`);
        } catch (e) {
          if (e instanceof PatchError) throw new ApiError(422, "Invalid", e.message);
          throw e;
        }
        const body = this.checkBody(patched, target);
        return this.reply(res, 200, typed(this.store.replace(r, body, this.part(target)), r, version));
      }
      case "DELETE":
        if (target.name === undefined || target.status) throw new ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
        return this.reply(res, 200, typed(this.store.remove(r, target.namespace, target.name), r, version));
      default:
        throw new ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
    }
  }

  private part(t: Target): ReplacePart {
    if (t.name === undefined) throw new ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
    return t.status ? "status" : "main";
  }

  private existing(t: Target): KubeObject {
    const o = t.name === undefined ? undefined : this.store.get(t.resource, t.namespace, t.name);
    if (!o) throw notFound(t.resource, t.name ?? "");
    return o;
  }

  /** A write's body: an object of the path's kind, in its namespace, with its name. */
  private checkBody(body: unknown, t: Target): KubeObject {
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw new ApiError(400, "BadRequest", "the body of the request is not a JSON object");
    const o = body as KubeObject;
    if (o.kind !== undefined && o.kind !== t.resource.kind) throw new ApiError(400, "BadRequest", `the kind in the data (${String(o.kind)}) does not match the expected kind (${t.resource.kind})`);
    const meta = (o.metadata ?? {}) as KubeObject["metadata"];
    if (t.resource.namespaced && meta.namespace !== undefined && meta.namespace !== "" && meta.namespace !== t.namespace)
      throw new ApiError(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
    if (t.name !== undefined && meta.name !== undefined && meta.name !== t.name)
      throw new ApiError(400, "BadRequest", "the name of the object does not match the name on the URL");
    return { ...o, metadata: { ...meta, ...(t.name !== undefined ? { name: t.name } : {}), ...(t.resource.namespaced ? { namespace: t.namespace } : {}) } } as KubeObject;
  }

  private isServed(r: Resource): boolean {
    return !this.unserved.has(r.plural) && !this.unserved.has(qualifiedName(r));
  }

  private served(): Resource[] {
    return RESOURCES.filter((r) => this.isServed(r));
  }

  /** /api, /apis, /api/v1, /apis/<group>, /apis/<group>/<version>, /version; undefined for anything else. */
  private discovery(parts: string[]): unknown {
    const [a, b, c, d] = parts;
    if (a === "version" && b === undefined) return { major: "1", minor: "31", gitVersion: "v1.31.0", platform: "linux/amd64" };
    if (a === "api" && b === undefined) return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: `127.0.0.1:${this.port}` }] };
    if (a === "api" && b === "v1" && c === undefined) return this.resourceList("", "v1");
    if (a !== "apis") return undefined;
    const served = this.served();
    const groups = [...new Set(served.filter((r) => r.group !== "").map((r) => r.group))].map((name) => {
      const versions = served.find((r) => r.group === name)!.versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
      return { name, versions, preferredVersion: versions[0] };
    });
    if (b === undefined) return { kind: "APIGroupList", apiVersion: "v1", groups };
    const group = groups.find((g) => g.name === b);
    if (!group) return undefined;
    if (c === undefined) return { kind: "APIGroup", apiVersion: "v1", ...group };
    if (d === undefined && group.versions.some((v) => v.version === c)) return this.resourceList(b, c);
    return undefined;
  }

  private resourceList(group: string, version: string): unknown {
    const verbs = ["create", "delete", "get", "list", "patch", "update", "watch"];
    const resources = this.served().filter((r) => r.group === group && r.versions.includes(version)).flatMap((r) => [
      { name: r.plural, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs },
      ...(r.status ? [{ name: `${r.plural}/status`, singularName: "", namespaced: r.namespaced, kind: r.kind, verbs: ["get", "patch", "update"] }] : []),
    ]);
    return { kind: "APIResourceList", apiVersion: "v1", groupVersion: groupVersion(group, version), resources };
  }

  /** /api/v1/... or /apis/<group>/<version>/...: [namespaces/<ns>/]<plural>[/<name>[/status]]. */
  private target(parts: string[]): Target | undefined {
    let group: string;
    let rest: string[];
    if (parts[0] === "api" && parts[1] === "v1") [group, rest] = ["", parts.slice(2)];
    else if (parts[0] === "apis" && parts.length >= 3) [group, rest] = [parts[1]!, parts.slice(3)];
    else return undefined;
    const version = group === "" ? "v1" : parts[2]!;
    let namespace: string | undefined;
    if (rest[0] === "namespaces" && rest.length >= 3 && rest[2] !== "status") [namespace, rest] = [rest[1], rest.slice(2)];
    const [plural, name, sub, extra] = rest;
    const resource = plural === undefined ? undefined : resourceOfPath(group, version, plural);
    if (!resource || !this.isServed(resource) || extra !== undefined || (sub !== undefined && !(sub === "status" && resource.status))) return undefined;
    if (!resource.namespaced && namespace !== undefined) return undefined;
    if (resource.namespaced && name !== undefined && namespace === undefined) return undefined;
    return { resource, version, namespace, name, status: sub === "status" };
  }

  private matcher(t: Target, q: URLSearchParams): Matcher {
    try {
      const labels = labelMatcher(q.get("labelSelector"));
      const fields = fieldMatcher(q.get("fieldSelector"));
      return (o) => (t.namespace === undefined || o.metadata.namespace === t.namespace) && labels(o) && fields(o);
    } catch (e) {
      if (e instanceof SelectorError) throw new ApiError(400, "BadRequest", e.message);
      throw e;
    }
  }

  private async listTo(res: ServerResponse, t: Target, q: URLSearchParams): Promise<void> {
    const match = this.matcher(t, q);
    const r = t.resource;
    if (this.listDelayMs > 0 && !(this.listDelayFirstOnly && this.listed.has(r))) {
      this.listed.add(r);
      await new Promise((resolve) => setTimeout(resolve, this.listDelayMs));
    }
    this.listed.add(r);
    // A continue token: the list's resourceVersion and the last key sent (opaque to clients).
    let rv = this.store.resourceVersion;
    let after: string | undefined;
    let items: KubeObject[] | undefined;
    const token = q.get("continue");
    if (token) {
      let parsed: { rv: number; after: string };
      try {
        parsed = JSON.parse(Buffer.from(token, "base64url").toString()) as { rv: number; after: string };
      } catch {
        throw new ApiError(400, "BadRequest", "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)");
      }
      items = this.store.itemsAt(r, parsed.rv);
      if (!items)
        throw new ApiError(410, "Expired", "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.");
      [rv, after] = [parsed.rv, parsed.after];
    }
    const keyOf = (o: KubeObject): string => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
    const all = (items ?? this.store.items(r)).filter((o) => match(o) && (after === undefined || keyOf(o) > after));
    const limit = Number(q.get("limit") ?? 0);
    const page = limit > 0 ? all.slice(0, limit) : all;
    const more = all.length - page.length;
    const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
    if (more > 0) {
      metadata.continue = Buffer.from(JSON.stringify({ rv, after: keyOf(page[page.length - 1]!) })).toString("base64url");
      metadata.remainingItemCount = more;
    }
    if (res.destroyed) return;
    this.reply(res, 200, {
      kind: `${r.kind}List`,
      apiVersion: groupVersion(r.group, t.version),
      metadata,
      items: page.map((o) => (r.crd ? typed(o, r, t.version) : o)),
    });
  }

  private watch(res: ServerResponse, t: Target, q: URLSearchParams): void {
    const match = this.matcher(t, q);
    const from = q.get("resourceVersion") ?? "";
    const start = from === "" || from === "0" ? undefined : Number(from);
    if (start !== undefined && !Number.isInteger(start)) throw new ApiError(400, "BadRequest", `resourceVersion: Invalid value: "${from}": must be an integer`);
    const replay = start === undefined ? undefined : this.store.since(t.resource, start);
    res.writeHead(200, { ...JSON_TYPE, "Transfer-Encoding": "chunked" });
    res.flushHeaders();
    const w: Watcher = { resource: t.resource, version: t.version, namespace: t.namespace, match, bookmarks: q.get("allowWatchBookmarks") === "true", res };
    if (start !== undefined && !replay) {
      // As the real server: 200, then one ERROR event, then the end of the stream.
      const expired = new ApiError(410, "Expired", `too old resource version: ${start} (${this.store.oldestResourceVersion})`);
      res.end(JSON.stringify({ type: "ERROR", object: expired.status }) + "\n");
      return;
    }
    if (replay) for (const c of replay) this.deliver(w, c);
    else for (const o of this.store.items(t.resource)) if (match(o)) this.send(w, "ADDED", o);
    this.watchers.add(w);
    const timeout = Number(q.get("timeoutSeconds") ?? this.options.watchTimeoutSeconds ?? 1800);
    const timer = setTimeout(() => {
      this.watchers.delete(w);
      res.end();
    }, timeout * 1000);
    res.on("close", () => {
      clearTimeout(timer);
      this.watchers.delete(w);
    });
    this.emit("watch", { plural: t.resource.plural, group: t.resource.group, namespace: t.namespace, query: Object.fromEntries(q) } satisfies WatchRecord);
  }

  /** A write as this watcher sees it: an object entering its selector is ADDED, one leaving it DELETED. */
  private deliver(w: Watcher, c: Change): void {
    const was = c.previous !== undefined && w.match(c.previous);
    const is = c.type !== "DELETED" && w.match(c.object);
    if (was && is) this.send(w, "MODIFIED", c.object);
    else if (is) this.send(w, "ADDED", c.object);
    else if (was) this.send(w, "DELETED", c.object);
  }

  private send(w: Watcher, type: string, o: KubeObject, withType = true): void {
    if (w.res.destroyed) return;
    w.res.write(JSON.stringify({ type, object: withType ? typed(o, w.resource, w.version) : o }) + "\n");
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString());
  } catch {
    throw new ApiError(400, "BadRequest", "the body of the request could not be decoded as JSON");
  }
}
