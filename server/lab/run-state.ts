// What the lab has started, written to <runDir>/lab.json every time that
// changes. If the lab dies (even kill -9), `lab down` or the next `lab up`
// reads this file and ends exactly those processes, by PID.

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Ports } from './settings.ts';

export interface RunState {
  labPid: number;
  /** Per-run secret for the control API and the telemetry channel. */
  token: string;
  /** Also the Redis key prefix, so two runs never share channels. */
  runId: string;
  startedAt: number;
  ports: Ports;
  stage: string | null;
  redis: { pid: number; port: number } | null;
  nginx: { pid: number; port: number } | null;
  pm2Home: string;
  /** serverId → pid, in case PM2's daemon dies before its instances do. */
  instancePids: Record<string, number>;
}

export const stateFile = (runDir: string): string => path.join(runDir, 'lab.json');

export function readRunState(runDir: string): RunState | null {
  const file = stateFile(runDir);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RunState;
  } catch {
    return null; // a torn write from a crash: nothing trustworthy to act on
  }
}

export function writeRunState(runDir: string, state: RunState): void {
  mkdirSync(runDir, { recursive: true });
  const file = stateFile(runDir);
  // Write-then-rename, so a crash never leaves half a file.
  writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2), { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}
