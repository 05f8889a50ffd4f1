// What every workload shares: the bench's own lesson folder (its stages are
// data, like any lesson's), the labs it has started (each one is brought down
// at the end, on errors and on Ctrl-C), progress lines, and abort.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Lab } from '../../server/lab/lab.ts';
import { findFreePortRange } from '../../server/lab/ports.ts';
import { repoRoot, type LabSettings } from '../../server/lab/settings.ts';
import { childrenOf, type CpuTarget } from './cpu.ts';
import type { ConfigId } from './results.ts';

/** Every bench stage lifts the per-socket rate limit, so the limiter never shapes a figure. */
const UNLIMITED = { maxMessagesPerSecond: 100_000, maxConnections: 20_000 };

export const BENCH_STAGES = [
  {
    id: 'start',
    title: 'bench: 1 instance, in-memory',
    instances: 1,
    loadBalancer: 'none',
    adapter: 'none',
    broadcast: 'rooms',
    ...UNLIMITED,
  },
  {
    id: 'direct-redis',
    title: 'bench: 3 instances direct, Redis adapter',
    instances: 3,
    loadBalancer: 'none',
    adapter: 'redis',
    ...UNLIMITED,
  },
  {
    id: 'streams',
    title: 'bench: 3 instances direct, Redis Streams adapter',
    instances: 3,
    loadBalancer: 'none',
    adapter: 'redis-streams',
    ...UNLIMITED,
  },
  {
    id: 'ip-hash',
    title: 'bench: nginx ip_hash, no adapter',
    instances: 3,
    loadBalancer: 'ip-hash',
    adapter: 'none',
    ...UNLIMITED,
  },
  {
    id: 'scaled',
    title: 'bench: nginx ip_hash, Redis adapter',
    instances: 3,
    loadBalancer: 'ip-hash',
    adapter: 'redis',
    ...UNLIMITED,
  },
  // The baseline: the same stack as "scaled" and "ip-hash", running the bare
  // server (tests/bench/bare/server.ts) instead of the app and its probe.
  {
    id: 'bare',
    title: 'bench baseline: bare server, nginx ip_hash, Redis adapter',
    instances: 3,
    loadBalancer: 'ip-hash',
    adapter: 'redis',
    server: 'bare',
  },
  {
    id: 'bare-ip-hash',
    title: 'bench baseline: bare server, nginx ip_hash, no adapter',
    instances: 3,
    loadBalancer: 'ip-hash',
    adapter: 'none',
    server: 'bare',
  },
] as const;

export interface BenchConfig {
  id: ConfigId;
  stage: (typeof BENCH_STAGES)[number]['id'];
  label: string;
  via: 'direct' | 'nginx';
  instances: number;
}

export const CONFIGS: Record<ConfigId, BenchConfig> = {
  single: { id: 'single', stage: 'start', label: '1 instance, in-memory', via: 'direct', instances: 1 },
  'direct-redis': {
    id: 'direct-redis',
    stage: 'direct-redis',
    label: '3 instances direct + Redis',
    via: 'direct',
    instances: 3,
  },
  'nginx-redis': { id: 'nginx-redis', stage: 'scaled', label: 'nginx ip_hash + Redis', via: 'nginx', instances: 3 },
  streams: {
    id: 'streams',
    stage: 'streams',
    label: '3 instances direct + Redis Streams',
    via: 'direct',
    instances: 3,
  },
  // The baseline every figure is compared with (the counterpart of nginx-redis).
  bare: { id: 'bare', stage: 'bare', label: 'bare server, nginx ip_hash + Redis', via: 'nginx', instances: 3 },
};

/** A lessons folder with one lesson holding the bench stages ("start" and "scaled" must exist in any lab). */
export function writeBenchLessons(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lab-bench-lessons-'));
  mkdirSync(path.join(dir, '01-bench'));
  const lesson = {
    title: 'bench',
    summary: 'Stages for npm run bench: the lab configurations it measures.',
    stages: BENCH_STAGES,
    begin: 'start',
    target: 'scaled',
    checks: [{ id: 'up', title: 'instances are up', kind: 'instances', min: 1 }],
    hints: [],
    exercise: { task: 'none', files: [{ path: 'server/app/adapter.ts', start: 'start.ts' }] },
  };
  writeFileSync(path.join(dir, '01-bench', 'start.ts'), '// the bench has no exercise\n');
  writeFileSync(path.join(dir, '01-bench', 'lesson.json'), JSON.stringify(lesson, null, 2));
  return dir;
}

