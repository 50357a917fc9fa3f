import { describe, expect, it } from "vitest";
import { backendKey, parseBackendKey, tlsBackendKey } from "../src/model/backendKey.js";

describe("backend keys", () => {
  it("parse back what backendKey and tlsBackendKey write", () => {
    expect(parseBackendKey(backendKey("shop", "web", 80))).toEqual({ key: "shop/web:80", namespace: "shop", service: "web", port: 80 });
    expect(parseBackendKey(backendKey("default", "api", "http"))).toEqual({ key: "default/api:http", namespace: "default", service: "api", port: "http" });
    const tls = tlsBackendKey("default/secure:443", { serverName: "api.internal", secret: "default/ca", ca: "PEM" });
    expect(tls).toBe("default/secure:443+https(name=api.internal,secret=default/ca,verify)");
    expect(parseBackendKey(tls)).toMatchObject({ namespace: "default", service: "secure", port: 443 });
  });

  it("refuse what is not namespace/service:port", () => {
    for (const bad of ["", "web:80", "default/web", "a/b/c:80", "default/web:80:81", "default/web:80+http"]) expect(parseBackendKey(bad), bad).toBeUndefined();
  });
});
