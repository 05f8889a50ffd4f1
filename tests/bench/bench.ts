// The bench's programmatic API: runBench() runs the chosen workloads on real
// labs and returns every figure (results.ts). It always brings its labs down,
// whether it finishes, fails or is aborted. run.ts is the command line around it.

import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { findBinary } from '../../server/lab/binaries.ts';
import type { LabSettings } from '../../server/lab/settings.ts';
import { BenchContext, benchSettings, removeDir, writeBenchLessons } from './context.ts';
import { COURSE_FACTS, GOALS } from './goals.ts';
import { DEFAULTS, type BenchOptions } from './options.ts';
import type { BenchReport } from './results.ts';
import { capacityWorkload, killRuns } from './capacity.ts';
import { viewWorkload } from './view.ts';
import { busesWorkload } from './buses.ts';
import { compareWithBare } from './vs-bare.ts';
import { fanoutWorkload, latencyWorkload, memoryWorkload, startupWorkload, telemetryWorkload } from './workloads.ts';

export { Aborted } from './context.ts';
export type { BenchOptions } from './options.ts';
export type { BenchReport } from './results.ts';

export interface RunHooks {
  /** One line per step, as it happens. */
  onProgress?: (line: string) => void;
  /** Abort: stop the current measurement, bring the labs down, reject with `Aborted`. */
  signal?: AbortSignal;
  /** Ports and run directory (tests pass theirs); default: free ports and a temporary directory. */
  settings?: LabSettings;
}

/** Roughly how long a run takes, in seconds (lab start-ups and restarts included). */
export function estimateSeconds(o: BenchOptions): number {
  const per = o.warmupSeconds + o.seconds + 0.3;
  let s = 0;
  // Start-up, fan-out and memory run twice: the lab, then the bare server.
  if (o.only.includes('startup')) s += 2 * (o.coldStarts * 3.5 + o.switches * 2.4);
  const configs = new Set([...o.configs, 'bare']).size;
  if (o.only.includes('latency')) s += 2 + configs * (1.6 + o.rates.length * per);
  if (o.only.includes('fanout')) s += 2 * (1.5 + per);
  if (o.only.includes('telemetry')) s += o.rounds * 2 * (1.5 + 2 * (per + 0.3));
  if (o.only.includes('buses')) s += o.buses.length * (2 + o.busRates.length * per + 1.5 + per);
  if (o.only.includes('view')) s += 12 + o.viewClients / 400 + o.seconds;
  if (o.only.includes('memory')) s += 2 * (1.5 + (o.connections.at(-1) ?? 0) / 700 + o.connections.length * 1.5);
  if (o.only.includes('capacity'))
    s +=
      2 *
      (6 +
        (o.capacity * (o.kill ? 2 : 1) + o.pollingClients) / 700 +
        Math.max(5, o.seconds) +
        2 +
        (o.kill ? 2 * 8 : 0));
  return Math.round(s);
}

export async function runBench(options: Partial<BenchOptions> = {}, hooks: RunHooks = {}): Promise<BenchReport> {
  const opts: BenchOptions = { ...DEFAULTS, ...options };
  const started = new Date();
  const ownSettings = !hooks.settings;
  const base = hooks.settings ?? (await benchSettings());
  const lessonsDir = writeBenchLessons();
  const ctx = new BenchContext({ ...base, lessonsDir }, hooks.onProgress ?? (() => {}), hooks.signal);
  const report: BenchReport = {
    version: 1,
    startedAt: started.toISOString(),
    finishedAt: '',
    durationSeconds: 0,
    machine: machineInfo(),
    options: { ...opts },
    telemetryDuringWorkloads: false,
    latency: [],
    fanout: [],
    memory: null,
    startup: null,
    telemetry: null,
    capacity: [],
    view: null,
    buses: [],
    bareMemory: null,
    bareStartup: null,
    vsBare: [],
    goals: GOALS,
    courseFacts: COURSE_FACTS,
  };
  ctx.progress(
    `bench: ${opts.only.join(', ')} (about ${estimateSeconds(opts)} s); ports from ${base.ports.ui}, run dir ${base.runDir}`,
  );

  let failure: unknown = null;
  try {
    // Ordered so the shared lab changes stage as seldom as possible. Each
    // workload also measures the bare server, the baseline of every figure.
    if (opts.only.includes('startup')) {
      const { lab, bare } = await startupWorkload(ctx, opts);
      report.startup = lab;
      report.bareStartup = bare;
    }
    if (opts.only.includes('latency')) report.latency = await latencyWorkload(ctx, opts);
    if (opts.only.includes('fanout'))
      report.fanout = [await fanoutWorkload(ctx, opts, 'bare'), await fanoutWorkload(ctx, opts, 'nginx-redis')];
    if (opts.only.includes('telemetry')) report.telemetry = await telemetryWorkload(ctx, opts);
    if (opts.only.includes('buses')) report.buses = await busesWorkload(ctx, opts);
    if (opts.only.includes('memory')) {
      report.memory = await memoryWorkload(ctx, opts, 'direct-redis');
      report.bareMemory = await memoryWorkload(ctx, opts, 'bare');
    }
    // The view before capacity: capacity's long-polling clients hold their files for tens of seconds after they close.
    if (opts.only.includes('view'))
      report.view = await viewWorkload(ctx, opts.viewClients, opts.seconds, path.join(opts.outDir, 'view.png'));
    if (opts.only.includes('capacity')) {
      // Every configuration's chat before any kill: a reconnect storm leaves the client process busy.
      report.capacity.push(await capacityWorkload(ctx, opts, 'nginx-redis'));
      report.capacity.push(await capacityWorkload(ctx, opts, 'bare'));
      if (opts.kill) for (const c of report.capacity) await killRuns(ctx, opts, c);
    }
    report.vsBare = compareWithBare(report);
  } catch (err) {
    failure = err;
  } finally {
    const t = performance.now();
    try {
      await ctx.downAll();
      ctx.progress(`lab down (${Math.round(performance.now() - t)} ms)`);
    } catch (err) {
      failure ??= err;
    }
    removeDir(lessonsDir);
    if (ownSettings) removeDir(base.runDir);
  }
  if (failure) throw failure;

  const finished = new Date();
  report.finishedAt = finished.toISOString();
  report.durationSeconds = (finished.getTime() - started.getTime()) / 1000;
  report.machine.loadAverageAtEnd = os.loadavg().map(round2);
  return report;
}

function machineInfo(): BenchReport['machine'] {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    totalMemoryGiB: round2(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    redis: versionOf('redis-server', ['--version'], /v=(\S+)/),
    nginx: versionOf('nginx', ['-v'], /nginx\/(\S+)/),
    loadAverageAtStart: os.loadavg().map(round2),
    loadAverageAtEnd: [],
  };
}

function versionOf(program: string, args: string[], pattern: RegExp): string | null {
  const bin = findBinary(program);
  if (!bin) return null;
  // nginx prints its version on stderr.
  const { stdout, stderr } = spawnSync(bin, args, { encoding: 'utf8', timeout: 5000 });
  return `${stdout ?? ''}${stderr ?? ''}`.match(pattern)?.[1] ?? null;
}

const round2 = (n: number): number => Math.round(n * 100) / 100;
