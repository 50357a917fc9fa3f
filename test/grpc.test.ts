/**
 * Issue 12, gRPC: "`nginx.ingress.kubernetes.io/backend-protocol: GRPC` (h2c to the
 * upstream) and `GRPCS` (h2 over TLS) route gRPC calls, streaming in both directions, with
 * `grpc-status`/trailers relayed and gRPC-shaped errors (`grpc-status: 14` unavailable) when
 * no endpoint answers. Test with `@grpc/grpc-js` client and server on loopback: unary,
 * server-streaming, client-streaming, bidi."
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingressYaml, rulesDir, serviceYaml, startProxy, type RulesDir } from "./helpers.js";
import { freePort, type Proxy } from "./proxyHelpers.js";
import { createTestCa, secretYaml, type TestCa } from "./tlsHelpers.js";

const bytes = { serialize: (b: Buffer): Buffer => b, deserialize: (b: Buffer): Buffer => b };
const method = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: `/test.Echo/${name}`,
  requestStream,
  responseStream,
  requestSerialize: bytes.serialize,
  requestDeserialize: bytes.deserialize,
  responseSerialize: bytes.serialize,
  responseDeserialize: bytes.deserialize,
});
const ECHO = {
  Unary: method("Unary", false, false),
  ServerStream: method("ServerStream", false, true),
  ClientStream: method("ClientStream", true, false),
  Bidi: method("Bidi", true, true),
  Fail: method("Fail", false, false),
  Watch: method("Watch", false, true),
};

/** Told when a server's Watch call is cancelled (the client, or ingressd for it, reset the stream). */
const cancelled = new Map<string, () => void>();

/** A gRPC server on loopback answering as `name`, over TLS when given a certificate. */
async function echoServer(name: string, pem?: { cert: string; key: string }): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(ECHO, {
    Unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const seen = `${name}:${call.request.toString()}:${call.metadata.get("x-forwarded-proto")[0]}:${call.metadata.get("x-forwarded-host")[0]}`;
      cb(null, Buffer.from(seen));
    },
    ServerStream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      for (let i = 0; i < 3; i++) call.write(Buffer.from(`${call.request.toString()}-${i}`));
      call.end();
    },
    ClientStream: (call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const parts: string[] = [];
      call.on("data", (d: Buffer) => parts.push(d.toString()));
      call.on("end", () => cb(null, Buffer.from(parts.join("+"))));
    },
    Bidi: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on("data", (d: Buffer) => call.write(Buffer.from(d.toString().toUpperCase())));
      call.on("end", () => call.end());
    },
    Watch: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      call.once("cancelled", () => cancelled.get(name)?.());
      call.write(Buffer.from("first")); // and nothing more until the client goes
    },
    Fail: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      cb({ code: grpc.status.NOT_FOUND, details: "no such thing" });
    },
  });
  const creds = pem ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(pem.cert), private_key: Buffer.from(pem.key) }], false) : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((res, rej) => server.bindAsync("127.0.0.1:0", creds, (err, p) => (err ? rej(err) : res(p))));
  return { server, port };
}

function unary(client: grpc.Client, path: string, arg: string): Promise<Buffer> {
  return new Promise((res, rej) => client.makeUnaryRequest(path, bytes.serialize, bytes.deserialize, Buffer.from(arg), (err, out) => (err ? rej(err) : res(out!))));
}

