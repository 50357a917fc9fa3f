import { createHash } from "node:crypto";
import { createSecureContext, type SecureContext } from "node:tls";
import type { Loaded, ResourceSet } from "../config/resources.js";
import { fieldPath, type ConfigIssue } from "../model/issues.js";
import { byPrecedence, isServedIngress, servedClasses, type ClasslessIngresses } from "../translate/ingressClass.js";
import { normalizeHost, wildcardKey } from "../model/host.js";
import { checkCertificatePair, secretField } from "../config/certificates.js";
import type { ServedListener } from "../translate/gateway/listeners.js";

/** A host of some Ingress's `spec.tls` (or a Gateway's HTTPS listener), and the certificate it is served with. */
export interface TlsHostEntry {
  /** As written: `app.example.com` or `*.example.com`; `*` for a Gateway listener without hostname. */
  host: string;
  /** Who asks for it: the Ingress's `namespace/name`, or `Gateway namespace/name listener <name>`. */
  ingress: string;
  /** `namespace/name` of the Secret serving it, when one is usable. */
  secret?: string;
  context?: SecureContext;
  notAfter?: Date;
}

/**
 * SNI → certificate, with the routing table's host rules (exact beats wildcard, a
 * wildcard covers one label; a Gateway API wildcard covers any depth, the most specific
 * first; a Gateway listener without hostname covers what nothing else does). A TLS host
 * without a usable Secret has no context: the local development CA issues it one on demand.
 */
export class TlsTable {
  constructor(
    private readonly exact: ReadonlyMap<string, TlsHostEntry>,
    private readonly wildcard: ReadonlyMap<string, TlsHostEntry>,
    /** Gateway API wildcards by domain, for names two or more labels below it. */
    private readonly suffix: ReadonlyMap<string, TlsHostEntry> = new Map(),
    /** A Gateway HTTPS listener without hostname: its certificate for every other name. */
    private readonly anyHost?: TlsHostEntry,
  ) {}

  lookup(servername: string): TlsHostEntry | undefined {
    const host = normalizeHost(servername);
    const hit = this.exact.get(host);
    if (hit) return hit;
    const key = wildcardKey(host);
    const wild = key === undefined ? undefined : this.wildcard.get(key);
    if (wild) return wild;
    if (this.suffix.size > 0 && key !== undefined) {
      for (let domain = wildcardKey(key); domain !== undefined; domain = wildcardKey(domain)) {
        const entry = this.suffix.get(domain);
        if (entry) return entry;
      }
    }
    return this.anyHost;
  }

  /** Whether `host` (a route's host as written) is a TLS host. */
  covers(host: string): boolean {
    if (host.startsWith("*.")) return this.wildcard.has(host.slice(2));
    return this.lookup(host) !== undefined;
  }

  get size(): number {
    return this.exact.size + this.wildcard.size + (this.anyHost ? 1 : 0);
  }

  entries(): TlsHostEntry[] {
    return [...this.exact.values(), ...this.wildcard.values(), ...(this.anyHost ? [this.anyHost] : [])];
  }

  static empty(): TlsTable {
    return new TlsTable(new Map(), new Map());
  }
}

/** Secure contexts by certificate+key content, reused across reloads (building one parses PEM). */
export type ContextCache = Map<string, { context: SecureContext; notAfter: Date }>;

