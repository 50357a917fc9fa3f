import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A tiny upstream for the demo: answers every request with what it received, so
 * a user sees which Service and which replica a request reached, and the headers
 * ingressd added on the way.
 */
export function startEchoServer(name: string, port: number, host = "127.0.0.1"): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.stringify(
        {
          service: name,
          replica: `${host}:${(server.address() as AddressInfo).port}`,
          method: req.method,
          url: req.url,
          headers: req.headers,
          bodyBytes: Buffer.concat(chunks).length,
        },
        null,
        2,
      );
      res.writeHead(200, { "content-type": "application/json" });
      res.end(body + "\n");
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}
