import { randomBytes } from "node:crypto";
import { Duplex } from "node:stream";
import { describe, expect, it } from "vitest";
import { relay } from "../src/net/relay.js";
import { sha256, within } from "./proxyHelpers.js";

/**
 * One side of a relayed connection as the proxy sees it: a Duplex whose readable side
 * is what its peer sends (`send`, `finish`, `fail`) and whose writable side hands bytes
 * to a slow peer — each write completes a turn later, as when a socket's kernel buffer
 * is full — so the relay's writes back up in user space, where a premature destroy
 * loses them. `delivered` is what reached the peer; `endDelivered` says the end did.
 */
class Peer extends Duplex {
  readonly delivered: Buffer[] = [];
  endDelivered = false;
  readonly gone: Promise<void>;
  /** Runs when the relay ends this side (the peer sees our FIN). */
  onEnd: () => void = () => undefined;

  constructor() {
    super({ allowHalfOpen: true });
    this.gone = new Promise((res) => this.once("close", () => res()));
    this.on("error", () => undefined);
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error) => void): void {
    setImmediate(() => {
      this.delivered.push(chunk);
      cb();
    });
  }

  override _final(cb: (err?: Error) => void): void {
    setImmediate(() => {
      this.endDelivered = true;
      cb();
      this.onEnd();
    });
  }

  /** The peer sends `data` in 1 KiB pieces, all at once. */
  send(data: Buffer): void {
    for (let i = 0; i < data.length; i += 1024) this.push(data.subarray(i, i + 1024));
  }

  /** The peer half-closes (FIN). */
  finish(): void {
    this.push(null);
  }

  get bytes(): Buffer {
    return Buffer.concat(this.delivered);
  }
}

const SIZE = 8 * 1024 * 1024;

describe("relay", () => {
  it("the upstream replies after the client's end and closes: the client gets every byte, then the end", async () => {
    const payload = randomBytes(SIZE);
    const client = new Peer();
    const upstream = new Peer();
    upstream.onEnd = () => {
      upstream.send(payload);
      upstream.finish();
    };
    relay(client, upstream);
    client.send(Buffer.from("GET"));
    client.finish();
    await within(Promise.all([client.gone, upstream.gone]), 20_000, "both sides closed");
    expect(upstream.bytes.toString()).toBe("GET");
    expect(client.bytes.length).toBe(SIZE);
    expect(sha256(client.bytes)).toBe(sha256(payload));
    expect(client.endDelivered).toBe(true);
  });

  it("the upstream ended first and the client then sends a large body and ends: the upstream gets every byte, then the end", async () => {
    const body = randomBytes(SIZE);
    const client = new Peer();
    const upstream = new Peer();
    relay(client, upstream);
    upstream.send(Buffer.from("bye"));
    upstream.finish();
    client.onEnd = () => {
      client.send(body);
      client.finish();
    };
    await within(Promise.all([client.gone, upstream.gone]), 20_000, "both sides closed");
    expect(client.bytes.toString()).toBe("bye");
    expect(upstream.bytes.length).toBe(SIZE);
    expect(sha256(upstream.bytes)).toBe(sha256(body));
    expect(upstream.endDelivered).toBe(true);
  });

  it("half-close both ways: each side keeps sending after the other ended", async () => {
    const client = new Peer();
    const upstream = new Peer();
    relay(client, upstream);
    client.send(Buffer.from("question"));
    client.finish();
    await new Promise<void>((res) => (upstream.onEnd = res));
    expect(upstream.bytes.toString()).toBe("question");
    expect(client.destroyed || upstream.destroyed).toBe(false);
    upstream.send(Buffer.from("answer after your end"));
    upstream.finish();
    await within(Promise.all([client.gone, upstream.gone]), 5_000, "both sides closed");
    expect(client.bytes.toString()).toBe("answer after your end");
    expect(client.endDelivered).toBe(true);
  });

  for (const side of ["client", "upstream"] as const) {
    it(`an error on the ${side} side destroys both`, async () => {
      const client = new Peer();
      const upstream = new Peer();
      relay(client, upstream);
      client.send(Buffer.from("x"));
      (side === "client" ? client : upstream).destroy(Object.assign(new Error("reset"), { code: "ECONNRESET" }));
      await within(Promise.all([client.gone, upstream.gone]), 5_000, "both sides closed");
      expect(client.destroyed && upstream.destroyed).toBe(true);
    });

    it(`the ${side} side closed abruptly (no error, no end) destroys the other`, async () => {
      const client = new Peer();
      const upstream = new Peer();
      relay(client, upstream);
      (side === "client" ? client : upstream).destroy();
      await within(Promise.all([client.gone, upstream.gone]), 5_000, "both sides closed");
      expect(client.destroyed && upstream.destroyed).toBe(true);
    });
  }
});
