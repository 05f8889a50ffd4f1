// PM2 runs the chat instances, exactly as it would in production, but with
// the lab's own PM2_HOME so the lab never touches a learner's other PM2 apps.
// The app definitions come from ecosystem.config.js (see ecosystem.ts).

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LabError } from '../errors.ts';
import { isAlive, isOurs, stopProcess } from '../processes.ts';
import { repoRoot } from '../settings.ts';
import type { Pm2App } from './ecosystem.ts';

/** PM2's own kill_timeout (ms) when an app does not set one. */
export const PM2_DEFAULT_KILL_TIMEOUT = 1600;

export interface Pm2Process {
  /** The PM2 app's name. In fork mode, the instance's serverId. */
  name: string;
  /** PM2's id of this one process (a cluster-mode app has one per worker). */
  pmId: number;
  /** The instance this process is: its name, or in cluster mode s<NODE_APP_INSTANCE + 1>. */
  serverId: string;
  /** The script it runs. */
  script: string;
  pid: number;
  online: boolean;
  env: Record<string, string>;
  restarts: number;
  /** ms between PM2's SIGINT and its SIGKILL. */
  killTimeout: number;
  execMode: 'fork' | 'cluster';
}

// The parts of PM2's programmatic API the lab uses (pm2 ships no types for `custom`).
interface Pm2Api {
  connect(cb: (err: Error | null) => void): void;
  disconnect(cb: () => void): void;
  start(app: Pm2App, cb: (err: Error | null) => void): void;
  delete(name: string, cb: (err: Error | null) => void): void;
  stop(name: string | number, cb: (err: Error | null) => void): void;
  restart(name: string | number, cb: (err: Error | null) => void): void;
  list(cb: (err: Error | null, list: RawProcess[]) => void): void;
}
interface RawProcess {
  name: string;
  pid: number;
  pm_id: number;
  pm2_env: {
    status: string;
    exec_mode?: string;
    NODE_APP_INSTANCE?: number;
    env?: Record<string, string>;
    restart_time?: number;
  } & Record<string, unknown>;
}

const daemonPidFile = (home: string): string => path.join(home, 'pm2.pid');
/** The God daemon's title is "PM2 vX.Y.Z: God Daemon (<PM2_HOME>)". */
const daemonMarker = (home: string): string => `God Daemon (${home})`;

export class Pm2 {
  private api: Pm2Api | null = null;

  constructor(readonly home: string) {}

  /** Connect to (or start) the lab's private daemon. One PM2 home per Node process: PM2 keeps its paths in module state. */
  async connect(): Promise<void> {
    if (this.api) return;
    process.env.PM2_HOME = this.home;
    process.env.PM2_SILENT = 'true';
    const pm2 = (await import('pm2')).default as unknown as { custom: new (opts: object) => Pm2Api };
    const api = new pm2.custom({ pm2_home: this.home, daemon_mode: true, cwd: repoRoot });
    await call<void>((cb) => api.connect(cb));
    this.api = api;
  }

  async list(): Promise<Pm2Process[]> {
    const raw = await call<RawProcess[]>((cb) => this.need().list(cb));
    return raw.map((p) => ({
      name: p.name,
      pmId: p.pm_id,
      serverId:
        p.pm2_env.exec_mode === 'cluster_mode'
          ? `s${(p.pm2_env.NODE_APP_INSTANCE ?? 0) + 1}`
          : (p.pm2_env.env?.SERVER_ID ?? p.name),
      script: String(p.pm2_env.pm_exec_path ?? ''),
      pid: p.pid,
      online: p.pm2_env.status === 'online',
      env: { ...(p.pm2_env.env ?? {}), ...pickStrings(p.pm2_env) },
      restarts: p.pm2_env.restart_time ?? 0,
      // PM2 leaves kill_timeout unset when the app gives none: its default, 1600 ms, applies.
      killTimeout: p.pm2_env.kill_timeout === undefined ? PM2_DEFAULT_KILL_TIMEOUT : Number(p.pm2_env.kill_timeout),
      execMode: p.pm2_env.exec_mode === 'cluster_mode' ? 'cluster' : 'fork',
    }));
  }

  async start(app: Pm2App): Promise<void> {
    await call<void>((cb) => this.need().start(app, cb));
  }

  /** Stops the app, or one process by its pmId (SIGINT: a graceful drain), and keeps it stopped; PM2 still knows it. */
  async stop(name: string | number): Promise<void> {
    await call<void>((cb) => this.need().stop(name, cb));
  }

  /** Starts a stopped app or process again (or restarts a running one). */
  async restart(name: string | number): Promise<void> {
    await call<void>((cb) => this.need().restart(name, cb));
  }

  /** Stops (SIGINT, then SIGKILL after the app's kill_timeout) and forgets the app. */
  async delete(name: string): Promise<void> {
    await call<void>((cb) => this.need().delete(name, cb));
  }

  /**
   * Stop every app and the daemon itself; returns once the daemon is gone.
   * Works after a crash of the lab too. Not PM2's killDaemon(): when the
   * daemon's socket closes before its SIGQUIT notice arrives, PM2's client
   * retries the connection forever. So: delete the apps, close our connection
   * while the daemon still answers, then end the daemon by PID.
   */
  async kill(): Promise<void> {
    if (!this.api && !daemonAlive(this.home)) return;
    const pid = readPid(daemonPidFile(this.home));
    await this.connect();
    // Each instance gets SIGINT (a graceful drain), then SIGKILL after its kill_timeout.
    await call<void>((cb) => this.need().delete('all', cb)).catch(() => {}); // "not found" when there are none
    await this.disconnect();
    if (pid !== null) await stopProcess(pid, daemonMarker(this.home));
  }

  disconnect(): Promise<void> {
    const api = this.api;
    this.api = null;
    return api ? new Promise((resolve) => api.disconnect(() => resolve())) : Promise.resolve();
  }

  private need(): Pm2Api {
    if (!this.api) throw new LabError('internal: PM2 used before connect()');
    return this.api;
  }
}

export function daemonAlive(home: string): boolean {
  const pid = readPid(daemonPidFile(home));
  return pid !== null && isAlive(pid) && isOurs(pid, daemonMarker(home));
}

function readPid(file: string): number | null {
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** PM2 copies the app's env keys onto pm2_env itself; keep the string ones. */
function pickStrings(obj: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj)) if (typeof v === 'string') out[k] = v;
  return out;
}

function call<T>(fn: (cb: (err: Error | null, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(toError(err)) : resolve(value as T))));
}

function toError(err: unknown): Error {
  if (err instanceof Error) return err;
  if (Array.isArray(err) && err[0] instanceof Error) return err[0];
  return new Error(typeof err === 'string' ? err : JSON.stringify(err));
}
