import { X509Certificate } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer, Server } from "node:http";
import { createServer as createH2cServer, createSecureServer, type Http2SecureServer } from "node:http2";
import { homedir } from "node:os";
import { join } from "node:path";
import type { AddressInfo, Server as NetServer } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { createAdminServer } from "../admin/adminServer.js";
import type { LocalCaCertificates } from "../admin/configView.js";
import { Metrics } from "../telemetry/metrics.js";
import { FileSource } from "../config/fileSource.js";
import { MemorySource } from "../config/memorySource.js";
import type { ConfigChange, ConfigSource } from "../config/source.js";
import type { ClusterOptions } from "./clusterOptions.js";
import { rulesSource, type SourceOptions } from "./configSources.js";
import { findFilter } from "../model/route.js";
import { ClientAddressResolver } from "../proxy/clientAddress.js";
import { CLIENT_BODY_TIMEOUT_MS } from "../proxy/clientBodyTimeout.js";
import { clientErrorHandler } from "../proxy/clientErrors.js";
import type { ClientRequest, ClientResponse } from "../proxy/clientMessage.js";
import { HttpFrontend } from "../proxy/httpFrontend.js";
import { L4Listeners } from "../l4/listeners.js";
import type { L4ListenerSpec } from "../l4/plan.js";
import { createAccessLog } from "../telemetry/log.js";
import { keepingRecent, RecentRequests } from "../telemetry/recentRequests.js";
import { Runtime } from "../snapshot/runtime.js";
import type { SnapshotSource } from "../snapshot/snapshot.js";
import { Http2Sessions } from "./http2Sessions.js";
import type { ClientIpPlacement } from "../upstream/balancer.js";
import { GatewayPorts } from "./gatewayPorts.js";
import { ListenError, type ListenerName } from "./listenError.js";
import { servePriorKnowledge } from "./priorKnowledge.js";
import { CertificateSelector, type DefaultContextOptions } from "../proxy/certificateSelector.js";

export interface IngressdOptions {
  rules: string[];
  bind: string;
  httpPort: number;
  adminBind: string;
  adminPort: number;
  ingressClass: string;
  /** Gateways of this class are served (default `ingressd`). */
  gatewayClass?: string;
  watch: boolean;
  logger: Logger;
  /** Upstream connect timeout (default 5 s) and read timeout (default 60 s). */
  connectTimeoutMs?: number;
  readTimeoutMs?: number;
  /** Quiet time before file changes apply (default 100 ms). */
  debounceMs?: number;
  /** Grace period for in-flight requests on shutdown (default 10 s). */
  shutdownGraceMs?: number;
  /** Proxies whose X-Forwarded-For is believed (`--trust-proxy`). */
  trustProxy?: string[];
  /** Hold requests this long while every endpoint refuses (`--upstream-try-duration`, default 0). */
  upstreamTryDurationMs?: number;
  /** How long connections of a removed L4 listener may go on (default 30 s). */
  l4DrainMs?: number;
  /** HTTPS port, opened once TLS is configured (`--https-port`, 0 = ephemeral). */
  httpsPort?: number;
  /** Where the local development CA lives (`--data-dir`). */
  dataDir?: string;
  defaultCert?: string;
  defaultKey?: string;
  /** The wall clock local-CA certificates are issued and renewed by (default Date.now; tests advance it). */
  now?: () => number;
  /** How often the local CA's default certificate is checked for renewal (default 1 min). */
  defaultRenewalCheckMs?: number;
  /** How long a client may take to send a request's headers (default 60 s, nginx's client_header_timeout). */
  clientHeaderTimeoutMs?: number;
  /** How long a client may send nothing of a request body (default 60 s, nginx's client_body_timeout). */
  clientBodyTimeoutMs?: number;
  /** Rules held in memory beside the files (`ingressd proxy --from … --to …`), each named like a file. */
  inline?: ConfigChange[];
  /**
   * Where the configuration comes from instead of `rules` and `inline`: a worker of
   * `--workers N` serves the inputs its primary watches (`rules` still names the paths).
   */
  source?: ConfigSource;
  /** Log each configuration error and warning (default true): the primary of `--workers N` does, once, not each worker. */
  logConfigIssues?: boolean;
  /** How ClientIP affinity places new clients: a worker of `--workers N` hashes the address, so all workers agree. */
  clientIpPlacement?: ClientIpPlacement;
  /** Open the admin server (default true); the primary of `--workers N` runs the one admin server. */
  admin?: boolean;
  /** `--source kubernetes`: read the configuration from this cluster instead of `rules`. */
  cluster?: ClusterOptions;
  /** The cluster source's reconnection and Secret refresh times (tests shorten them). */
  clusterTimings?: SourceOptions["clusterTimings"];
}

