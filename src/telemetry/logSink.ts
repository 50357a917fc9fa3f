import pino from "pino";

/** Access-log lines are gathered into chunks of this size before a write. */
const CHUNK_BYTES = 64 * 1024;
/** Longest an access-log line waits in a chunk. */
const FLUSH_MS = 50;

/** The part of SonicBoom (pino's destination) used here, in its `contentMode: "buffer"`. */
interface BufferDestination {
  write(data: Buffer): boolean;
  flushSync(): void;
  /** Bytes that reached the file descriptor. */
  on(event: "write", listener: (n: number) => void): void;
  /** Everything handed over is written. */
  once(event: "drain" | "error", listener: (err?: Error) => void): void;
  off(event: "drain" | "error", listener: (err?: Error) => void): void;
}

/**
 * Where the JSON log goes: stdout, through pino's own asynchronous destination.
 *
 * Access-log lines are encoded straight into a 64 KiB chunk (`reserve`, `commit`),
 * off the JS heap. Kept as strings until a batched write (as they were first), the
 * lines of one batch survived the young-generation collections in between and were
 * copied by each: measured here, that alone was about 3 µs per request. A chunk is
 * written when full or 50 ms after its first line, so a quiet proxy's lines still
 * appear at once (`kubectl logs`, `docker logs`).
 *
 * pino's own lines (reloads, errors) are written at once, after any access lines
 * waiting in the chunk, so lines keep their order.
 */
export class LogSink {
  private readonly out: BufferDestination;
  private chunk = Buffer.allocUnsafeSlow(CHUNK_BYTES);
  private used = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Bytes handed to the destination and not yet written. */
  private unwritten = 0;

  constructor(fd = 1) {
    this.out = pino.destination({ dest: fd, sync: false, minLength: 0, contentMode: "buffer" }) as unknown as BufferDestination;
    this.out.on("write", (n) => {
      this.unwritten = Math.max(0, this.unwritten - n);
    });
    // pino flushes its destination at exit; the chunk must reach it first.
    process.once("exit", () => this.flushSync());
  }

  /** pino's stream interface: one formatted line. */
  write(line: string): boolean {
    this.handOver();
    return this.send(Buffer.from(line));
  }

  /**
   * Room for a line of at most `maxBytes`: write it into the returned buffer from
   * `offset`, then `commit` where it ends. (A line larger than a chunk gets a buffer
   * of its own.)
   */
  reserve(maxBytes: number): Buffer {
    if (this.used + maxBytes > this.chunk.length) {
      this.handOver();
      if (maxBytes > CHUNK_BYTES) this.chunk = Buffer.allocUnsafeSlow(maxBytes);
    }
    return this.chunk;
  }

  /** Where the next line starts in the buffer `reserve` returned. */
  get offset(): number {
    return this.used;
  }

  commit(end: number): void {
    this.used = end;
    if (this.chunk.length > CHUNK_BYTES) this.handOver();
    else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.handOver();
      }, FLUSH_MS);
      this.timer.unref();
    }
  }

  /** pino's `logger.flush()`: `cb` runs once everything logged so far is written. */
  flush(cb?: (err?: Error) => unknown): void {
    this.handOver();
    if (!cb) return;
    if (this.unwritten === 0) {
      process.nextTick(cb);
      return;
    }
    const onDrain = (): void => {
      this.out.off("error", onError);
      cb();
    };
    const onError = (err?: Error): void => {
      this.out.off("drain", onDrain);
      cb(err);
    };
    this.out.once("drain", onDrain);
    this.out.once("error", onError);
  }

  flushSync(): void {
    this.handOver();
    try {
      this.out.flushSync();
    } catch {
      // not open yet, or stdout is gone: nothing more can be done
    }
  }

  /** Gives the filled part of the chunk to the destination and starts a new chunk. */
  private handOver(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.used === 0) return;
    this.send(this.chunk.subarray(0, this.used));
    this.chunk = Buffer.allocUnsafeSlow(CHUNK_BYTES);
    this.used = 0;
  }

  private send(data: Buffer): boolean {
    this.unwritten += data.length;
    return this.out.write(data);
  }
}
