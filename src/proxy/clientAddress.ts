import { isIP, type BlockList } from "node:net";
import { blockListOf, inBlockList, splitCidr } from "../net/cidr.js";

export { splitCidr };

/**
 * Who the client is, for affinity and logs. The socket's peer, unless that peer is a
 * proxy inside `--trust-proxy`: then the nearest X-Forwarded-For address that is not
 * itself a trusted proxy (read from the right, as nginx's real_ip_recursive does).
 * An X-Forwarded-For from anyone else is never believed.
 */
export class ClientAddressResolver {
  private readonly trusted: BlockList | undefined;

  /** `cidrs`: `10.0.0.0/8`, `127.0.0.1`, `::1/128`… (validated by `parseCidrs`). */
  constructor(cidrs: readonly string[]) {
    if (cidrs.length > 0) this.trusted = blockListOf(cidrs);
  }

  resolve(peer: string, forwardedFor: string | string[] | undefined): string {
    if (!this.trusted || forwardedFor === undefined || !this.isTrusted(peer)) return peer;
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(",") : forwardedFor).split(",").map((h) => h.trim());
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      if (isIP(hop) === 0) return peer; // a malformed chain is not evidence of anything
      if (!this.isTrusted(hop)) return hop;
    }
    return hops[0] && isIP(hops[0]) !== 0 ? hops[0] : peer;
  }

  private isTrusted(address: string): boolean {
    return inBlockList(this.trusted!, address);
  }
}
