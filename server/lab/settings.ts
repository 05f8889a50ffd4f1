// Where the lab runs: ports and its private run directory. Defaults are the
// contract's (the design document's port table); each can be overridden, and tests pick free ones.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabError } from './errors.ts';
import type { SourceMode } from './sources.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Ports {
  ui: number;
  nginx: number;
  /** s1 listens on instanceBase, s2 on instanceBase + 1, … */
  instanceBase: number;
  redis: number;
  /** The PostgreSQL the lab starts for the postgres-adapter stage. */
  postgres: number;
  /** Redis Cluster nodes: redisClusterBase … redisClusterBase + 5 (3 masters, 3 replicas). */
  redisClusterBase: number;
}

export interface LabSettings {
  ports: Ports;
  /** Private folder for pid files, rendered configs, logs and PM2_HOME. */
  runDir: string;
  /** A Redis the learner chose (REDIS_URL). Without it, the lab runs its own. */
  externalRedisUrl: string | null;
  /** A PostgreSQL the learner chose (DATABASE_URL). Without it, the lab runs its own. */
  externalDatabaseUrl: string | null;
  lessonsDir: string;
  /**
   * How fleet clients take distinct source addresses: 'bind' binds 127.0.N.1
   * (Linux routes all of 127/8 to loopback), 'header' sends X-Forwarded-For
   * for nginx's realip instead (macOS has only 127.0.0.1), 'auto' picks.
   */
  fleetSources: 'auto' | 'bind' | 'header';
  /**
   * Which version of the learner-editable files the lab runs: the working
   * tree (a learner's lab), or the committed lab (its own tests; see sources.ts).
   */
  sources: SourceMode;
}

export const defaultPorts: Ports = {
  ui: 4000,
  nginx: 8080,
  instanceBase: 3001,
  redis: 6390,
  postgres: 5440,
  redisClusterBase: 7001,
};

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): LabSettings {
  const port = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 65535) {
      throw new LabError(`${name} must be a port number (1-65535), got "${raw}"`, `unset it, or set ${name}=<port>`);
    }
    return n;
  };
  return {
    ports: {
      ui: port('LAB_UI_PORT', defaultPorts.ui),
      nginx: port('LAB_NGINX_PORT', defaultPorts.nginx),
      instanceBase: port('LAB_INSTANCE_BASE_PORT', defaultPorts.instanceBase),
      redis: port('LAB_REDIS_PORT', defaultPorts.redis),
      postgres: port('LAB_POSTGRES_PORT', defaultPorts.postgres),
      redisClusterBase: port('LAB_REDIS_CLUSTER_BASE_PORT', defaultPorts.redisClusterBase),
    },
    runDir: path.resolve(env.LAB_RUN_DIR || path.join(repoRoot, '.lab')),
    externalRedisUrl: env.REDIS_URL || null,
    externalDatabaseUrl: env.DATABASE_URL || null,
    lessonsDir: path.join(repoRoot, 'lessons'),
    fleetSources: oneOf(env.LAB_FLEET_SOURCES, ['auto', 'bind', 'header'] as const, 'auto', 'LAB_FLEET_SOURCES'),
    sources: oneOf(env.LAB_SOURCES, ['worktree', 'pristine'] as const, 'worktree', 'LAB_SOURCES'),
  };
}

function oneOf<T extends string>(raw: string | undefined, allowed: readonly T[], fallback: T, name: string): T {
  if (raw === undefined || raw === '') return fallback;
  if (!allowed.includes(raw as T)) throw new LabError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

export const instancePort = (ports: Ports, index: number): number => ports.instanceBase + index;
export const serverIdOf = (index: number): string => `s${index + 1}`;
