// The control plane serves web/dist. Build it when the sources are newer, so
// `npm start` always shows the current UI and a second start costs nothing.

import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './settings.ts';

const webDir = path.join(repoRoot, 'web');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

export function webBuildIsStale(): boolean {
  const built = path.join(webDir, 'dist', 'index.html');
  return !existsSync(built) || statSync(built).mtimeMs < newestMtime(webDir);
}

export async function ensureWebBuilt(log: (line: string) => void): Promise<void> {
  if (!webBuildIsStale()) return;
  log('building the UI (web/ changed since the last build)…');
  const { build } = await import('vite');
  await build({ root: webDir, configFile: path.join(webDir, 'vite.config.ts'), logLevel: 'warn' });
}
