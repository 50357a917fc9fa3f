import type { Readable } from "node:stream";

/**
 * nginx's proxy_send_timeout for a streamed request body: `onStalled` runs once the
 * upstream has taken none of the body for `timeoutMs`. undici pauses the body when the
 * upstream connection's buffer is full and resumes it when it drains, so a pause that
 * lasts the timeout is a stalled send (a client slow to send pauses nothing: that is the
 * client body timeout's business). Returns a function that stops watching.
 */
export function watchSendStall(body: Readable, timeoutMs: number, onStalled: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const onPause = (): void => {
    timer ??= setTimeout(onStalled, timeoutMs);
  };
  const onResume = (): void => {
    clearTimeout(timer);
    timer = undefined;
  };
  body.on("pause", onPause);
  body.on("resume", onResume);
  return () => {
    onResume();
    body.off("pause", onPause);
    body.off("resume", onResume);
  };
}
