/** `::ffff:127.0.0.1` → `127.0.0.1`: logs and affinity speak of the address the client has. */
export function peerAddress(remote: string | undefined): string {
  if (!remote) return "";
  return remote.startsWith("::ffff:") ? remote.slice(7) : remote;
}
