// The browser of the e2e tests: Debian's Chromium (or the one E2E_CHROMIUM names), headless, driven by playwright-core.
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.E2E_CHROMIUM || "/usr/bin/chromium";
export const HAS_CHROMIUM = existsSync(CHROMIUM);

/** Launches it quietly: no sandbox (CI runs as root), no GPU, nothing of Chromium's own network traffic. */
export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
