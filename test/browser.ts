import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";
import { expect } from "vitest";

/** Debian's chromium (`apt-get install -y chromium`; `.ci/run` installs it), or CHROMIUM_PATH. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** A headless Chromium driven by playwright-core, quiet (no background networking, sync or QUIC); `args` added. */
export async function launchChromium(args: string[] = []): Promise<Browser> {
  expect(existsSync(CHROMIUM), `chromium not found at ${CHROMIUM}: apt-get install -y chromium`).toBe(true);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync", ...args],
  });
}
