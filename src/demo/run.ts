import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startEchoServer } from "./echoServer.js";
import { UPSTREAMS } from "./upstreams.js";

/**
 * `npm run demo`: starts the demo upstreams that `ingress-rules/` points at, then
 * ingressd itself on that folder (extra arguments are passed on to ingressd).
 */

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const servers = await Promise.all(UPSTREAMS.map(([name, port]) => startEchoServer(name, port)));
process.stdout.write(`demo upstreams: ${UPSTREAMS.map(([n, p]) => `${n}@127.0.0.1:${p}`).join(", ")}\n`);
process.stdout.write(
  "try: curl http://web.localhost:8080/  curl http://api.localhost:8080/v1/users  curl http://shop.localhost:8080/\n" +
    "     curl http://legacy.localhost:8080/old/users (rewrite)  curl -H 'X-Canary: always' http://shop.localhost:8080/ (canary)\n" +
    "     curl http://127.0.0.1:30080/ (NodePort)  curl http://127.0.0.1:9090/api/config\n",
);

const child = spawn(
  process.execPath,
  [join(root, "dist", "cli.js"), "--rules", join(root, "ingress-rules"), "--log-format", "pretty", ...process.argv.slice(2)],
  { stdio: "inherit" },
);
const stop = (signal: NodeJS.Signals): void => {
  child.kill(signal);
};
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
child.on("exit", (code) => {
  for (const s of servers) s.close();
  process.exit(code ?? 0);
});
