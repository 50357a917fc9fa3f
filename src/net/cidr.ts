import { BlockList, isIP } from "node:net";

/**
 * `10.0.0.0/8` → parts; a bare address is a /32 (/128), as nginx's allow/deny and
 * ingress-nginx's source ranges take it. Host bits are kept (a BlockList ignores them,
 * so `10.1.2.3/8` is `10.0.0.0/8`). Undefined when malformed, and for an address with
 * a zone (`fe80::1%eth0`), which names no range.
 */
export function splitCidr(cidr: string): { address: string; prefix: number; family: "ipv4" | "ipv6" } | undefined {
  const [address = "", bits] = cidr.trim().split("/");
  const v = isIP(address);
  if (v === 0 || address.includes("%")) return undefined;
  const max = v === 6 ? 128 : 32;
  const prefix = bits === undefined ? max : /^\d+$/.test(bits) ? Number(bits) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return undefined;
  return { address, prefix, family: v === 6 ? "ipv6" : "ipv4" };
}

/** A BlockList of CIDRs each checked with `splitCidr` (a malformed one is skipped). */
export function blockListOf(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const parts = splitCidr(c);
    if (parts) list.addSubnet(parts.address, parts.prefix, parts.family);
  }
  return list;
}

/** Whether `address` is an IP address inside `list`. */
export function inBlockList(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 6 ? "ipv6" : "ipv4");
}

const LOOPBACK = blockListOf(["127.0.0.0/8", "::1"]);

/** Whether a peer address is this machine's loopback (127.0.0.0/8, ::1, or v4-mapped 127.x). */
export function isLoopback(address: string): boolean {
  return inBlockList(LOOPBACK, address.startsWith("::ffff:") ? address.slice(7) : address);
}
