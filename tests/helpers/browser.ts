// Real Chromium for end-to-end tests: the system one where it exists (CI and
// Debian: /usr/bin/chromium, or CHROMIUM_PATH), else Playwright's own.

import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { findBinary } from '../../server/lab/binaries.ts';

export async function launchBrowser(): Promise<Browser> {
  const executablePath =
    process.env.CHROMIUM_PATH ?? findBinary('chromium') ?? findBinary('chromium-browser') ?? undefined;
  if (executablePath && !existsSync(executablePath)) throw new Error(`CHROMIUM_PATH=${executablePath} does not exist`);
  return chromium.launch({
    ...(executablePath ? { executablePath } : {}),
    // Headless in a sandbox-less container, and no calls home: this machine has no internet.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
