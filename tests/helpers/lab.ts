// Real labs for tests: real Redis, nginx, PM2 and instances, on ports picked
// at run time and in a private run directory, so tests never collide with a
// learner's lab or with each other.

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { io, type Socket, type ManagerOptions, type SocketOptions } from 'socket.io-client';
import { Lab } from '../../server/lab/lab.ts';
import { findFreePortRange } from '../../server/lab/ports.ts';
import { repoRoot, type LabSettings } from '../../server/lab/settings.ts';

/**
 * Run directories of this test process, removed when it exits, unless a lab
 * there was never brought down: then its lab.json is what `lab down` needs.
 */
const runDirs: string[] = [];
process.on('exit', () => {
  for (const dir of runDirs) if (!existsSync(path.join(dir, 'lab.json'))) rmSync(dir, { recursive: true, force: true });
});

export async function testSettings(): Promise<LabSettings> {
  const base = await findFreePortRange(20);
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'lab-test-'));
  runDirs.push(runDir);
  return {
    // s1…s9 on base + 4 … base + 12; Redis Cluster's six nodes on base + 14 … base + 19.
    ports: {
      ui: base,
      nginx: base + 1,
      redis: base + 2,
      postgres: base + 3,
      instanceBase: base + 4,
      redisClusterBase: base + 14,
    },
    runDir,
    externalRedisUrl: null,
    externalDatabaseUrl: null,
    lessonsDir: path.join(repoRoot, 'lessons'),
    fleetSources: 'auto',
    // The lab as committed: the tests never depend on what a learner has edited.
    sources: 'pristine',
  };
}

/**
 * A lessons folder holding one lesson with these stages, for tests that need
 * stages of their own (stages are data). It must define "start" and "scaled".
 */
export function lessonsWith(stages: object[], lesson: { begin?: string; target?: string } = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lessons-'));
  runDirs.push(dir);
  mkdirSync(path.join(dir, '01-test'));
  const data = {
    title: 'test stages',
    summary: 'stages for a test',
    stages,
    begin: lesson.begin ?? 'start',
    target: lesson.target ?? 'start',
    checks: [{ id: 'up', title: 'up', kind: 'instances', min: 1 }],
    hints: [],
    exercise: { task: 'none', files: [{ path: 'server/app/adapter.ts', start: 'start.ts' }] },
  };
  writeFileSync(path.join(dir, '01-test', 'start.ts'), '// a start file\n');
  writeFileSync(path.join(dir, '01-test', 'lesson.json'), JSON.stringify(data));
  return dir;
}

export async function startLab(stage: string, settings?: LabSettings): Promise<Lab> {
  return Lab.up(settings ?? (await testSettings()), stage);
}

/** Poll until `probe` returns something other than undefined/false. */
export async function until<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A plain socket.io-client, as a learner's script would open one; resolves on `welcome`. */
export async function connectClient(
  url: string,
  name: string,
  opts: Partial<ManagerOptions & SocketOptions> = {},
): Promise<{ socket: Socket; serverId: string }> {
  const socket = io(url, { forceNew: true, reconnection: false, auth: { name }, ...opts });
  const serverId = await new Promise<string>((resolve, reject) => {
    socket.once('welcome', (w: { serverId: string }) => resolve(w.serverId));
    socket.once('connect_error', (err) => reject(err));
    setTimeout(() => reject(new Error(`${name}: no welcome within 5 s`)), 5000);
  });
  return { socket, serverId };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
