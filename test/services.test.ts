import { afterEach, describe, expect, it } from "vitest";
import { nextReload } from "./helpers.js";
import { apiConfig, docs, ingressFor, lineOf, sequence, statusOf, whoFrom, World, type Proxy } from "./serviceHelpers.js";

let w = new World();
afterEach(async () => {
  await w.close();
  w = new World();
});

/** A rules directory with one file `svc.yaml` holding `text`, and a proxy over it. */
async function serve(text: string): Promise<{ proxy: Proxy; file: string }> {
  const rules = await w.rules({ "svc.yaml": text });
  const proxy = await w.proxy(rules);
  return { proxy, file: rules.paths["svc.yaml"]! };
}

/** Endpoint addresses of a pool, as the running proxy has them. */
function endpointsOf(proxy: Proxy, key: string): string[] | undefined {
  return proxy.runtime.current.pools.get(key)?.endpoints.map((e) => e.address);
}

const loop = (port: number): string => `127.0.0.1:${port}`;

interface ConfigError {
  code: string;
  message: string;
  file: string;
  line: number;
  col: number;
  field?: string;
  resource?: string;
}

// ---------------------------------------------------------------------------------------------

describe("multi-port Services", () => {
  it("two named ports (http 80, admin 81): Ingress paths naming one by number and the other by name reach different upstreams", async () => {
    const [web, adm] = await w.upstreams(["web", "admin"]);
    const text = docs(
      `apiVersion: v1
kind: Service
metadata:
  name: multi
spec:
  ports:
    - name: http
      port: 80
    - name: admin
      port: 81
`,
      // The Endpoints list the ports in the other order: they are matched by name, not position.
      `apiVersion: v1
kind: Endpoints
metadata:
  name: multi
subsets:
  - addresses: [{ ip: 127.0.0.1 }]
    ports:
      - { name: admin, port: ${adm!.port} }
      - { name: http, port: ${web!.port} }
`,
      ingressFor("multi", "multi.localhost", [
        { path: "/web", service: "multi", port: 80 },
        { path: "/admin", service: "multi", port: "admin" },
        { path: "/by-name", service: "multi", port: "http" },
        { path: "/by-number", service: "multi", port: 81 },
      ]),
    );
    const { proxy } = await serve(text);

    expect((await apiConfig(proxy)).errors).toEqual([]);
    expect(await whoFrom(proxy, "multi.localhost", "127.0.0.1", {}, "/web")).toBe("web");
    expect(await whoFrom(proxy, "multi.localhost", "127.0.0.1", {}, "/admin")).toBe("admin");
    expect(await whoFrom(proxy, "multi.localhost", "127.0.0.1", {}, "/by-name")).toBe("web");
    expect(await whoFrom(proxy, "multi.localhost", "127.0.0.1", {}, "/by-number")).toBe("admin");
    expect(web!.received.map((r) => r.url)).toEqual(["/web", "/by-name"]);
    expect(adm!.received.map((r) => r.url)).toEqual(["/admin", "/by-number"]);

    const pools = proxy.runtime.current.pools;
    expect(pools.get("default/multi:80")?.spec).toMatchObject({ port: 80, portName: "http", endpoints: [{ host: "127.0.0.1", port: web!.port }] });
    expect(pools.get("default/multi:81")?.spec).toMatchObject({ port: 81, portName: "admin", endpoints: [{ host: "127.0.0.1", port: adm!.port }] });
    const hosts = (await apiConfig(proxy)).hosts["multi.localhost"] as { path: string; backend: string }[];
    expect(Object.fromEntries(hosts.map((h) => [h.path, h.backend]))).toEqual({
      "/web": "default/multi:80",
      "/admin": "default/multi:81",
      "/by-name": "default/multi:80",
      "/by-number": "default/multi:81",
    });
  });

  it("an Ingress naming a port the Service does not have is an error; the Service's other routes serve", async () => {
    const [web] = await w.upstreams(["web"]);
    const text = docs(
      `apiVersion: v1
kind: Service
metadata:
  name: multi
spec:
  ports:
    - { name: http, port: 80 }
    - { name: admin, port: 81 }
`,
      `apiVersion: v1
kind: Endpoints
metadata:
  name: multi
subsets:
  - addresses: [{ ip: 127.0.0.1 }]
    ports: [{ name: http, port: ${web!.port} }, { name: admin, port: ${web!.port} }]
`,
      ingressFor("multi", "multi.localhost", [
        { path: "/ok", service: "multi", port: "http" },
        { path: "/nope", service: "multi", port: "metrics" },
      ]),
    );
    const { proxy, file } = await serve(text);
    const errors = (await apiConfig(proxy)).errors as ConfigError[];
    expect(errors).toEqual([expect.objectContaining({ code: "unknown-port", file, resource: "Ingress default/multi" })]);
    expect(errors[0]!.message).toContain('"metrics"');
    expect(await whoFrom(proxy, "multi.localhost", "127.0.0.1", {}, "/ok")).toBe("web");
  });
});

