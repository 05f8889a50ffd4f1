// A crowd: thousands of idle clients for capacity checks, in child processes.
//
// Why not the Fleet: a fleet client keeps every message and its state for the
// UI, and lives in the lab process. Measured here, 10,000 socket.io-client
// WebSocket clients take ≈ 14 KB of heap and ≈ 18 KB RSS each (≈ 260 MB in
// all) and 10,000 of the process's 20,000 open files; connecting them keeps
// a core busy for tens of seconds. In the lab process that would starve the
// control plane and the UI stream. So a crowd runs in worker processes of at
// most PER_WORKER clients each (each with its own open-files limit), speaks
// the real protocol (socket.io-client, the learner's client options, over
// WebSocket), keeps only counts, and reports them over IPC.

import { type ChildProcess, fork } from 'node:child_process';
import { loopbackAliasesWork } from './fleet.ts';
import type { FleetTarget } from './fleet.ts';
import { repoRoot } from './settings.ts';

/** Clients per worker process: half of this machine's 20,000 open files, with room for the rest. */
export const PER_WORKER = 5000;

/** What the lab sends a worker: its share of the crowd. */
export interface CrowdOrder {
  t: 'start';
  /** Client numbers firstN, firstN + 1, …: each its own loopback source (sourceAddress). */
  firstN: number;
  /** Where each of this worker's clients connects. */
  urls: string[];
  options: Record<string, unknown>;
  /** Bind each client to its source address; else say it in X-Forwarded-For. */
  bind: boolean;
  idPrefix: string;
  timeoutMs: number;
  inflight: number;
  stopAfterFailures: number;
}

/** What a worker reports, every 250 ms and once all its clients have tried. */
export interface CrowdReport {
  t: 'report';
  done: boolean;
  attempted: number;
  /** Connected now (got `welcome`, not lost since). */
  connected: number;
  failed: number;
  /** Connected, then dropped. */
  lost: number;
  byServer: Record<string, number>;
  /** Error messages, each with how many clients got it. */
  errors: Record<string, number>;
  /** When the last client got its welcome (ms epoch; 0: none). */
  lastConnectAt: number;
  rss: number;
}

export interface CrowdTotals {
  attempted: number;
  connected: number;
  failed: number;
  lost: number;
  byServer: Record<string, number>;
  errors: Record<string, number>;
  /** From the first attempt to the last welcome. */
  seconds: number;
  /** The workers' resident memory, all together. */
  rss: number;
  workers: number;
}

export interface CrowdOptions {
  idPrefix: string;
  /** auto/bind/header, as the fleet takes it (LAB_FLEET_SOURCES). */
  sources: 'auto' | 'bind' | 'header';
  /** Per client: no welcome by then is a failure. */
  timeoutMs?: number;
  /** Stop starting new clients once this many failed: the wall is found. */
  stopAfterFailures?: number;
  /** Connects in flight per worker. */
  inflight?: number;
  /** Give up waiting for the workers after this long. */
  deadlineMs?: number;
}

export class Crowd {
  private readonly reports: CrowdReport[];
  private readonly startedAt = Date.now();

  private constructor(private readonly workers: ChildProcess[]) {
    this.reports = workers.map(() => emptyReport());
  }

  /** Start `count` clients and resolve once every one has connected or failed (or the deadline passed). */
  static async start(target: FleetTarget, count: number, opts: CrowdOptions): Promise<Crowd> {
    const bind = await loopbackAliasesWork(opts.sources);
    const shares = Math.ceil(count / PER_WORKER);
    const workers = Array.from({ length: shares }, () =>
      fork(new URL('./crowd-worker.ts', import.meta.url), [], {
        cwd: repoRoot,
        // The worker is TypeScript, like the lab: the same loader, whatever started this process.
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      }),
    );
    const crowd = new Crowd(workers);
    const { options } = target;
    const allDone = new Promise<void>((resolve) => {
      workers.forEach((w, k) => {
        w.on('message', (r: CrowdReport) => {
          crowd.reports[k] = r;
          if (crowd.reports.every((x) => x.done)) resolve();
        });
        // A worker that died is done: what it reported last stands.
        w.on('exit', () => {
          crowd.reports[k]!.done = true;
          if (crowd.reports.every((x) => x.done)) resolve();
        });
      });
    });
    workers.forEach((w, k) => {
      const firstN = 1 + k * PER_WORKER;
      const size = Math.min(PER_WORKER, count - k * PER_WORKER);
      const order: CrowdOrder = {
        t: 'start',
        firstN,
        urls: Array.from({ length: size }, (_, i) => target.urlFor(firstN + i)),
        // WebSocket from the start: one connection per client, each through nginx as two.
        options: { ...options, transports: ['websocket'] },
        bind,
        idPrefix: opts.idPrefix,
        timeoutMs: opts.timeoutMs ?? 10_000,
        inflight: opts.inflight ?? 100,
        stopAfterFailures: Math.ceil((opts.stopAfterFailures ?? 500) / shares),
      };
      w.send(order);
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([allDone, new Promise((r) => (timer = setTimeout(r, opts.deadlineMs ?? 180_000)))]);
    clearTimeout(timer);
    return crowd;
  }

  /** Counts over all workers, as last reported. */
  totals(): CrowdTotals {
    const byServer: Record<string, number> = {};
    const errors: Record<string, number> = {};
    let last = 0;
    const sum = (f: (r: CrowdReport) => number): number => this.reports.reduce((a, r) => a + f(r), 0);
    for (const r of this.reports) {
      for (const [s, n] of Object.entries(r.byServer)) byServer[s] = (byServer[s] ?? 0) + n;
      for (const [e, n] of Object.entries(r.errors)) errors[e] = (errors[e] ?? 0) + n;
      last = Math.max(last, r.lastConnectAt);
    }
    return {
      attempted: sum((r) => r.attempted),
      connected: sum((r) => r.connected),
      failed: sum((r) => r.failed),
      lost: sum((r) => r.lost),
      byServer,
      errors,
      seconds: last > 0 ? (last - this.startedAt) / 1000 : 0,
      rss: sum((r) => r.rss),
      workers: this.workers.length,
    };
  }

  /** Wait for the next report of every worker (fresh counts after a pause). */
  async refresh(): Promise<void> {
    await Promise.all(
      this.workers.filter((w) => w.connected).map((w) => new Promise<void>((r) => w.once('message', () => r()))),
    );
  }

  /** Close every client; resolves once the workers have exited. */
  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.exitCode !== null || w.signalCode !== null) return resolve();
            const kill = setTimeout(() => w.kill('SIGKILL'), 5000);
            w.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            if (w.connected) w.send({ t: 'close' });
            else w.kill();
          }),
      ),
    );
  }
}

function emptyReport(): CrowdReport {
  return {
    t: 'report',
    done: false,
    attempted: 0,
    connected: 0,
    failed: 0,
    lost: 0,
    byServer: {},
    errors: {},
    lastConnectAt: 0,
    rss: 0,
  };
}
