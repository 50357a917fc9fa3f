import { describe, expect, it } from "vitest";
import { connectionTokens, hasDuplicateHost, replaceHeaders } from "../src/proxy/headers.js";

// The pure pieces of header building. What reaches an upstream and a client through a
// running proxy (hop-by-hop removal, Connection tokens, X-Forwarded-*, two Host headers)
// is tested in test/proxy.test.ts, test/forwarded.test.ts and test/duplicate-host.test.ts.

describe("replaceHeaders (a route's header changes: upstream-vhost's Host, X-Forwarded-Prefix)", () => {
  const upstream = ["Host", "app.example.com", "Accept", "*/*", "x-forwarded-prefix", "/old", "X-Forwarded-Prefix", "/older", "x-real-ip", "10.0.0.5"];

  it("replaces every header of a set name, whatever its case, and adds the new value at the end", () => {
    expect(replaceHeaders(upstream, [["X-Forwarded-Prefix", "/app"]])).toEqual(["Host", "app.example.com", "Accept", "*/*", "x-real-ip", "10.0.0.5", "X-Forwarded-Prefix", "/app"]);
  });

  it("sets Host, and adds a header the request did not have", () => {
    expect(replaceHeaders(["Host", "a", "Accept", "*/*"], [["host", "app.internal.svc"], ["x-added", "1"]])).toEqual(["Accept", "*/*", "host", "app.internal.svc", "x-added", "1"]);
  });

  it("leaves the given list as it was", () => {
    const copy = [...upstream];
    replaceHeaders(upstream, [["host", "b"]]);
    expect(upstream).toEqual(copy);
  });
});

describe("connectionTokens (RFC 9110 §7.6.1: headers named in Connection are hop-by-hop)", () => {
  it("keep-alive, close or no Connection header: nothing extra", () => {
    expect(connectionTokens(undefined)).toBeUndefined();
    expect(connectionTokens("keep-alive")).toBeUndefined();
    expect(connectionTokens("close")).toBeUndefined();
    expect(connectionTokens("Keep-Alive, close")).toBeUndefined(); // both already hop-by-hop
  });

  it("other tokens, lower-cased and trimmed, from one value or several", () => {
    expect(connectionTokens("Keep-Alive, X-Trace-Hop ,Upgrade")).toEqual(new Set(["x-trace-hop"]));
    expect(connectionTokens(["keep-alive", " X-One,x-TWO"])).toEqual(new Set(["x-one", "x-two"]));
  });
});

describe("hasDuplicateHost (RFC 9112 §3.2)", () => {
  it.each([
    [["Host", "a"], false],
    [["Hosts", "a", "Host", "a", "Ghost", "b"], false],
    [["Host", "a", "Accept", "*/*", "host", "a"], true],
    [["HOST", "a", "hOsT", "b"], true],
  ])("%j → %s", (raw, expected) => {
    expect(hasDuplicateHost(raw)).toBe(expected);
  });
});
