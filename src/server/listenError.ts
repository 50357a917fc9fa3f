/** Which listener failed to open: each has its own flag and variable to change. */
export type ListenerName = "http" | "https" | "admin";

const PORT_SETTING: Record<ListenerName, string> = {
  http: "--http-port or INGRESSD_HTTP_PORT",
  https: "--https-port or INGRESSD_HTTPS_PORT",
  admin: "--admin-port or INGRESSD_ADMIN_PORT",
};
const ADDRESS_SETTING: Record<ListenerName, string> = {
  http: "--bind or INGRESSD_BIND",
  https: "--bind or INGRESSD_BIND",
  admin: "--admin-bind or INGRESSD_ADMIN_BIND",
};

/**
 * A listener that could not open, as one line that names the address and what to change
 * (the CLI prints it without a stack trace: the cause is the machine, not ingressd).
 */
export class ListenError extends Error {
  constructor(
    readonly listener: ListenerName,
    readonly address: string,
    readonly port: number,
    readonly code: string | undefined,
  ) {
    const where = `${address.includes(":") ? `[${address}]` : address}:${port}`;
    const reason =
      code === "EADDRINUSE" ? "address already in use" : code === "EACCES" ? "permission denied" : code === "EADDRNOTAVAIL" ? "address not available on this machine" : (code ?? "unknown error");
    // An address the machine does not have is fixed by another address, anything else by another port.
    const setting = code === "EADDRNOTAVAIL" ? ADDRESS_SETTING[listener] : PORT_SETTING[listener];
    super(`cannot listen on ${where} (${reason}): choose another with ${setting}`);
    this.name = "ListenError";
  }
}
