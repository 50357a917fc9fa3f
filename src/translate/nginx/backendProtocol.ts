import { createSecureContext } from "node:tls";
import { NGINX_PREFIX } from "../../config/nginx/annotationReader.js";
import { secretField } from "../../config/certificates.js";
import type { NginxSettings } from "../../config/nginx/settings.js";
import type { Loaded, ResourceSet } from "../../config/resources.js";
import { http2BackendKey, serviceUpstreamKey, tlsBackendKey, type BackendRef, type UpstreamTls } from "../../model/backendKey.js";
import type { RouteContext } from "./routeContext.js";

/**
 * ingress-nginx docs, "Backend Protocol" and "Backend Certificate Authentication": how
 * an Ingress's upstreams are spoken to, once per Ingress. The proxy-ssl-secret gives the
 * CA verified against (`ca.crt`, with proxy-ssl-verify "on") and a client certificate
 * (`tls.crt`/`tls.key`) when it has one. A Secret that is missing or unusable is an error
 * here, and the backends answer 503 (as ingress-nginx's denied location): never a
 * connection made without the verification asked for.
 */
export function upstreamTls(ing: Loaded<"Ingress">, settings: NginxSettings, resources: ResourceSet, issue: RouteContext["issue"]): UpstreamTls | undefined {
  if (settings.upstreamProtocol !== "HTTPS" && settings.upstreamProtocol !== "GRPCS") return undefined;
  const tls: UpstreamTls = {};
  if (settings.proxySslName !== undefined) tls.serverName = settings.proxySslName;
  const ref = settings.proxySslSecret;
  if (!ref) return tls;
  const namespace = ref.namespace ?? ing.namespace;
  const id = `${namespace}/${ref.name}`;
  tls.secret = id;
  const unusable = (problem: string): UpstreamTls => {
    issue("error", "proxy-ssl-secret", ["metadata", "annotations", `${NGINX_PREFIX}proxy-ssl-secret`], `${problem}: requests to this Ingress's backends get 503 until it is fixed`);
    tls.unusable = `proxy-ssl-secret ${id}: ${problem}`;
    return tls;
  };
  const secret = resources.secrets.find((s) => s.namespace === namespace && s.name === ref.name);
  if (!secret) return unusable(`Secret ${id} (proxy-ssl-secret) does not exist`);
  const ca = secretField(secret.object, "ca.crt");
  const cert = secretField(secret.object, "tls.crt");
  const key = secretField(secret.object, "tls.key");
  if (settings.proxySslVerify && ca === undefined) return unusable(`Secret ${id} has no ca.crt to verify the upstream's certificate against (proxy-ssl-verify "on")`);
  if ((cert === undefined) !== (key === undefined)) return unusable(`Secret ${id} has ${cert === undefined ? "tls.key but no tls.crt" : "tls.crt but no tls.key"}`);
  if (settings.proxySslVerify) tls.ca = ca;
  if (cert !== undefined && key !== undefined) {
    tls.cert = cert;
    tls.key = key;
  }
  try {
    createSecureContext({ ...(tls.ca !== undefined ? { ca: tls.ca } : {}), ...(tls.cert !== undefined ? { cert: tls.cert, key: tls.key } : {}) });
  } catch (err) {
    delete tls.ca;
    delete tls.cert;
    delete tls.key;
    return unusable(`Secret ${id} cannot be used for TLS to the upstream (${(err as Error).message})`);
  }
  return tls;
}

/**
 * `ref` spoken to over `tls`, reached at the Service's cluster IP (`serviceUpstream`) and,
 * for gRPC, over HTTP/2: each its own key, so its own pool; or as is for plain HTTP/1.1 to
 * the endpoints.
 */
export function withUpstreamProtocol(ref: BackendRef, tls: UpstreamTls | undefined, settings: NginxSettings, serviceUpstream = false): BackendRef {
  const http2 = settings.upstreamProtocol === "GRPC" || settings.upstreamProtocol === "GRPCS";
  if (!tls && !http2 && !serviceUpstream) return ref;
  let key = tls ? tlsBackendKey(ref.key, tls) : ref.key;
  if (serviceUpstream) key = serviceUpstreamKey(key);
  return { ...ref, key: http2 ? http2BackendKey(key) : key, ...(tls ? { tls } : {}), ...(http2 ? { http2: true } : {}), ...(serviceUpstream ? { serviceUpstream: true } : {}) };
}