describe("gRPC through ingressd (issue 12)", () => {
  let ca: TestCa;
  let plain: { server: grpc.Server; port: number };
  let secure: { server: grpc.Server; port: number };
  let rules: RulesDir;
  let proxy: Proxy;
  let httpsPort: number;
  const clients: grpc.Client[] = [];

  /** A client to ingressd's HTTP port (h2c), naming `host` as :authority. */
  const h2cClient = (host: string): grpc.Client => {
    const c = new grpc.Client(`127.0.0.1:${proxy.httpPort}`, grpc.credentials.createInsecure(), { "grpc.default_authority": host });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    ca = await createTestCa();
    plain = await echoServer("plain");
    secure = await echoServer("secure", await ca.issue(["echo-tls.default.svc"]));
    const dead = await freePort();
    rules = await rulesDir();
    await rules.write("svc.yaml", [serviceYaml("echo", [plain.port]), serviceYaml("echo-tls", [secure.port]), serviceYaml("dead", [dead]), serviceYaml("empty", [])].join("---\n"));
    await rules.write("grpc.yaml", ingressYaml("grpc", "grpc.test", [{ path: "/", service: "echo" }], { "backend-protocol": "GRPC" }));
    await rules.write("grpcs.yaml", ingressYaml("grpcs", "grpcs.test", [{ path: "/", service: "echo-tls" }], { "backend-protocol": "GRPCS" }));
    await rules.write("dead.yaml", ingressYaml("dead", "dead.test", [{ path: "/", service: "dead" }], { "backend-protocol": "GRPC" }));
    await rules.write("empty.yaml", ingressYaml("empty", "empty.test", [{ path: "/", service: "empty" }], { "backend-protocol": "GRPC" }));
    // A TLS host of the front end, for clients over the HTTPS port.
    await rules.write("front-secret.yaml", secretYaml("front", await ca.issue(["grpc-tls.test"])));
    await rules.write(
      "front-tls.yaml",
      `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: front-tls
  annotations:
    nginx.ingress.kubernetes.io/backend-protocol: "GRPC"
spec:
  tls:
    - hosts: ["grpc-tls.test"]
      secretName: front
  rules:
    - host: grpc-tls.test
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: echo
                port:
                  number: 80
`,
    );
    proxy = await startProxy([rules.dir], { httpsPort: 0 });
    httpsPort = await proxy.httpsReady();
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await proxy?.close();
    plain?.server.forceShutdown();
    secure?.server.forceShutdown();
    await rules?.cleanup();
  });

  it("backend-protocol GRPC: a unary call over h2c, with the forwarded headers", async () => {
    const out = await unary(h2cClient("grpc.test"), ECHO.Unary.path, "hi");
    expect(out.toString()).toBe("plain:hi:http:grpc.test");
  });

  it("server-streaming", async () => {
    const call = h2cClient("grpc.test").makeServerStreamRequest(ECHO.ServerStream.path, bytes.serialize, bytes.deserialize, Buffer.from("n"));
    const got: string[] = [];
    call.on("data", (d: Buffer) => got.push(d.toString()));
    await new Promise<void>((res, rej) => {
      call.on("status", (s: grpc.StatusObject) => (s.code === grpc.status.OK ? res() : rej(new Error(s.details))));
      call.on("error", rej);
    });
    expect(got).toEqual(["n-0", "n-1", "n-2"]);
  });

  it("client-streaming", async () => {
    const out = await new Promise<Buffer>((res, rej) => {
      const call = h2cClient("grpc.test").makeClientStreamRequest(ECHO.ClientStream.path, bytes.serialize, bytes.deserialize, (err, v) => (err ? rej(err) : res(v!)));
      for (const p of ["a", "b", "c"]) call.write(Buffer.from(p));
      call.end();
    });
    expect(out.toString()).toBe("a+b+c");
  });

  it("bidi-streaming: each message answered while the call stays open", async () => {
    const call = h2cClient("grpc.test").makeBidiStreamRequest(ECHO.Bidi.path, bytes.serialize, bytes.deserialize);
    const next = (): Promise<string> => new Promise((res) => call.once("data", (d: Buffer) => res(d.toString())));
    call.write(Buffer.from("one"));
    expect(await next()).toBe("ONE");
    call.write(Buffer.from("two"));
    expect(await next()).toBe("TWO");
    const status = new Promise<grpc.StatusObject>((res) => call.on("status", res));
    call.end();
    expect((await status).code).toBe(grpc.status.OK);
  });

  it("a call the client cancels is cancelled upstream", async () => {
    const upstreamCancelled = new Promise<void>((res) => cancelled.set("plain", res));
    const call = h2cClient("grpc.test").makeServerStreamRequest(ECHO.Watch.path, bytes.serialize, bytes.deserialize, Buffer.from("w"));
    call.on("error", () => undefined); // CANCELLED, as asked
    await new Promise((res) => call.once("data", res));
    call.cancel();
    await upstreamCancelled;
  });

  it("relays a non-OK grpc-status and grpc-message from the upstream", async () => {
    const err = (await unary(h2cClient("grpc.test"), ECHO.Fail.path, "x").catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.details).toBe("no such thing");
  });

  it("backend-protocol GRPCS: h2 over TLS to the upstream", async () => {
    const out = await unary(h2cClient("grpcs.test"), ECHO.Unary.path, "tls");
    expect(out.toString()).toBe("secure:tls:http:grpcs.test");
  });

  it("answers UNAVAILABLE (14) when the endpoint refuses, and when there is none", async () => {
    const refused = (await unary(h2cClient("dead.test"), ECHO.Unary.path, "x").catch((e: unknown) => e)) as grpc.ServiceError;
    expect(refused.code).toBe(grpc.status.UNAVAILABLE);
    expect(refused.details).toContain("connection refused");
    const none = (await unary(h2cClient("empty.test"), ECHO.Unary.path, "x").catch((e: unknown) => e)) as grpc.ServiceError;
    expect(none.code).toBe(grpc.status.UNAVAILABLE);
    expect(none.details).toContain("no ready endpoints");
  });

  it("answers UNIMPLEMENTED (12) for a host no rule names", async () => {
    const err = (await unary(h2cClient("nowhere.test"), ECHO.Unary.path, "x").catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
  });

  it("a gRPC client over TLS to the HTTPS port", async () => {
    const c = new grpc.Client(`127.0.0.1:${httpsPort}`, grpc.credentials.createSsl(Buffer.from(ca.certPem)), { "grpc.ssl_target_name_override": "grpc-tls.test", "grpc.default_authority": "grpc-tls.test" });
    clients.push(c);
    const out = await unary(c, ECHO.Unary.path, "front");
    expect(out.toString()).toBe("plain:front:https:grpc-tls.test");
  });
});
