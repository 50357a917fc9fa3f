import { bench, describe } from "vitest";
import { LimitZone } from "../src/proxy/limitZone.js";

/** The per-request cost of limit-rps / limit-connections (ingress-nginx § Rate Limiting). */
describe("LimitZone.admit", () => {
  const one = new LimitZone({ rps: 1_000_000, burstMultiplier: 5 });
  let t = 0;
  bench("one client, limit-rps", () => {
    one.admit("10.0.0.1", (t += 0.01));
  });

  const many = new LimitZone({ rps: 10, rpm: 600, connections: 10, burstMultiplier: 5 });
  const clients = Array.from({ length: 10_000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
  let i = 0;
  let now = 0;
  bench("10 000 clients in turn, limit-rps + limit-rpm + limit-connections", () => {
    const admitted = many.admit(clients[i++ % clients.length]!, (now += 0.01));
    if (admitted && typeof admitted === "object") many.release(admitted);
  });
});
