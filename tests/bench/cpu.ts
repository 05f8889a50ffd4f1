// CPU time of every process in the stack over a measured window, read from
// outside: /proc/<pid>/stat utime + stime for the instances, Redis and nginx
// (master and workers), and process.cpuUsage() for the bench process itself
// (which also hosts the lab's control plane and telemetry hub).
//
// Figures are "% of one core" averaged over the window: 100 % is one core
// busy the whole time; this machine has os.cpus().length cores in total.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface CpuTarget {
  label: string;
  /** Summed: e.g. nginx's master and its workers. */
  pids: number[];
}

export interface CpuUse {
  label: string;
  /** % of one core over the window. */
  percent: number;
}

const CLOCK_TICKS = ((): number => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of `pid` in clock ticks, or null when it is gone (or there is no /proc). */
export function cpuTicks(pid: number): number | null {
  const fields = statFields(pid);
  if (!fields) return null;
  // After "pid (comm) ", field 3 (state) is index 0: utime is field 14, stime 15.
  return Number(fields[11]) + Number(fields[12]);
}

/** Resident set size of `pid` in bytes (VmRSS in /proc/<pid>/status), or null. */
export function rssBytes(pid: number): number | null {
  try {
    const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)\s+kB/m);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Direct children of `pid` (nginx workers under their master). */
export function childrenOf(pid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const fields = statFields(Number(name));
    if (fields && Number(fields[1]) === pid) out.push(Number(name));
  }
  return out;
}

function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses: split after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** Start measuring now; `stop()` gives each target's CPU share since then, plus the bench's own. */
export class CpuMeter {
  private readonly startedAt = performance.now();
  private readonly benchStart = process.cpuUsage();
  private readonly before: (number | null)[];

  constructor(private readonly targets: CpuTarget[]) {
    this.before = targets.map((t) => sumTicks(t.pids));
  }

  stop(): CpuUse[] {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const out: CpuUse[] = [];
    this.targets.forEach((t, i) => {
      const before = this.before[i];
      const after = sumTicks(t.pids);
      if (before === null || before === undefined || after === null || seconds <= 0) return;
      out.push({ label: t.label, percent: round1(((after - before) / CLOCK_TICKS / seconds) * 100) });
    });
    const bench = process.cpuUsage(this.benchStart);
    out.push({ label: 'bench', percent: round1(((bench.user + bench.system) / 1e6 / Math.max(seconds, 1e-9)) * 100) });
    return out;
  }
}

function sumTicks(pids: number[]): number | null {
  let total = 0;
  let any = false;
  for (const pid of pids) {
    const t = cpuTicks(pid);
    if (t === null) continue;
    total += t;
    any = true;
  }
  return any ? total : null;
}

const round1 = (n: number): number => Math.round(n * 10) / 10;