export interface Ingressd {
  runtime: Runtime;
  l4: L4Listeners;
  /** Ports opened for Gateway listeners besides the HTTP and HTTPS ones. */
  gatewayPorts: GatewayPorts;
  httpPort: number;
  /** The HTTPS port once it is open (TLS configured), else undefined. */
  readonly httpsPort: number | undefined;
  /** Resolves once HTTPS listens (for tests and tools). */
  httpsReady(): Promise<number>;
  /** Why ingressd is not ready (what `/readyz` answers 503 with), or undefined once it is. */
  notReady(): string | undefined;
  /** 0 when started with `admin: false`. */
  adminPort: number;
  /** The metrics this process counts (a worker's, aggregated by its primary). */
  metrics: Metrics;
  /** The last requests it answered (a worker's, gathered by its primary for the dashboard). */
  recent: RecentRequests;
  /** In-memory rules: the `inline` ones, and names registered by `ingressd run`. */
  memory: MemorySource;
  /** The local CA's certificate file and the leaves it issued, as `/api/config` shows them. */
  localCaCertificates(): LocalCaCertificates;
  /** Stops accepting, lets in-flight requests finish (up to the grace period), closes upstream sockets. */
  close(): Promise<void>;
}

/** Wires source → runtime → front end and admin, and opens the listeners. */
export async function startIngressd(options: IngressdOptions): Promise<Ingressd> {
  const { logger } = options;
  // In-memory rules change only when asked to, so they are followed even with --no-watch.
  const memory = new MemorySource(options.inline ?? []);
  const { source, reporter: makeReporter } = options.source ? { source: options.source, reporter: undefined } : await rulesSource(options, memory);
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  const runtime = new Runtime({
    source,
    bind: options.bind,
    ingressClass: options.ingressClass,
    // In a cluster, Ingresses without a class may be another controller's: served only while ingressd's class is the default.
    ...(options.cluster ? { classless: "default-class" as const } : {}),
    // kube-proxy opens NodePort and LoadBalancer Services in a cluster: ingressd must not (its own Service is one).
    ...(options.cluster ? { serviceListeners: false } : {}),
    ...(options.gatewayClass !== undefined ? { gatewayClass: options.gatewayClass } : {}),
    httpPort: options.httpPort,
    ...(options.httpsPort !== undefined ? { httpsPort: options.httpsPort } : {}),
    timeouts: { connectMs: connectTimeoutMs, readMs: options.readTimeoutMs ?? 60_000 },
    logger,
    rulesPaths: options.rules,
    ...(options.clientIpPlacement ? { clientIpPlacement: options.clientIpPlacement } : {}),
    ...(options.logConfigIssues === false ? { logIssues: false } : {}),
  });
  const reporter = makeReporter?.(runtime);
  const l4 = new L4Listeners({
    snapshots: runtime,
    logger,
    connectTimeoutMs,
    ...(options.l4DrainMs !== undefined ? { drainMs: options.l4DrainMs } : {}),
    onConnection: (spec) => metrics.l4Connection(spec.service, spec.port),
  });
  const metrics = new Metrics(runtime, () => l4.status());
  const recentRequests = new RecentRequests();
  const accessLog = keepingRecent(createAccessLog(logger), recentRequests);
  const clientAddress = new ClientAddressResolver(options.trustProxy ?? []);
  /** HTTP and HTTPS differ only in what they tell upstreams in X-Forwarded-Proto; a Gateway listener's own port reads its own table. */
  const frontendFor = (proto: "http" | "https", snapshots: SnapshotSource = runtime): HttpFrontend =>
    new HttpFrontend({
      snapshots,
      accessLog,
      proto,
      clientAddress,
      tryDurationMs: options.upstreamTryDurationMs ?? 0,
      observer: metrics,
      clientBodyTimeoutMs: options.clientBodyTimeoutMs ?? CLIENT_BODY_TIMEOUT_MS,
      debug: (fields, msg) => logger.debug(fields, msg),
    });
  const frontend = frontendFor("http");
  const httpsFrontend = frontendFor("https");
  const headersTimeout = options.clientHeaderTimeoutMs ?? 60_000;
  // Node checks the header timeout only every connectionsCheckingInterval (30 s by default):
  // checked every second, a slow client is closed at the timeout, not up to 30 s past it.
  const serverTimeouts = { keepAliveTimeout: 75_000, headersTimeout, requestTimeout: 0, connectionsCheckingInterval: Math.min(1_000, headersTimeout) };
  const onClientError = clientErrorHandler(accessLog);
  const certificates = new CertificateSelector({
    snapshots: runtime,
    logger,
    dataDir: options.dataDir ?? join(homedir(), ".local", "share", "ingressd"),
    ...(options.defaultCert && options.defaultKey ? { defaultCert: options.defaultCert, defaultKey: options.defaultKey } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  let https: Http2SecureServer | undefined;
  let httpsSessions: Http2Sessions | undefined;
  let httpsPort: number | undefined;
  let httpsOpening: Promise<number> | undefined;
  const httpsWaiters: ((port: number) => void)[] = [];
  /** A new default certificate, for the next handshakes (open connections keep theirs). */
  const installDefault = (pem: DefaultContextOptions): void => https?.setSecureContext({ ...pem, minVersion: "TLSv1.2" });
  /**
   * The HTTPS listener opens once TLS exists: a TLS host, a default certificate given,
   * or a route forced to redirect to HTTPS (force-ssl-redirect needs somewhere to go).
   */
  const needsHttps = (): boolean =>
    runtime.current.tls.size > 0 || options.defaultCert !== undefined || runtime.current.routes.routes().some((r) => findFilter(r, "httpsRedirect") !== undefined);
  const openHttpsIfNeeded = (): Promise<number> | undefined => {
    if (httpsOpening || !needsHttps()) return httpsOpening;
    httpsOpening = (async () => {
      const pem = await certificates.loadDefault();
      // HTTP/2 and HTTP/1.1 on one port, chosen by ALPN; HTTP/1.1 (and its WebSockets)
      // goes through node:http's machinery as with an https server.
      https = createSecureServer(
        { ...pem, SNICallback: certificates.sniCallback, minVersion: "TLSv1.2", allowHTTP1: true, ALPNProtocols: ["h2", "http/1.1"], settings: EXTENDED_CONNECT },
        httpsFrontend.handleRequest,
      );
      https.on("connect", extendedConnect(httpsFrontend));
      // createSecureServer takes no HTTP/1.1 timeouts among its options: they are the server's fields.
      Object.assign(https, serverTimeouts);
      httpsSessions = new Http2Sessions(https, serverTimeouts.keepAliveTimeout);
      https.on("upgrade", httpsFrontend.handleUpgrade);
      https.on("clientError", onClientError);
      countConnections(https, "https", metrics);
      https.on("tlsClientError", (err) => logger.debug({ err: err.message }, "TLS handshake failed"));
      const port = await listen(https, "https", options.httpsPort ?? 8443, options.bind);
      httpsPort = port;
      frontend.redirect = { httpsPort: port };
      logger.info({ https: `${options.bind}:${port}` }, "HTTPS listening");
      for (const w of httpsWaiters.splice(0)) w(port);
      return port;
    })();
    httpsOpening.catch((err: unknown) => {
      logger.error({ err }, err instanceof ListenError ? err.message : "cannot open the HTTPS listener");
      httpsOpening = undefined;
    });
    return httpsOpening;
  };
  /** Plans given to the L4 listeners, and how many of them are applied (listening or failed). */
  let l4Plans = 0;
  let l4Applied = 0;
  const reconcileL4 = (listeners: readonly L4ListenerSpec[]): Promise<void> => {
    const plan = ++l4Plans;
    const applied = (): void => {
      l4Applied = plan; // reconcile applies plans in order
    };
    return l4.reconcile(listeners).then(applied, applied);
  };
  /** Ports Gateway listeners open besides the HTTP and HTTPS ones, served like them. */
  const gatewayPorts = new GatewayPorts(runtime, {
    bind: options.bind,
    logger,
    frontendFor: (protocol, snapshots) => frontendFor(protocol === "HTTPS" ? "https" : "http", snapshots),
    serverFor: async (protocol, fe) => {
      let server: NetServer;
      if (protocol === "HTTPS") {
        const pem = await certificates.loadDefault();
        const secure = createSecureServer(
          { ...pem, SNICallback: certificates.sniCallback, minVersion: "TLSv1.2", allowHTTP1: true, ALPNProtocols: ["h2", "http/1.1"], settings: EXTENDED_CONNECT },
          fe.handleRequest,
        );
        secure.on("connect", extendedConnect(fe));
        secure.on("tlsClientError", (err) => logger.debug({ err: err.message }, "TLS handshake failed"));
        Object.assign(secure, serverTimeouts);
        server = secure;
      } else {
        server = createServer(serverTimeouts, fe.handleRequest);
      }
      server.on("upgrade", fe.handleUpgrade);
      server.on("clientError", onClientError);
      countConnections(server, "gateway", metrics);
      return server;
    },
  });
  runtime.on("reload", (snapshot, info) => {
    metrics.reloaded(info.ok);
    metrics.prune(snapshot);
    void reconcileL4(snapshot.l4.listeners);
    void gatewayPorts.reconcile(snapshot.gatewayPorts);
    void openHttpsIfNeeded()?.catch(() => undefined);
  });
  const http = createServer(serverTimeouts, frontend.handleRequest);
  http.on("upgrade", frontend.handleUpgrade);
  const h2c = createH2cServer({ settings: EXTENDED_CONNECT }, frontend.handleRequest);
  h2c.on("connect", extendedConnect(frontend));
  const h2cSessions = new Http2Sessions(h2c, serverTimeouts.keepAliveTimeout);
  const firstBytes = servePriorKnowledge(http, h2c, headersTimeout);
  countConnections(http, "http", metrics);
  http.on("clientError", onClientError);
  let httpListening = false;
  /** The HTTP port once it listens: a registration may arrive while the first configuration loads. */
  let httpOpened: (port: number) => void = () => undefined;
  const httpOpen = new Promise<number>((res) => (httpOpened = res));
  /**
   * Ready: the first configuration is loaded and every listener it asks for (HTTP,
   * HTTPS, L4) accepts. A listener still opening holds readiness; one that failed to bind
   * does not (it is an error in the log and /api/config, and only a change fixes it), as
   * a Kubernetes readiness probe should not take every working host out for one port.
   */
  const notReady = (): string | undefined => {
    if (!runtime.ready) return "configuration not loaded yet";
    if (!httpListening) return "HTTP listener not open yet";
    if (httpsOpening && httpsPort === undefined) return "HTTPS listener opening";
    if (l4Applied < l4Plans) return "L4 listeners opening";
    if (!gatewayPorts.settled) return "Gateway listener ports opening";
    return undefined;
  };
  /** A name's URLs once the rules registered so far serve (HTTPS if its listener opens). */
  const served = async (host: string): Promise<{ http: string; https?: string }> => {
    await runtime.settled();
    const tlsPort = await openHttpsIfNeeded()?.catch(() => undefined);
    return { http: urlOf("http", host, await httpOpen), ...(tlsPort !== undefined ? { https: urlOf("https", host, tlsPort) } : {}) };
  };
  const issuesOf = (path: string): string[] => runtime.current.issues.filter((i) => i.file === path).map((i) => i.message);
  const admin = options.admin === false ? undefined : createAdminServer(runtime, () => l4.status(), metrics, notReady, {
    recent: recentRequests,
    localCa: () => certificates.localCaCertificates(),
    registrations: { memory, served, issuesOf },
    gatewayPorts: () => gatewayPorts.status(),
    ...(reporter ? { cluster: () => reporter.view() } : {}),
  });

  // The missing path itself is an error of the configuration (logged, and listed by /api/config,
  // as `ingressd check` reports it); this only says the server does not give up on it.
  for (const path of options.rules) {
    if (options.watch && !existsSync(path)) logger.info({ path }, `rules path ${path} is watched and loaded when it appears`);
  }
  // A default certificate named on the command line must be usable: fail at start, naming the file.
  if (options.defaultCert) await certificates.loadDefault();
  // Admin first, so /readyz answers 503 while the first configuration loads.
  const adminPort = admin ? await listen(admin, "admin", options.adminPort, options.adminBind) : 0;
  await runtime.start();
  reporter?.start();
  await reconcileL4(runtime.current.l4.listeners);
  await gatewayPorts.reconcile(runtime.current.gatewayPorts);
  const httpPort = await listen(http, "http", options.httpPort, options.bind).catch(async (err: unknown) => {
    // Started by a library user, nothing may be left running when the HTTP port is taken.
    await Promise.all([l4.close(0), runtime.stop(), new Promise((res) => (admin ? admin.close(res) : res(undefined)))]);
    throw err;
  });
  httpListening = true;
  // Gateway API redirects from HTTPS to http name this port (80 until it listens).
  httpsFrontend.redirect = { httpPort };
  httpOpened(httpPort);
  await openHttpsIfNeeded()?.catch(() => undefined);
  let defaultWatch: FileSource | undefined;
  if (options.defaultCert && options.defaultKey && options.watch) {
    // A renewed default certificate is served to new handshakes without a restart. The
    // rules' FileSource does the watching: its quiet period also covers the change
    // events chokidar drops when a file is written twice within 50 ms.
    defaultWatch = new FileSource({
      paths: [options.defaultCert, options.defaultKey],
      debounceMs: options.debounceMs ?? 100,
      onError: (err) => logger.error({ err }, "watching the default certificate failed"),
    });
    await defaultWatch.watch(() => {
      certificates.loadDefault().then(
        (pem) => {
          installDefault(pem);
          logger.info({ file: options.defaultCert }, "default certificate reloaded");
        },
        (err: unknown) => logger.error({ err }, "default certificate not reloaded; the previous one is still served"),
      );
    });
  }
  // The local CA's default certificate lasts a week: renewed a day before it ends. Checked
  // against the wall clock every minute rather than by one six-day timer: timers follow a
  // monotonic clock, which on Linux stands still while the machine sleeps, so a laptop
  // that slept would fire it after the certificate had ended.
  const defaultRenewal = setInterval(() => {
    certificates.renewDefaultIfDue().then(
      (pem) => {
        if (!pem) return;
        installDefault(pem);
        logger.info({ notAfter: new Date(new X509Certificate(pem.cert).validTo).toISOString() }, "default certificate renewed");
      },
      (err: unknown) => logger.error({ err }, "default certificate not renewed; the previous one is still served"),
    );
  }, options.defaultRenewalCheckMs ?? 60_000).unref();
  logger.info({ http: `${options.bind}:${httpPort}`, ...(admin ? { admin: `${options.adminBind}:${adminPort}` } : {}) }, "ingressd listening");

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      const grace = options.shutdownGraceMs ?? 10_000;
      clearInterval(defaultRenewal);
      metrics.close();
      await defaultWatch?.close();
      const servers: NetServer[] = https ? [http, https] : [http];
      const drained = Promise.all(servers.map((s) => new Promise<void>((res) => s.close(() => res()))));
      frontend.drain(() => http.closeIdleConnections());
      // The HTTPS port's HTTP/1.1 connections are node:http's (Http2SecureServer's typings leave its http methods out).
      const https1 = https as Server | undefined;
      httpsFrontend.drain(() => https1?.closeIdleConnections());
      http.closeIdleConnections();
      https1?.closeIdleConnections();
      firstBytes.closeWaiting(); // connections that have sent nothing yet: idle, as closeIdleConnections closes
      h2cSessions.close();
      httpsSessions?.close();
      frontend.closeTunnels();
      httpsFrontend.closeTunnels();
      const timer = setTimeout(() => {
        http.closeAllConnections();
        // Http2SecureServer has no closeAllConnections of its own: node:http's closes its HTTP/1.1 connections.
        if (https1) Server.prototype.closeAllConnections.call(https1);
        h2cSessions.destroy();
        httpsSessions?.destroy();
      }, grace);
      await Promise.all([drained, l4.close(grace), gatewayPorts.close(grace)]);
      clearTimeout(timer);
      accessLog.flush();
      await reporter?.stop();
      await runtime.stop();
      if (admin) {
        await new Promise<void>((res) => {
          admin.close(() => res());
          admin.closeAllConnections();
        });
      }
    })());
  return {
    runtime,
    httpPort,
    get httpsPort() {
      return httpsPort;
    },
    notReady,
    httpsReady: () => (httpsPort !== undefined ? Promise.resolve(httpsPort) : new Promise((res) => httpsWaiters.push(res))),
    adminPort,
    metrics,
    recent: recentRequests,
    memory,
    localCaCertificates: () => certificates.localCaCertificates(),
    l4,
    gatewayPorts,
    close,
  };
}

