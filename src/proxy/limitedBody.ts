import { Readable } from "node:stream";

/**
 * A request body without Content-Length (chunked), counted as it streams upstream:
 * `onOverLimit` runs once more than `max` bytes came, and nothing past the limit is
 * passed on. Nothing is buffered beyond the streams' own high-water marks: the request
 * is read only as the upstream takes the body (backpressure both ways), and not before
 * the upstream asks for it, so a request whose connection fails before it was sent has
 * not been read (it may still be sent elsewhere).
 */
export class LimitedBody extends Readable {
  private bytes = 0;
  private started = false;
  private readonly onData = (chunk: Buffer): void => {
    this.bytes += chunk.length;
    if (this.bytes > this.max) {
      this.detach();
      this.onOverLimit();
      return;
    }
    if (!this.push(chunk)) this.req.pause();
  };
  private readonly onEnd = (): void => {
    this.detach();
    this.push(null);
  };
  private readonly onError = (err: Error): void => {
    this.detach();
    this.destroy(err);
  };

  constructor(
    /** The request, or what reads it for the upstream beside a mirror's copies. */
    private readonly req: Readable,
    private readonly max: number,
    private readonly onOverLimit: () => void,
  ) {
    super();
  }

  override _read(): void {
    if (!this.started) {
      this.started = true;
      this.req.on("data", this.onData);
      this.req.once("end", this.onEnd);
      this.req.once("error", this.onError);
    }
    this.req.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    // The upstream request ended (aborted, failed): the client's request is not ours to destroy.
    this.detach();
    callback(err);
  }

  private detach(): void {
    this.req.off("data", this.onData);
    this.req.off("end", this.onEnd);
    this.req.off("error", this.onError);
    this.req.pause();
  }
}
