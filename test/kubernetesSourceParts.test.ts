import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { Backoff } from "../src/config/kubernetes/backoff.js";
import { objectOfPathName, objectPathName, objectText } from "../src/config/kubernetes/objectText.js";
import { secretReferences } from "../src/config/kubernetes/secretReferences.js";
import { WATCHED_KINDS, collectionPath, objectPath, SECRETS } from "../src/config/kubernetes/watchedKinds.js";

const INGRESS = WATCHED_KINDS.find((k) => k.kind === "Ingress")!;

describe("a cluster object as configuration text", () => {
  const fromList = {
    metadata: {
      name: "web",
      namespace: "shop",
      uid: "1",
      resourceVersion: "41",
      generation: 2,
      managedFields: [{ manager: "kubectl" }],
      annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{...}", "nginx.ingress.kubernetes.io/rewrite-target": "/" },
    },
    spec: { rules: [{ host: "shop.example" }] },
    status: { loadBalancer: { ingress: [{ ip: "203.0.113.7" }] } },
  };

  it("fills in kind and apiVersion a list's items lack, and drops what changes without the configuration changing", () => {
    const doc = parse(objectText(INGRESS, fromList));
    expect(doc).toEqual({
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name: "web", namespace: "shop", uid: "1", generation: 2, annotations: { "nginx.ingress.kubernetes.io/rewrite-target": "/" } },
      spec: { rules: [{ host: "shop.example" }] },
    });
    expect(objectText(INGRESS, fromList).startsWith("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:")).toBe(true);
  });

  it("gives the same text when only status or resourceVersion changed (a status write is not a reload)", () => {
    const written = { ...fromList, metadata: { ...fromList.metadata, resourceVersion: "42" }, status: { loadBalancer: { ingress: [{ ip: "198.51.100.1" }] } } };
    expect(objectText(INGRESS, written)).toBe(objectText(INGRESS, fromList));
    const edited = { ...fromList, spec: { rules: [{ host: "other.example" }] } };
    expect(objectText(INGRESS, edited)).not.toBe(objectText(INGRESS, fromList));
  });

  it("names objects as paths and reads them back", () => {
    expect(objectPathName("Ingress", "shop", "web")).toBe("kubernetes:Ingress/shop/web");
    expect(objectPathName("IngressClass", undefined, "ingressd")).toBe("kubernetes:IngressClass/ingressd");
    expect(objectOfPathName("kubernetes:Ingress/shop/web")).toEqual({ kind: "Ingress", namespace: "shop", name: "web" });
    expect(objectOfPathName("kubernetes:IngressClass/ingressd")).toEqual({ kind: "IngressClass", name: "ingressd" });
    expect(objectOfPathName("/rules/web.yaml")).toBeUndefined();
  });

  it("builds the API paths of collections and objects", () => {
    expect(collectionPath(INGRESS)).toBe("/apis/networking.k8s.io/v1/ingresses");
    expect(collectionPath(INGRESS, "shop")).toBe("/apis/networking.k8s.io/v1/namespaces/shop/ingresses");
    expect(collectionPath(WATCHED_KINDS.find((k) => k.kind === "IngressClass")!, "shop")).toBe("/apis/networking.k8s.io/v1/ingressclasses");
    expect(objectPath(SECRETS, "shop", "tls")).toBe("/api/v1/namespaces/shop/secrets/tls");
  });
});

describe("the Secrets an object refers to", () => {
  it("an Ingress's TLS secrets and its auth-secret and proxy-ssl-secret annotations, in its namespace unless qualified", () => {
    const ing = {
      metadata: { namespace: "shop", annotations: { "nginx.ingress.kubernetes.io/auth-secret": "users", "nginx.ingress.kubernetes.io/proxy-ssl-secret": "certs/upstream-ca" } },
      spec: { tls: [{ secretName: "shop-tls" }, { hosts: ["x"] }, { secretName: "shop-tls" }] },
    };
    expect(secretReferences("Ingress", ing).sort()).toEqual(["certs/upstream-ca", "shop/shop-tls", "shop/users"]);
  });

  it("a Gateway's listener certificateRefs, across namespaces, and nothing that is not a Secret", () => {
    const gw = {
      metadata: { namespace: "infra" },
      spec: {
        listeners: [
          { name: "a", tls: { certificateRefs: [{ name: "wild" }, { kind: "Secret", name: "other", namespace: "certs" }] } },
          { name: "b", tls: { certificateRefs: [{ group: "example.com", kind: "Vault", name: "v" }] } },
          { name: "c" },
        ],
      },
    };
    expect(secretReferences("Gateway", gw).sort()).toEqual(["certs/other", "infra/wild"]);
  });

  it("ignores malformed references (a name is never invented)", () => {
    expect(secretReferences("Ingress", { metadata: { namespace: "shop", annotations: { "nginx.ingress.kubernetes.io/auth-secret": "a/b/c" } }, spec: { tls: [{ secretName: 7 }] } })).toEqual([]);
    expect(secretReferences("Service", { metadata: { namespace: "shop" }, spec: { tls: [{ secretName: "x" }] } })).toEqual([]);
  });
});

describe("reconnection backoff", () => {
  it("doubles from the first wait to the cap, stretched by up to as much again at random, and starts over after reset", () => {
    const low = new Backoff(800, 30_000, () => 0);
    expect([1, 2, 3, 4, 5, 6, 7].map(() => low.next())).toEqual([800, 1600, 3200, 6400, 12800, 25600, 30000]);
    low.reset();
    expect(low.next()).toBe(800);
    const high = new Backoff(800, 30_000, () => 0.999);
    expect(high.next()).toBe(1599);
  });
});