/** RFC 8441: HTTP/2 clients may open WebSockets with an extended CONNECT (the front end's 'connect' requests). */
const EXTENDED_CONNECT = { enableConnectProtocol: true };

/**
 * The 'connect' listener: HTTP/2 CONNECTs go to the front end (WebSockets, RFC 8441; others
 * answered 405 there). On the HTTPS port node:http emits its HTTP/1.1 CONNECTs (a socket,
 * not a response) on the same server: closed, as node:http does when nobody listens.
 */
function extendedConnect(frontend: HttpFrontend) {
  return (req: ClientRequest, res: ClientResponse | Duplex): void => {
    if (req.httpVersionMajor === 2) frontend.handleRequest(req, res as ClientResponse);
    else (res as Duplex).destroy();
  };
}

/** `http://web.localhost:8080`; the scheme's own port is left out. */
export function urlOf(scheme: "http" | "https", host: string, port: number): string {
  return `${scheme}://${host}${port === (scheme === "https" ? 443 : 80) ? "" : `:${port}`}`;
}

/** Open client connections per listener, for `ingressd_active_connections`. */
function countConnections(server: NetServer, listener: string, metrics: Metrics): void {
  server.on("connection", (socket) => {
    metrics.connectionOpened(listener);
    socket.once("close", () => metrics.connectionClosed(listener));
  });
}

/** Resolves with the port listened on; rejects with a ListenError naming the listener's flag. */
export function listen(server: NetServer, listener: ListenerName, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException): void => reject(new ListenError(listener, host, port, err.code));
    server.once("error", fail);
    server.listen(port, host, () => {
      server.off("error", fail);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
