// Locating the system programs the lab drives. Debian puts nginx in /usr/sbin,
// which is not on every user's PATH; Homebrew uses /opt/homebrew or /usr/local.

import { accessSync, constants, readdirSync } from 'node:fs';
import path from 'node:path';
import { LabError } from './errors.ts';

const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/opt/homebrew/bin', '/opt/homebrew/sbin'];

/**
 * Debian keeps PostgreSQL's server programs (initdb, postgres, pg_ctl) in
 * /usr/lib/postgresql/<major>/bin, off PATH; the newest major wins.
 */
function postgresDirs(): string[] {
  try {
    return readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a))
      .map((v) => `/usr/lib/postgresql/${v}/bin`);
  } catch {
    return [];
  }
}

export function findBinary(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...EXTRA_DIRS, ...postgresDirs()];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

const INSTALL_HINT: Record<string, string> = {
  'redis-server': 'install Redis: sudo apt-get install -y redis-server   (macOS: brew install redis)',
  nginx: 'install nginx: sudo apt-get install -y nginx   (macOS: brew install nginx)',
  haproxy: 'install HAProxy: sudo apt-get install -y haproxy   (macOS: brew install haproxy)',
  'redis-cli': 'install Redis: sudo apt-get install -y redis-server   (macOS: brew install redis)',
  initdb: 'install PostgreSQL: sudo apt-get install -y postgresql   (macOS: brew install postgresql@16)',
  postgres: 'install PostgreSQL: sudo apt-get install -y postgresql   (macOS: brew install postgresql@16)',
  pg_ctl: 'install PostgreSQL: sudo apt-get install -y postgresql   (macOS: brew install postgresql@16)',
  chromium: 'install Chromium: sudo apt-get install -y chromium   (or set CHROMIUM_PATH)',
};

export function requireBinary(name: string): string {
  const found = findBinary(name);
  if (!found)
    throw new LabError(
      `${name} was not found on PATH or in ${EXTRA_DIRS.join(', ')}`,
      INSTALL_HINT[name] ?? `install ${name}`,
    );
  return found;
}
