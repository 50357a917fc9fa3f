import { BlockList, isIP } from "node:net";

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
    if (cidrs.length === 0) return;
    this.trusted = new BlockList();
    for (const c of cidrs) {
      const { address, prefix, family } = splitCidr(c)!;
      this.trusted.addSubnet(address, prefix, family);
    }
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
    const family = isIP(address);
    return family !== 0 && this.trusted!.check(address, family === 6 ? "ipv6" : "ipv4");
  }
}

/** `10.0.0.0/8` → parts; a bare address is a /32 (/128). Undefined when malformed. */
export function splitCidr(cidr: string): { address: string; prefix: number; family: "ipv4" | "ipv6" } | undefined {
  const [address = "", bits] = cidr.trim().split("/");
  const v = isIP(address);
  if (v === 0) return undefined;
  const max = v === 6 ? 128 : 32;
  const prefix = bits === undefined ? max : /^\d+$/.test(bits) ? Number(bits) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return undefined;
  return { address, prefix, family: v === 6 ? "ipv6" : "ipv4" };
}
