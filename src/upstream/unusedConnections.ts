import { Client, type buildConnector, type Dispatcher } from "undici";

/**
 * Pool `factory`: an undici Client that closes a connection the moment it opens with no
 * request to carry. undici 7 puts a request aborted on the wire (its client went away)
 * back in the queue and opens a new connection for it before it notices the abort
 * (nodejs/undici#5845, fixed in no release for Node 20): without this, every client that
 * leaves would leave a fresh idle connection at the upstream, for seconds, in place of the
 * one its abort closed.
 */
export function clientClosingUnusedConnections(origin: URL, opts: object): Dispatcher {
  // The Pool hands its clients its connector (with the connect timeout) as `connect`.
  const options = opts as Client.Options & { connect: buildConnector.connector };
  const connect = options.connect;
  const client: Client = new Client(origin, {
    ...options,
    connect: (target, callback) =>
      connect(target, (...result: buildConnector.CallbackArgs) => {
        callback(...result);
        // The queue is served synchronously on connect: still empty means nothing wanted this one.
        if (result[1] && client.stats.size === 0) result[1].destroy();
      }),
  });
  return client;
}
