/** The echo upstreams `ingress-rules/` points at: (Service, port on 127.0.0.1). */
export const UPSTREAMS: [string, number][] = [
  ["web", 9101],
  ["web", 9102],
  ["api", 9103],
  ["docs", 9104],
  ["fallback", 9105],
  ["shop", 9106],
  ["shop", 9107],
  ["shop-admin", 9108],
  ["shop-canary", 9109],
];
