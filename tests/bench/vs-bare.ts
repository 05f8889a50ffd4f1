// Every figure of the lab as a ratio to the bare server's, both measured in
// the same run: the bare server (tests/bench/bare/server.ts) runs behind the
// same nginx and Redis, under the same PM2, so what is left between the two
// is what the lab's own code costs. The goals of issue 12 are judged here.

import { GOALS } from './goals.ts';
import type { BenchReport, LatencyRun, StartupResult } from './results.ts';

export interface Goal {
  /** e.g. "≤ ×1.3 bare". */
  text: string;
  met: boolean;
}

export interface VsBare {
  /** What is compared, e.g. "latency p99, nginx ip_hash + Redis, 500/s". */
  what: string;
  unit: string;
  lab: number;
  bare: number;
  /** lab ÷ bare. For times and memory above 1 means the lab costs more; for throughput below 1 means it delivers less. */
  ratio: number;
  goal: Goal | null;
}

type Measured = Pick<
  BenchReport,
  'latency' | 'fanout' | 'memory' | 'bareMemory' | 'startup' | 'bareStartup' | 'capacity'
>;

/** The bare run at `rate`, if the bench measured one. */
export function bareLatencyAt(r: Pick<BenchReport, 'latency'>, rate: number): LatencyRun | undefined {
  return r.latency.find((l) => l.config === 'bare' && l.rate === rate);
}

/** The slowest stage switch of a start-up result (the goal is about every switch). */
export function slowestSwitchMs(s: StartupResult): number {
  return Math.max(...s.switches.map((x) => x.ms));
}

export function compareWithBare(r: Measured): VsBare[] {
  const rows: VsBare[] = [];
  const row = (what: string, unit: string, lab: number, bare: number, goal: Goal | null = null): void => {
    // No ratio when the bare figure is 0 (no delivery in a short window, say), and no goal is met
    // by a figure that is not a positive measurement. (RSS per connection may come out negative:
    // V8 returns pages. That ratio is kept, as measured.)
    const ratio = lab / bare;
    const positive = lab > 0 && bare > 0 && Number.isFinite(ratio);
    rows.push({
      what,
      unit,
      lab,
      bare,
      ratio: Number.isFinite(ratio) ? ratio : Number.NaN,
      goal: goal && { ...goal, met: positive && goal.met },
    });
  };

  for (const run of r.latency) {
    const bare = run.config === 'bare' ? undefined : bareLatencyAt(r, run.rate);
    if (!bare) continue;
    row(`latency p50, ${run.label}, ${run.rate}/s`, 'ms', run.latencyMs.p50, bare.latencyMs.p50);
    row(`latency p99, ${run.label}, ${run.rate}/s`, 'ms', run.latencyMs.p99, bare.latencyMs.p99);
  }

  const bareFanout = r.fanout.find((f) => f.config === 'bare');
  for (const f of r.fanout) {
    if (!bareFanout || f.config === 'bare') continue;
    const ratio = f.deliveriesPerSec / bareFanout.deliveriesPerSec;
    // The goal is about the counterpart of the bare stack: nginx ip_hash + Redis.
    const goal =
      f.config === 'nginx-redis'
        ? { text: `≥ ×${GOALS.fanoutMinRatio} bare`, met: ratio >= GOALS.fanoutMinRatio }
        : null;
    row(`fan-out, ${f.label}`, 'deliveries/s', f.deliveriesPerSec, bareFanout.deliveriesPerSec, goal);
  }

  if (r.memory && r.bareMemory) {
    row(`memory per idle connection, heap, ${r.memory.label}`, 'KB', r.memory.meanKB.heap, r.bareMemory.meanKB.heap);
    row(`memory per idle connection, RSS, ${r.memory.label}`, 'KB', r.memory.meanKB.rss, r.bareMemory.meanKB.rss);
  }

  const labCap = r.capacity.find((c) => c.config === 'nginx-redis');
  const bareCap = r.capacity.find((c) => c.config === 'bare');
  if (labCap && bareCap) {
    const n = `${labCap.ramp.target.toLocaleString('en-US')} clients`;
    row(`capacity: connections/s through nginx, ${n}`, 'conn/s', labCap.ramp.perSecond, bareCap.ramp.perSecond);
    row(`capacity: heap per connection, ${n}`, 'KB', labCap.meanKB.heap, bareCap.meanKB.heap);
    row(`capacity: RSS per connection, ${n}`, 'KB', labCap.meanKB.rss, bareCap.meanKB.rss);
    if (labCap.chat && bareCap.chat)
      row(
        `capacity: chat latency p99 across instances, rooms of ${labCap.chat.roomSize}`,
        'ms',
        labCap.chat.crossInstanceMs.p99,
        bareCap.chat.crossInstanceMs.p99,
      );
    labCap.kills.forEach((k, i) => {
      const b = bareCap.kills[i];
      if (b && k.msTo99 !== null && b.msTo99 !== null)
        row(`capacity: kill -9, 99 % back (jitter ${k.jitter})`, 'ms', k.msTo99, b.msTo99);
    });
  }

  if (r.startup && r.bareStartup) {
    const lab = Math.min(...r.startup.coldStartMs);
    const bare = Math.min(...r.bareStartup.coldStartMs);
    row(`cold start "${r.startup.stage}" vs "${r.bareStartup.stage}" (fastest)`, 'ms', lab, bare, {
      text: `≤ ×${GOALS.coldStartMaxRatio} bare`,
      met: lab / bare <= GOALS.coldStartMaxRatio,
    });
    if (r.startup.switches.length > 0 && r.bareStartup.switches.length > 0) {
      const labSwitch = slowestSwitchMs(r.startup);
      row('stage switch, slowest', 'ms', labSwitch, slowestSwitchMs(r.bareStartup), {
        text: `≤ ${GOALS.switchMaxMs} ms`,
        met: labSwitch <= GOALS.switchMaxMs,
      });
    }
  }
  return rows;
}

const figure = (n: number): string =>
  !Number.isFinite(n) ? '–' : Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2);

/** "×1.042", or "–" when either side was not measured. */
export const times = (n: number): string => (Number.isFinite(n) ? `×${n.toFixed(3)}` : '–');

/** The comparison as table rows (a header first), for the terminal table and the HTML report alike. */
export function vsBareRows(rows: VsBare[]): string[][] {
  return [
    ['what', 'unit', 'lab', 'bare', 'lab ÷ bare', 'goal', 'met'],
    ...rows.map((v) => [
      v.what,
      v.unit,
      figure(v.lab),
      figure(v.bare),
      times(v.ratio),
      v.goal?.text ?? '',
      v.goal ? (v.goal.met ? 'met' : 'NOT met') : '',
    ]),
  ];
}