export function compileTls(
  resources: ResourceSet,
  ingressClass: string,
  classless: ClasslessIngresses,
  cache: ContextCache,
  /** Served Gateway HTTPS listeners, after every Ingress (an Ingress's TLS host keeps its certificate). */
  gatewayListeners: readonly ServedListener[] = [],
): { table: TlsTable; issues: ConfigIssue[]; cache: ContextCache } {
  const issues: ConfigIssue[] = [];
  const secrets = new Map(resources.secrets.map((s) => [`${s.namespace}/${s.name}`, s]));
  const exact = new Map<string, TlsHostEntry>();
  const wildcard = new Map<string, TlsHostEntry>();
  const nextCache: ContextCache = new Map();

  const contextOf = (secret: Loaded<"Secret">): { context: SecureContext; notAfter: Date } | undefined => {
    const crt = secretField(secret.object, "tls.crt");
    const key = secretField(secret.object, "tls.key");
    if (crt === undefined || key === undefined) return undefined;
    const id = createHash("sha256").update(crt).update("\0").update(key).digest("hex");
    let entry = nextCache.get(id) ?? cache.get(id);
    if (!entry) {
      const check = checkCertificatePair(crt, key);
      if (!check.ok) return undefined; // reported when the Secret was validated
      entry = { context: createSecureContext({ cert: crt, key }), notAfter: check.pair.notAfter };
    }
    nextCache.set(id, entry);
    return entry;
  };

  const classes = servedClasses(resources, ingressClass, classless);
  for (const ing of byPrecedence(resources.ingresses)) {
    if (!isServedIngress(ing, classes)) continue;
    (ing.object.spec?.tls ?? []).forEach((tls, i) => {
      const at = ["spec", "tls", i];
      let secretId: string | undefined;
      let ctx: { context: SecureContext; notAfter: Date } | undefined;
      if (tls.secretName) {
        secretId = `${ing.namespace}/${tls.secretName}`;
        const secret = secrets.get(secretId);
        if (!secret || secret.object.type !== "kubernetes.io/tls") {
          issues.push({
            severity: "warning",
            code: "unknown-secret",
            message: `${secret ? `Secret ${secretId} is not of type kubernetes.io/tls` : `Secret ${secretId} is not defined (or is invalid)`}; its hosts get a certificate from the local development CA`,
            field: fieldPath([...at, "secretName"]),
            resource: ing.id,
            ...ing.locate([...at, "secretName"]),
          });
        } else {
          ctx = contextOf(secret);
        }
      }
      for (const raw of tls.hosts ?? []) {
        const host = raw.toLowerCase();
        const [map, key] = host.startsWith("*.") ? [wildcard, host.slice(2)] : [exact, host];
        const existing = map.get(key);
        if (existing) {
          if (existing.secret !== (ctx ? secretId : undefined)) {
            issues.push({
              severity: "warning",
              code: "duplicate-tls-host",
              message: `TLS host ${host} is already served by Ingress ${existing.ingress}${existing.secret ? ` with Secret ${existing.secret}` : ""}, which takes precedence`,
              field: fieldPath([...at, "hosts"]),
              resource: ing.id,
              ...ing.locate([...at, "hosts"]),
            });
          }
          continue;
        }
        const entry: TlsHostEntry = { host, ingress: `${ing.namespace}/${ing.name}` };
        if (ctx && secretId) {
          entry.secret = secretId;
          entry.context = ctx.context;
          entry.notAfter = ctx.notAfter;
        }
        map.set(key, entry);
      }
    });
  }
  const suffix = new Map<string, TlsHostEntry>();
  let anyHost: TlsHostEntry | undefined;
  for (const l of gatewayListeners) {
    const secret = l.certificates[0]!;
    const ctx = contextOf(secret);
    const host = l.hostname ?? "*";
    const entry: TlsHostEntry = { host, ingress: `Gateway ${l.gateway.namespace}/${l.gateway.name} listener ${l.name}`, secret: `${secret.namespace}/${secret.name}` };
    if (ctx) Object.assign(entry, { context: ctx.context, notAfter: ctx.notAfter });
    if (l.hostname === undefined) anyHost ??= entry;
    else if (host.startsWith("*.")) {
      if (!wildcard.has(host.slice(2))) wildcard.set(host.slice(2), entry);
      if (!suffix.has(host.slice(2))) suffix.set(host.slice(2), entry);
    } else if (!exact.has(host)) exact.set(host, entry);
  }
  return { table: new TlsTable(exact, wildcard, suffix, anyHost), issues, cache: nextCache };
}