// ---------------------------------------------------------------------------------------------

describe("targetPort resolution", () => {
  it("through Endpoints ports carrying the Service port's name (whatever targetPort says)", async () => {
    const [a, b] = await w.upstreams(["a", "b"]);
    const text = docs(
      // targetPort 1 (nothing listens there) and a named targetPort: the Endpoints port of the same name wins.
      `apiVersion: v1
kind: Service
metadata:
  name: svc
spec:
  ports:
    - name: http
      port: 80
      targetPort: 1
    - name: grpc
      port: 81
      targetPort: grpc-port
`,
      `apiVersion: v1
kind: Endpoints
metadata:
  name: svc
subsets:
  - addresses: [{ ip: 127.0.0.1 }]
    ports:
      - { name: grpc, port: ${b!.port} }
      - { name: http, port: ${a!.port} }
`,
      ingressFor("svc", "svc.localhost", [
        { path: "/", service: "svc", port: 80 },
        { path: "/grpc", service: "svc", port: 81 },
      ]),
    );
    const { proxy } = await serve(text);
    expect((await apiConfig(proxy)).errors).toEqual([]);
    expect(endpointsOf(proxy, "default/svc:80")).toEqual([loop(a!.port)]);
    expect(endpointsOf(proxy, "default/svc:81")).toEqual([loop(b!.port)]);
    expect(await whoFrom(proxy, "svc.localhost")).toBe("a");
    expect(await whoFrom(proxy, "svc.localhost", "127.0.0.1", {}, "/grpc")).toBe("b");
  });

  it("through EndpointSlices: several slices of one Service merge; conditions.ready false is left out", async () => {
    const [a, b, c, adm] = await w.upstreams(["a", "b", "c", "admin"]);
    const slice = (name: string, httpPort: number, ready?: boolean): string => `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${name}
  labels:
    kubernetes.io/service-name: sliced
addressType: IPv4
ports:
  - { name: admin, port: ${adm!.port} }
  - { name: http, port: ${httpPort} }
endpoints:
  - addresses: [127.0.0.1]${ready === undefined ? "" : `\n    conditions: { ready: ${ready} }`}
`;
    const text = docs(
      `apiVersion: v1
kind: Service
metadata:
  name: sliced
spec:
  ports:
    - { name: http, port: 80 }
    - { name: admin, port: 81, targetPort: admin }
`,
      slice("sliced-1", a!.port, true),
      slice("sliced-2", b!.port), // no conditions: ready
      slice("sliced-3", c!.port, false),
      ingressFor("sliced", "sliced.localhost", [
        { path: "/", service: "sliced", port: "http" },
        { path: "/admin", service: "sliced", port: "admin" },
      ]),
    );
    const { proxy } = await serve(text);
    expect((await apiConfig(proxy)).errors).toEqual([]);
    expect(endpointsOf(proxy, "default/sliced:80")).toEqual([loop(a!.port), loop(b!.port)]);
    // Three slices name the same admin address: one endpoint (the not-ready one adds nothing).
    expect(endpointsOf(proxy, "default/sliced:81")).toEqual([loop(adm!.port)]);

    const seq = await sequence(proxy, "sliced.localhost", 6);
    expect(new Set(seq)).toEqual(new Set(["a", "b"]));
    expect(c!.received).toHaveLength(0);
    expect(new Set(await sequence(proxy, "sliced.localhost", 3, "127.0.0.1", {}, "/admin"))).toEqual(new Set(["admin"]));
  });

  it("an EndpointSlice change is picked up on reload: a slice turning ready joins the rotation", async () => {
    const [a, b] = await w.upstreams(["a", "b"]);
    const slice = (name: string, port: number, ready: boolean): string => `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${name}
  labels: { kubernetes.io/service-name: web }
addressType: IPv4
ports: [{ port: ${port} }]
endpoints:
  - addresses: ["127.0.0.1"]
    conditions: { ready: ${ready} }
`;
    const rules = await w.rules({
      "svc.yaml": docs(`apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports: [{ port: 80 }]\n`, ingressFor("web", "web.localhost", [{ path: "/", service: "web", port: 80 }])),
      "slice-a.yaml": slice("web-a", a!.port, true),
      "slice-b.yaml": slice("web-b", b!.port, false),
    });
    const proxy = await w.proxy(rules);
    expect(new Set(await sequence(proxy, "web.localhost", 4))).toEqual(new Set(["a"]));

    const reloaded = nextReload(proxy, (s) => s.pools.get("default/web:80")?.endpoints.length === 2);
    await rules.write("slice-b.yaml", slice("web-b", b!.port, true));
    await reloaded;
    expect(new Set(await sequence(proxy, "web.localhost", 4))).toEqual(new Set(["a", "b"]));
  });

  it("Endpoints without ports: a numeric targetPort is the upstream port", async () => {
    const [a] = await w.upstreams(["a"]);
    const text = docs(
      `apiVersion: v1
kind: Service
metadata:
  name: numeric
spec:
  ports:
    - port: 80
      targetPort: ${a!.port}
`,
      `apiVersion: v1
kind: Endpoints
metadata:
  name: numeric
subsets:
  - addresses: [{ ip: 127.0.0.1 }]
`,
      ingressFor("numeric", "numeric.localhost", [{ path: "/", service: "numeric", port: 80 }]),
    );
    const { proxy } = await serve(text);
    expect((await apiConfig(proxy)).errors).toEqual([]);
    expect(endpointsOf(proxy, "default/numeric:80")).toEqual([loop(a!.port)]);
    expect(await whoFrom(proxy, "numeric.localhost")).toBe("a");
  });

  it("Endpoints without ports and no targetPort: targetPort defaults to port", async () => {
    const [b] = await w.upstreams(["b"]);
    const text = docs(
      `apiVersion: v1
kind: Service
metadata:
  name: defaulted
spec:
  ports:
    - port: ${b!.port}
`,
      `apiVersion: v1
kind: Endpoints
metadata:
  name: defaulted
subsets:
  - addresses: [{ ip: 127.0.0.1 }]
`,
      ingressFor("defaulted", "defaulted.localhost", [{ path: "/", service: "defaulted", port: b!.port }]),
    );
    const { proxy } = await serve(text);
    expect((await apiConfig(proxy)).errors).toEqual([]);
    expect(endpointsOf(proxy, `default/defaulted:${b!.port}`)).toEqual([loop(b!.port)]);
    expect(await whoFrom(proxy, "defaulted.localhost")).toBe("b");
  });

  it("a named targetPort no Endpoints port resolves is an error (unresolved-target-port) at its file:line; the rest serves", async () => {
    const [a] = await w.upstreams(["a"]);
    const text = docs(
      `apiVersion: v1
kind: Service
metadata:
  name: portless
spec:
  ports:
    - name: http
      port: 80
      targetPort: web
`,
      `apiVersion: v1
kind: Endpoints
metadata:
  name: portless
subsets:
  - addresses: [{ ip: 127.0.0.1 }]
`,
      `apiVersion: v1
kind: Service
metadata:
  name: othername
spec:
  ports:
    - name: http
      port: 80
      targetPort: api
`,
      `apiVersion: v1
kind: Endpoints
metadata:
  name: othername
subsets:
  - addresses: [{ ip: 127.0.0.1 }]
    ports: [{ name: metrics, port: ${a!.port} }]
`,
      `apiVersion: v1
kind: Service
metadata:
  name: fine
spec:
  ports:
    - port: 80
      targetPort: ${a!.port}
`,
      `apiVersion: v1
kind: Endpoints
metadata:
  name: fine
subsets:
  - addresses: [{ ip: 127.0.0.1 }]
`,
      ingressFor("all", "t.localhost", [
        { path: "/portless", service: "portless", port: 80 },
        { path: "/othername", service: "othername", port: 80 },
        { path: "/fine", service: "fine", port: 80 },
      ]),
    );
    const { proxy, file } = await serve(text);
    const errors = ((await apiConfig(proxy)).errors as ConfigError[]).sort((x, y) => x.line - y.line);
    const web = lineOf(text, "targetPort: web");
    const api = lineOf(text, "targetPort: api");
    expect(errors).toEqual([
      expect.objectContaining({ code: "unresolved-target-port", file, line: web.line, col: web.col, field: "spec.ports[0].targetPort", resource: "Service default/portless" }),
      expect.objectContaining({ code: "unresolved-target-port", file, line: api.line, col: api.col, field: "spec.ports[0].targetPort", resource: "Service default/othername" }),
    ]);
    expect(errors[0]!.message).toContain('"web"');
    expect(errors[1]!.message).toContain('"api"');

    expect(endpointsOf(proxy, "default/portless:80")).toEqual([]);
    expect(endpointsOf(proxy, "default/othername:80")).toEqual([]);
    expect(await statusOf(proxy, "t.localhost", "/portless")).toBe(503);
    expect(await statusOf(proxy, "t.localhost", "/othername")).toBe(503);
    expect(await whoFrom(proxy, "t.localhost", "127.0.0.1", {}, "/fine")).toBe("a");
    expect(a!.received.map((r) => r.url)).toEqual(["/fine"]);
  });

  it("notReadyAddresses are left out", async () => {
    const [a, b] = await w.upstreams(["a", "b"]);
    const text = docs(
      `apiVersion: v1
kind: Service
metadata:
  name: nr
spec:
  ports:
    - port: 80
`,
      `apiVersion: v1
kind: Endpoints
metadata:
  name: nr
subsets:
  - addresses: [{ ip: 127.0.0.1 }]
    ports: [{ port: ${a!.port} }]
  - notReadyAddresses: [{ ip: 127.0.0.1 }]
    ports: [{ port: ${b!.port} }]
`,
      ingressFor("nr", "nr.localhost", [{ path: "/", service: "nr", port: 80 }]),
    );
    const { proxy } = await serve(text);
    expect((await apiConfig(proxy)).errors).toEqual([]);
    expect(endpointsOf(proxy, "default/nr:80")).toEqual([loop(a!.port)]);
    expect(new Set(await sequence(proxy, "nr.localhost", 6))).toEqual(new Set(["a"]));
    expect(b!.received).toHaveLength(0);
  });

  it("a Service whose only addresses are not ready has no endpoints: 503", async () => {
    const [a] = await w.upstreams(["a"]);
    const text = docs(
      `apiVersion: v1\nkind: Service\nmetadata:\n  name: down\nspec:\n  ports:\n    - port: 80\n`,
      `apiVersion: v1
kind: Endpoints
metadata:
  name: down
subsets:
  - notReadyAddresses: [{ ip: 127.0.0.1 }]
    ports: [{ port: ${a!.port} }]
`,
      ingressFor("down", "down.localhost", [{ path: "/", service: "down", port: 80 }]),
    );
    const { proxy } = await serve(text);
    expect(endpointsOf(proxy, "default/down:80")).toEqual([]);
    expect(await statusOf(proxy, "down.localhost")).toBe(503);
    expect(a!.received).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------------------------

describe("Service port validation", () => {
  /** A Service named `name` with the given `ports:` block (already indented). */
  const svc = (name: string, ports: string): string => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  ports:
${ports}`;

  const LONG = "a".repeat(64);

  it("rejects unnamed ports of a multi-port Service, duplicate names, UDP/SCTP and port names that are not DNS labels — each at its line; valid neighbours serve", async () => {
    const [good] = await w.upstreams(["good"]);
    const text = docs(
      svc("noname", "    - port: 1101\n    - port: 1102\n"),
      svc("dup", "    - name: web\n      port: 1201\n    - name: web\n      port: 1202\n"),
      svc("udp", "    - port: 1301\n      protocol: UDP\n"),
      svc("sctp", "    - port: 1401\n      protocol: SCTP\n"),
      svc("upper", "    - name: Web\n      port: 1501\n"),
      svc("underscore", "    - name: web_1\n      port: 1601\n"),
      svc("dash", "    - name: -web\n      port: 1701\n"),
      svc("good", "    - name: http\n      port: 80\n    - name: admin\n      port: 81\n      protocol: TCP\n"),
      `apiVersion: v1
kind: Endpoints
metadata:
  name: good
subsets:
  - addresses: [{ ip: 127.0.0.1 }]
    ports: [{ name: http, port: ${good!.port} }]
`,
      ingressFor("good", "good.localhost", [{ path: "/", service: "good", port: "http" }]),
    );
    const { proxy, file } = await serve(text);
    const errors = (await apiConfig(proxy)).errors as ConfigError[];
    const byResource = (name: string): ConfigError[] => errors.filter((e) => e.resource === `Service default/${name}`);
    const line = (needle: string): number => lineOf(text, needle).line;

    expect(byResource("noname")).toEqual([
      expect.objectContaining({ code: "missing-port-name", file, line: line("- port: 1101"), field: "spec.ports[0].name" }),
      expect.objectContaining({ code: "missing-port-name", file, line: line("- port: 1102"), field: "spec.ports[1].name" }),
    ]);
    // The second use of the name is the one reported.
    const dupAt = text.indexOf("name: web\n", text.indexOf("name: web\n") + 1);
    expect(byResource("dup")).toEqual([
      expect.objectContaining({ code: "duplicate-port-name", file, line: text.slice(0, dupAt).split("\n").length, field: "spec.ports[1].name" }),
    ]);
    for (const [name, proto] of [["udp", "UDP"], ["sctp", "SCTP"]] as const) {
      const errs = byResource(name);
      expect(errs).toEqual([expect.objectContaining({ code: "unsupported-protocol", file, line: line(`protocol: ${proto}`), field: "spec.ports[0].protocol" })]);
      expect(errs[0]!.message).toContain(proto);
      expect(errs[0]!.message).toMatch(/not supported/);
    }
    for (const [name, portName] of [["upper", "Web"], ["underscore", "web_1"], ["dash", "-web"]] as const) {
      expect(byResource(name), `${name}: port name "${portName}"`).toEqual([
        expect.objectContaining({ code: "invalid-port-name", file, line: line(`name: ${portName}\n`), field: "spec.ports[0].name" }),
      ]);
    }
    expect(byResource("good")).toEqual([]);

    const pools = proxy.runtime.current.pools;
    for (const name of ["noname", "dup", "udp", "sctp", "upper", "underscore", "dash"]) {
      expect([...pools.keys()].filter((k) => k.startsWith(`default/${name}:`)), name).toEqual([]);
    }
    expect(await whoFrom(proxy, "good.localhost")).toBe("good");
  });

  it("rejects a port name longer than 63 characters (a DNS-1123 label is at most 63)", async () => {
    const [good] = await w.upstreams(["good"]);
    const text = docs(
      svc("long", `    - name: ${LONG}\n      port: 80\n`),
      `apiVersion: v1\nkind: Endpoints\nmetadata:\n  name: long\nsubsets:\n  - addresses: [{ ip: 127.0.0.1 }]\n    ports: [{ name: ${LONG}, port: ${good!.port} }]\n`,
      ingressFor("long", "long.localhost", [{ path: "/", service: "long", port: 80 }]),
    );
    const { proxy, file } = await serve(text);
    const errors = (await apiConfig(proxy)).errors as ConfigError[];
    expect(errors).toEqual([
      expect.objectContaining({ code: "invalid-port-name", file, line: lineOf(text, `name: ${LONG}\n`).line, field: "spec.ports[0].name", resource: "Service default/long" }),
    ]);
    expect(proxy.runtime.current.pools.has("default/long:80")).toBe(false);
    expect(await statusOf(proxy, "long.localhost")).toBe(503);
  });

  it("rejects two ports with the same port number (Kubernetes: duplicate value); the first port's pool is not silently replaced", async () => {
    const [a, b] = await w.upstreams(["a", "b"]);
    const text = docs(
      svc("twice", "    - name: http\n      port: 80\n    - name: alt\n      port: 80\n"),
      `apiVersion: v1
kind: Endpoints
metadata:
  name: twice
subsets:
  - addresses: [{ ip: 127.0.0.1 }]
    ports: [{ name: http, port: ${a!.port} }, { name: alt, port: ${b!.port} }]
`,
      ingressFor("twice", "twice.localhost", [{ path: "/", service: "twice", port: "http" }]),
    );
    const { proxy, file } = await serve(text);
    // Whether or not the Service is accepted, port.name http must never reach the second port's upstream b.
    const status = await statusOf(proxy, "twice.localhost");
    expect(b!.received.map((r) => r.url), `answered ${status}`).toEqual([]);
    const errors = (await apiConfig(proxy)).errors as ConfigError[];
    expect(errors).toEqual([expect.objectContaining({ file, field: "spec.ports[1].port", resource: "Service default/twice" })]);
  });

  it("a single unnamed port is fine, and so is a 63-character port name", async () => {
    const [a] = await w.upstreams(["a"]);
    const name63 = "p".repeat(63);
    const text = docs(
      svc("single", "    - port: 80\n"),
      svc("longok", `    - name: ${name63}\n      port: 80\n`),
      `apiVersion: v1\nkind: Endpoints\nmetadata:\n  name: single\nsubsets:\n  - addresses: [{ ip: 127.0.0.1 }]\n    ports: [{ port: ${a!.port} }]\n`,
      `apiVersion: v1\nkind: Endpoints\nmetadata:\n  name: longok\nsubsets:\n  - addresses: [{ ip: 127.0.0.1 }]\n    ports: [{ name: ${name63}, port: ${a!.port} }]\n`,
      ingressFor("both", "both.localhost", [
        { path: "/single", service: "single", port: 80 },
        { path: "/long", service: "longok", port: name63 },
      ]),
    );
    const { proxy } = await serve(text);
    expect((await apiConfig(proxy)).errors).toEqual([]);
    expect(await whoFrom(proxy, "both.localhost", "127.0.0.1", {}, "/single")).toBe("a");
    expect(await whoFrom(proxy, "both.localhost", "127.0.0.1", {}, "/long")).toBe("a");
  });
});

// ---------------------------------------------------------------------------------------------

describe("ExternalName Services", () => {
  it("externalName localhost with a numeric targetPort reaches the upstream", async () => {
    const [up] = await w.upstreams(["ext"]);
    const text = docs(
      `apiVersion: v1
kind: Service
metadata:
  name: ext
spec:
  type: ExternalName
  externalName: localhost
  ports:
    - port: 80
      targetPort: ${up!.port}
`,
      ingressFor("ext", "ext.localhost", [{ path: "/", service: "ext", port: 80 }]),
    );
    const { proxy } = await serve(text);
    expect((await apiConfig(proxy)).errors).toEqual([]);
    expect(endpointsOf(proxy, "default/ext:80")).toEqual([`localhost:${up!.port}`]);
    expect(await whoFrom(proxy, "ext.localhost", "127.0.0.1", {}, "/x?y=1")).toBe("ext");
    expect(up!.received.map((r) => r.url)).toEqual(["/x?y=1"]);
    // The upstream sees the client's Host, as with any Service.
    expect(up!.received[0]!.headers.host).toBe("ext.localhost");
  });

  it("without targetPort, the Service port is the upstream port", async () => {
    const [up] = await w.upstreams(["ext"]);
    const text = docs(
      `apiVersion: v1
kind: Service
metadata:
  name: ext
spec:
  type: ExternalName
  externalName: localhost
  ports:
    - port: ${up!.port}
`,
      ingressFor("ext", "ext.localhost", [{ path: "/", service: "ext", port: up!.port }]),
    );
    const { proxy } = await serve(text);
    expect(endpointsOf(proxy, `default/ext:${up!.port}`)).toEqual([`localhost:${up!.port}`]);
    expect(await whoFrom(proxy, "ext.localhost")).toBe("ext");
  });

  it("an ExternalName Service without ports: the Ingress backend's port number is the upstream port", async () => {
    const [up] = await w.upstreams(["ext"]);
    const text = docs(
      `apiVersion: v1
kind: Service
metadata:
  name: ext
spec:
  type: ExternalName
  externalName: localhost
`,
      ingressFor("ext", "ext.localhost", [{ path: "/", service: "ext", port: up!.port }]),
    );
    const { proxy } = await serve(text);
    expect((await apiConfig(proxy)).errors).toEqual([]);
    const res = await statusOf(proxy, "ext.localhost");
    expect(res).toBe(200);
    expect(up!.received).toHaveLength(1);
  });
});
