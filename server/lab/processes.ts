// Starting and ending the processes the lab owns, by PID, and only those.
// Before signalling a recorded PID we check that it is still the process we
// started (PIDs get reused), by looking for a marker in its command line.

import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { LabError } from './errors.ts';

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function commandLine(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    try {
      return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).trim() || null;
    } catch {
      return null;
    }
  }
}

/** True when `pid` is alive and its command line contains `marker`. */
export function isOurs(pid: number, marker: string): boolean {
  if (!isAlive(pid)) return false;
  const cmd = commandLine(pid);
  return cmd?.includes(marker) === true;
}

/**
 * Start a long-running program in its own process group, logging to a file.
 * Its own group means a Ctrl-C in the terminal reaches the lab, which then
 * stops everything in order, rather than every process at once.
 */
export async function spawnService(bin: string, args: string[], logFile: string, what: string): Promise<number> {
  const log = openSync(logFile, 'a');
  const child = spawn(bin, args, { detached: true, stdio: ['ignore', log, log] });
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('error', (err) => reject(new LabError(`could not start ${what} (${bin}): ${err.message}`)));
    child.once('spawn', () => resolve(child.pid!));
  });
  child.unref();
  return pid;
}

/** Signal a process we own and wait until it is gone; escalate to SIGKILL after `graceMs`. */
export async function stopProcess(pid: number, marker: string, graceMs = 3000): Promise<boolean> {
  if (!isOurs(pid, marker)) return false;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return false;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(20);
  if (isAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    while (isAlive(pid)) await sleep(20);
  }
  return true;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll `probe` until it returns a value, or fail with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new LabError(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}
