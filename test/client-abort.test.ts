import { EventEmitter, once } from "node:events";
import { request, type ClientRequest, type IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Endpoint } from "../src/upstream/endpoint.js";
import { startUpstream, type RulesDir, type Upstream } from "./helpers.js";
import { memoryLog, type MemoryLog } from "./healthHelpers.js";
import { proxyWith, site, waitFor, type Proxy } from "./proxyHelpers.js";

/**
 * Issue 9 asks for the upstream connections to be closed within 100 ms of the clients
 * leaving; on an idle machine it takes a few ms. Asserted with room for a shared 2-core
 * machine under load, where clients, ingressd and upstream share this one event loop
 * (300-700 ms seen at a load average of 12): a leak keeps them open for 4 s and more.
 */
const BOUND_MS = 1_500;
const CLIENTS = 60;
/** The slow upstream answers after this long (3 s in the issue; longer here, to stay clear of the bound). */
const ANSWER_AFTER_MS = 5_000;

/**
 * nginx closes the upstream connection as soon as the client is gone
 * (`proxy_ignore_client_abort off`). Counted at the upstream: its open sockets.
 */
describe("a client that goes away: its upstream connection is closed (issue 9.2)", () => {
  let up: Upstream;
  let proxy: Proxy;
  let rules: RulesDir;
  let log: MemoryLog;
  const open = new Set<Socket>();
  /** Emits a request's path once the upstream holds it in the state under test. */
  const arrived = new EventEmitter();
  arrived.setMaxListeners(0);
  const timers = new Set<NodeJS.Timeout>();

  beforeAll(async () => {
    up = await startUpstream((req, res) => {
      const path = req.url!;
      const later = (fn: () => void): void => {
        const t = setTimeout(() => {
          timers.delete(t);
          fn();
        }, ANSWER_AFTER_MS);
        timers.add(t);
      };
      if (path.startsWith("/upload/")) {
        // Reads the body as it comes; the client never finishes sending it.
        req.once("data", () => arrived.emit(path));
        req.resume();
        later(() => res.end("late"));
      } else if (path.startsWith("/headers/")) {
        req.resume();
        arrived.emit(path);
        later(() => res.end("late"));
      } else {
        req.resume();
        res.writeHead(200, { "content-type": "application/octet-stream" });
        res.write(Buffer.alloc(1024, 1));
        later(() => res.end());
      }
    });
    up.server.on("connection", (s: Socket) => {
      open.add(s);
      s.once("close", () => open.delete(s));
    });
    log = memoryLog();
    ({ proxy, rules } = await proxyWith({ "slow.yaml": site("slow", "slow.localhost", [up.port]) }, { logger: log.logger }));
  });
  afterAll(async () => {
    for (const t of timers) clearTimeout(t);
    await proxy.close();
    await up.close();
    await rules.cleanup();
  });

  const pool = () => proxy.runtime.current.pools.get("default/slow:80")!.endpoints[0]!.dispatcher;

  /**
   * Starts CLIENTS requests in `state`, waits until the upstream holds each of them there,
   * closes every client and resolves with how long the upstream's connections stayed open
   * after the last client was gone.
   */
  async function leave(state: "upload" | "headers" | "stream"): Promise<number> {
    expect(open.size).toBe(0);
    const clients: ClientRequest[] = [];
    const ready: Promise<unknown>[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const path = `/${state}/${i}`;
      const upload = state === "upload";
      const req = request(`${proxy.url}${path}`, {
        method: upload ? "POST" : "GET",
        headers: { host: "slow.localhost", ...(upload ? { "content-length": "1000000" } : {}) },
        agent: false,
      });
      req.on("error", () => undefined);
      if (upload) req.write(Buffer.alloc(16 * 1024, 2)); // and never the rest
      else req.end();
      const reached = once(arrived, path);
      // Streaming: the client has the response head and the first chunk of the body.
      const streaming = state === "stream" ? once(req, "response").then(([res]) => once(res as IncomingMessage, "data")) : undefined;
      ready.push(state === "stream" ? streaming! : reached);
      clients.push(req);
    }
    await Promise.all(ready);
    expect(open.size).toBe(CLIENTS);

    await Promise.all(
      clients.map((req) => {
        const closed = new Promise((resolve) => req.once("close", resolve)); // once() would reject on the hang-up error
        req.destroy();
        return closed;
      }),
    );
    const gone = performance.now();
    // Nothing open at the upstream and nothing left in ingressd's pool for it: a connection
    // closed and reopened for the aborted request (then idle) would show in one or the other.
    await waitFor(() => {
      const s = pool().stats;
      return open.size === 0 && s.connected === 0 && s.size === 0;
    }, `the upstream's ${state} connections to close`, ANSWER_AFTER_MS + 2_000, 2);
    return performance.now() - gone;
  }

  async function expect499s(state: string): Promise<void> {
    const lines = (): number => log.lines.filter((l) => l.log === "access" && String(l.path).startsWith(`/${state}/`) && l.status === 499).length;
    await waitFor(() => lines() === CLIENTS, `${CLIENTS} access lines with 499 for /${state}/`);
  }

  it("while the request body is still being sent", async () => {
    expect(await leave("upload")).toBeLessThan(BOUND_MS);
    await expect499s("upload");
  });

  it("while waiting for the response headers", async () => {
    expect(await leave("headers")).toBeLessThan(BOUND_MS);
    await expect499s("headers");
  });

  it("while the response body streams", async () => {
    expect(await leave("stream")).toBeLessThan(BOUND_MS);
    await expect499s("stream");
  });
});

/**
 * The fourth state the issue names: the request still queued in the endpoint's pool while
 * its connection is being made. undici notices the abort once the connection is up, closes
 * it and drops the request before it was ever running, so it opens no other connection for
 * it (this state held before the fix too; kept here so it stays that way).
 */
describe("a request aborted while queued for an upstream connection (issue 9.2)", () => {
  it("leaves no connection open at the upstream", async () => {
    const up = await startUpstream((req, res) => {
      req.resume();
      res.end("never asked");
    });
    const open = new Set<Socket>();
    let opened = 0;
    up.server.on("connection", (s: Socket) => {
      opened++;
      open.add(s);
      s.once("close", () => open.delete(s));
    });
    const endpoint = new Endpoint({ host: "127.0.0.1", port: up.port }, { connectMs: 5_000, readMs: 60_000 });
    try {
      const outcomes = Array.from({ length: CLIENTS }, (_, i) => {
        const abort = new AbortController();
        const answer = endpoint.dispatcher.request({ path: `/queued/${i}`, method: "GET", signal: abort.signal });
        abort.abort(); // before its connection is even made
        return answer.then(
          () => "answered",
          (err: Error) => err.name,
        );
      });
      expect(new Set(await Promise.all(outcomes))).toEqual(new Set(["AbortError"]));
      const gone = performance.now();
      await waitFor(() => {
        const s = endpoint.dispatcher.stats;
        return opened > 0 && open.size === 0 && s.connected === 0 && s.size === 0;
      }, "the upstream's connections to close", ANSWER_AFTER_MS, 2);
      expect(performance.now() - gone).toBeLessThan(BOUND_MS);
      expect(up.received).toEqual([]); // and nothing was sent on them
    } finally {
      await endpoint.destroy();
      await up.close();
    }
  });
});
