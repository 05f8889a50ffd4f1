// i. The buses side by side: every way the lab carries a room across
// instances, on one workload, in one run.
//
// For each bus: cross-instance latency at one fixed rate, the highest rate it
// sustains with nothing lost (a ramp of open-loop runs that stops at the first
// rate it cannot keep), and fan-out throughput (closed loop). The single
// in-memory instance is the floor: no bus at all.

import { ClientPool, join, placeSenderAndReceivers } from './clients.ts';
import { CONFIGS, cpuTargets, type BenchConfig, type BenchContext } from './context.ts';
import { openLoop } from './loops.ts';
import type { BenchOptions } from './options.ts';
import { BUS_CONFIGS, type ConfigId, type FanoutRun } from './results.ts';
import type { Percentiles } from './histogram.ts';
import { entryOf, fanoutOnce } from './workloads.ts';

/** One step of the ramp: an open-loop run at `rate`. */
export interface BusStep {
  rate: number;
  achievedRate: number;
  sent: number;
  lost: number;
  latencyMs: Percentiles;
  /** Kept the rate (≥ 95 % of it) and lost nothing. */
  sustained: boolean;
}

export interface BusRun {
  config: ConfigId;
  bus: string;
  label: string;
  via: BenchConfig['via'];
  /** Where the latency sender and receivers were (receivers on other instances than the sender's, where there are others). */
  senderOn: string;
  receiversOn: string[];
  /** The ramp's first step: latency at the fixed rate. */
  fixedRate: BusStep;
  steps: BusStep[];
  /** The highest sustained rate of the ramp, msg/s (0: not even the first). */
  maxSustainedRate: number;
  /** True when the ramp ended at its top rate still sustained: the bus may carry more. */
  rampTopped: boolean;
  fanout: FanoutRun;
}

const ROOM = 'bus';
/** A step "keeps" its rate when the sender achieved this share of it. */
const KEEPS = 0.95;

export async function busesWorkload(ctx: BenchContext, opts: BenchOptions): Promise<BusRun[]> {
  const runs: BusRun[] = [];
  for (const { id, bus } of BUS_CONFIGS.filter((b) => opts.buses.includes(b.id))) {
    const config = CONFIGS[id];
    const lab = await ctx.use(config.stage, false);
    const steps: BusStep[] = [];
    let placed = { senderOn: '', receiversOn: [] as string[] };
    const pool = new ClientPool();
    try {
      const { sender, receivers } = await placeSenderAndReceivers(
        pool,
        entryOf(ctx, config),
        opts.receivers,
        `bus-${id}`,
      );
      await Promise.all([sender, ...receivers].map((c) => join(c, ROOM)));
      placed = { senderOn: sender.serverId, receiversOn: receivers.map((r) => r.serverId) };
      for (const rate of opts.busRates) {
        const r = await openLoop(ctx, {
          sender,
          receivers,
          room: ROOM,
          rate,
          seconds: opts.seconds,
          warmupSeconds: opts.warmupSeconds,
          cpuTargets: cpuTargets(lab),
        });
        const step: BusStep = {
          rate,
          achievedRate: r.achievedRate,
          sent: r.sent,
          lost: r.lost,
          latencyMs: r.latency.summaryMs(),
          // A run that sent nothing proves nothing: it is not "sustained".
          sustained: r.sent > 0 && r.lost === 0 && r.achievedRate >= KEEPS * rate,
        };
        steps.push(step);
        ctx.progress(
          `buses ${id} ${rate}/s: p50 ${step.latencyMs.p50.toFixed(2)} p99 ${step.latencyMs.p99.toFixed(2)} ms, ` +
            `achieved ${Math.round(r.achievedRate)}/s, lost ${r.lost}${step.sustained ? '' : ' (not sustained)'}`,
        );
        if (!step.sustained) break;
      }
    } finally {
      pool.close();
    }
    const { run: fanout } = await fanoutOnce(ctx, config, opts, cpuTargets(lab));
    ctx.progress(`buses ${id} fan-out: ${Math.round(fanout.deliveriesPerSec)} deliveries/s, lost ${fanout.lost}`);
    const sustained = steps.filter((s) => s.sustained);
    const first = steps[0];
    if (!first) throw new Error('buses: --bus-rates is empty');
    runs.push({
      config: id,
      bus,
      label: config.label,
      via: config.via,
      ...placed,
      fixedRate: first,
      steps,
      maxSustainedRate: sustained.at(-1)?.rate ?? 0,
      rampTopped: steps.length === opts.busRates.length && steps.every((s) => s.sustained),
      fanout,
    });
  }
  return runs;
}

/** The terminal table: one row per bus. */
export function busesTableRows(runs: BusRun[]): string[][] {
  const rows: string[][] = [
    [
      'bus',
      'via',
      `p50 @${runs[0]?.fixedRate.rate ?? '?'}/s`,
      'p99',
      'lost',
      'max sustained/s',
      'fan-out deliveries/s',
      'fan-out p99',
      'fan-out lost',
    ],
  ];
  for (const b of runs) {
    rows.push([
      b.bus,
      b.via,
      b.fixedRate.latencyMs.p50.toFixed(2),
      b.fixedRate.latencyMs.p99.toFixed(2),
      String(b.fixedRate.lost),
      `${b.maxSustainedRate.toLocaleString('en-US')}${b.rampTopped ? '+' : ''}`,
      Math.round(b.fanout.deliveriesPerSec).toLocaleString('en-US'),
      b.fanout.latencyMs.p99.toFixed(2),
      String(b.fanout.lost),
    ]);
  }
  return rows;
}
