import { existsSync } from "node:fs";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest, type RequestOptions } from "node:https";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";

/** How to reach the API server: `--kubeconfig`/`KUBECONFIG` files, else in-cluster, else ~/.kube/config. */
export interface KubeConnection {
  /** Kubeconfig files (`--kubeconfig`, else `KUBECONFIG`: a list on the path delimiter), merged as kubectl merges them. */
  kubeconfig?: string;
  /** In a pod (KUBERNETES_SERVICE_HOST set): its service account. */
  inCluster: boolean;
  /** Where the service account's files are, below this root (tests; default the pod's own /var/run/secrets/…). */
  serviceAccountRoot?: string;
  /** Where ~/.kube/config is looked for (HOME). */
  home?: string;
}

/** An API server's answer other than 2xx, with its Status reason (`NotFound`, `Conflict`, `Expired`…). */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** Loads the client configuration the way kubectl and client-go find it, and says which one when none is found. */
export function loadKubeConfig(connection: KubeConnection): KubeConfig {
  const kc = new KubeConfig();
  const files = connection.kubeconfig?.split(delimiter).filter((f) => f !== "") ?? [];
  if (files.length > 0) {
    kc.loadFromFile(files[0]!);
    for (const file of files.slice(1)) {
      const more = new KubeConfig();
      more.loadFromFile(file);
      kc.mergeConfig(more, true);
    }
  } else if (connection.inCluster) {
    kc.loadFromCluster(connection.serviceAccountRoot);
  } else {
    const home = join(connection.home ?? homedir(), ".kube", "config");
    if (!existsSync(home)) {
      throw new Error(`no Kubernetes API server to read: not in a pod (KUBERNETES_SERVICE_HOST is unset), no --kubeconfig or KUBECONFIG, and no ${home}`);
    }
    kc.loadFromFile(home);
  }
  if (!kc.getCurrentCluster()) throw new Error(`the kubeconfig's current context (${kc.getCurrentContext() || "none"}) names no cluster`);
  return kc;
}

/** Requests other than watches give up after this long: the API server answers in well under a second. */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Plain JSON requests to the API server with the kubeconfig's credentials (client
 * certificates, bearer tokens, exec and auth-provider plugins, applied by client-node
 * on every request, so rotated tokens are picked up). Objects come back exactly as the
 * API server sends them, not through client-node's typed models, so a list's items and a
 * watch's objects have one shape.
 */
export class KubeClient {
  readonly server: string;

  constructor(readonly config: KubeConfig) {
    this.server = config.getCurrentCluster()!.server.replace(/\/+$/, "");
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }

  /** `body` is sent as JSON, as `contentType` (a merge patch's `application/merge-patch+json`, say). */
  async request<T>(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<T> {
    const url = new URL(this.server + path);
    const options: RequestOptions = { method, headers: { Accept: "application/json" }, timeout: REQUEST_TIMEOUT_MS };
    await this.config.applyToHTTPSOptions(options);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    if (payload) Object.assign(options.headers!, { "Content-Type": contentType, "Content-Length": String(payload.length) });
    const response = await new Promise<{ res: IncomingMessage; text: string }>((resolve, reject) => {
      const send = url.protocol === "http:" ? httpRequest : httpsRequest;
      const req = send(url, options, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ res, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      });
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer from ${this.server} within ${REQUEST_TIMEOUT_MS / 1000} s`)));
      req.on("error", reject);
      req.end(payload);
    });
    const { res, text } = response;
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return (text === "" ? undefined : JSON.parse(text)) as T;
    let reason = res.statusMessage ?? "";
    let message = `${method} ${path}: ${status} ${reason}`;
    try {
      const s = JSON.parse(text) as { reason?: string; message?: string };
      reason = s.reason ?? reason;
      if (s.message) message = `${method} ${path}: ${s.message}`;
    } catch {
      // Not a Status body (a proxy in between): the status line says enough.
    }
    throw new KubeApiError(status, reason, message);
  }
}
