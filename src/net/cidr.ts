import { BlockList, isIP } from "node:net";

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

/** A BlockList of CIDRs already checked with `splitCidr` (a malformed one is skipped). */
export function blockListOf(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const parts = splitCidr(c);
    if (parts) list.addSubnet(parts.address, parts.prefix, parts.family);
  }
  return list;
}

/** Whether `address` (an IP as the socket or X-Forwarded-For gave it) is in `list`. */
export function inBlockList(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 6 ? "ipv6" : "ipv4");
}