/** Free ports and a private run directory, so the bench never meets a learner's lab. */
export async function benchSettings(): Promise<LabSettings> {
  const base = await findFreePortRange(20);
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
    runDir: mkdtempSync(path.join(os.tmpdir(), 'lab-bench-')),
    externalRedisUrl: null,
    externalDatabaseUrl: null,
    lessonsDir: path.join(repoRoot, 'lessons'), // replaced by the bench's own
    fleetSources: 'auto',
    sources: 'pristine',
  };
}

export class Aborted extends Error {
  constructor() {
    super('bench interrupted');
  }
}

export class BenchContext {
  private readonly labs = new Set<Lab>();
  private current: Lab | null = null;
  private readonly t0 = performance.now();

  constructor(
    readonly settings: LabSettings,
    private readonly onProgress: (line: string) => void,
    readonly signal: AbortSignal | undefined,
  ) {}

  progress(line: string): void {
    this.onProgress(`[${((performance.now() - this.t0) / 1000).toFixed(1).padStart(6)} s] ${line}`);
  }

  get aborted(): boolean {
    return this.signal?.aborted ?? false;
  }

  checkAbort(): void {
    if (this.aborted) throw new Aborted();
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.aborted) return reject(new Aborted());
      const done = (): void => {
        this.signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const timer = setTimeout(done, ms);
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(new Aborted());
      };
      this.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Start a lab (tracked, so it is always brought down). */
  async up(stage: string, telemetry = true): Promise<Lab> {
    this.checkAbort();
    const lab = await Lab.up(this.settings, stage, undefined, { telemetry });
    this.labs.add(lab);
    return lab;
  }

  async down(lab: Lab): Promise<void> {
    await lab.down();
    this.labs.delete(lab);
    if (this.current === lab) this.current = null;
  }

  /**
   * The shared lab for the load workloads, in `stage` with instances
   * reporting telemetry or not. Changes only what differs (one restart when
   * both change).
   */
  async use(stage: string, telemetry: boolean): Promise<Lab> {
    this.checkAbort();
    let lab = this.current;
    if (!lab) {
      const t = performance.now();
      lab = this.current = await this.up(stage, telemetry);
      this.instancesFresh = true;
      this.progress(`lab up in "${stage}", telemetry ${telemetry ? 'on' : 'off'} (${ms(t)})`);
      return lab;
    }
    const t = performance.now();
    let report: string[] = [];
    if (lab.currentStage.id !== stage) {
      // Both at once: one restart of the instances, not two.
      lab.reconciler.telemetry = telemetry;
      report = await lab.setStage(stage);
      this.progress(`lab → "${stage}", telemetry ${telemetry ? 'on' : 'off'} (${ms(t)})`);
    } else if (lab.reconciler.telemetry !== telemetry) {
      report = await lab.setTelemetry(telemetry);
      this.progress(`telemetry ${telemetry ? 'on' : 'off'} (instances restarted, ${ms(t)})`);
    }
    // The reconciler reports each instance it (re)started as "s1: start …" or "s1: restart (…)".
    const started = report.filter((line) => /^s\d+: (re)?start/.test(line)).length;
    this.instancesFresh = started >= Object.keys(lab.state.instancePids).length;
    return lab;
  }

  /** Whether the last use() (re)started every instance: nothing has run on them since. */
  instancesFresh = false;

  /** Bring every lab down; errors are collected, never thrown half-way. */
  async downAll(): Promise<void> {
    const errors: unknown[] = [];
    for (const lab of [...this.labs]) {
      try {
        await this.down(lab);
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'could not bring every lab down');
  }
}

/** What to read CPU time from while `lab` runs: its instances, Redis, nginx (master + workers), the PM2 daemon. */
export function cpuTargets(lab: Lab): CpuTarget[] {
  const { state } = lab;
  const targets: CpuTarget[] = Object.entries(state.instancePids)
    .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
    .map(([serverId, pid]) => ({ label: serverId, pids: [pid] }));
  if (state.redis) targets.push({ label: 'redis', pids: [state.redis.pid] });
  if (state.nginx) targets.push({ label: 'nginx', pids: [state.nginx.pid, ...childrenOf(state.nginx.pid)] });
  const pm2Pid = readPid(path.join(state.pm2Home, 'pm2.pid'));
  if (pm2Pid !== null) targets.push({ label: 'pm2', pids: [pm2Pid] });
  return targets;
}

function readPid(file: string): number | null {
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export const ms = (since: number): string => `${Math.round(performance.now() - since)} ms`;
