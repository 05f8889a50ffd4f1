// Your own end-to-end tests against the running lab, with Playwright's own
// runner: `npx playwright test -c tests/learner` (the lab runs them too, in
// lesson 2's and 5's checks). Start the lab first: `npm start`.

import { existsSync } from 'node:fs';
import { defineConfig } from '@playwright/test';

// Playwright cannot download its browser on every machine: use the system's
// Chromium where there is one (CHROMIUM_PATH, or Debian's), else its own.
const systemChromium = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (p): p is string => p !== undefined && existsSync(p),
);

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  timeout: 30_000,
  expect: { timeout: 3_000 },
  // Tests share the one lab: one at a time.
  workers: 1,
  reporter: [['list'], ['html', { open: 'never', outputFolder: '../../.lab/playwright-report' }]],
  outputDir: '../../.lab/playwright-results',
  use: {
    // A trace of every failed test: `npx playwright show-trace <file>` replays it step by step.
    trace: 'retain-on-failure',
    launchOptions: {
      ...(systemChromium ? { executablePath: systemChromium } : {}),
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    },
  },
});
