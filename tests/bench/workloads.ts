// The five workloads. Each takes the shared context and the options, drives
// real labs, and returns plain results (see results.ts).

import type { Lab } from '../../server/lab/lab.ts';
import { instancePort } from '../../server/lab/settings.ts';
import { sourceAddress } from '../../server/lab/fleet.ts';
import { getHealth, getMemory } from '../../server/lab/health.ts';
import { ClientPool, entryFor, join, placeSenderAndReceivers, placeSpread, spreadOf, type Entry } from './clients.ts';
import { CONFIGS, cpuTargets, ms, type BenchConfig, type BenchContext } from './context.ts';
import { CpuMeter, rssBytes } from './cpu.ts';
import { closedLoop, openLoop, type ClosedLoopResult, type OpenLoopResult } from './loops.ts';
import type { BenchOptions } from './options.ts';
import type {
  ConfigId,
  FanoutRun,
  LatencyRun,
  MemoryLevel,
  MemoryResult,
  MemorySample,
  OverheadPhase,
  OverheadResult,
  StartupResult,
} from './results.ts';
import { COURSE_FACTS } from './goals.ts';

const ROOM = 'bench';

export function entryOf(ctx: BenchContext, config: BenchConfig): Entry {
  return entryFor(ctx.settings.ports, config.via, config.instances);
}

const fmt = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');

// ── a. Cross-instance delivery latency, open loop ─────────────────────────────

/**
 * One sender, receivers elsewhere, every rate in turn. The bare server always
 * runs too (every figure is compared with it), last, so the fan-out that
 * follows starts on its stage.
 */
export async function latencyWorkload(ctx: BenchContext, opts: BenchOptions): Promise<LatencyRun[]> {
  const order: ConfigId[] = ['single', 'direct-redis', 'streams', 'nginx-redis', 'bare'];
  const runs: LatencyRun[] = [];
  for (const id of order.filter((c) => c === 'bare' || opts.configs.includes(c))) {
    const config = CONFIGS[id];
    const lab = await ctx.use(config.stage, false);
    const pool = new ClientPool();
    try {
      const { sender, receivers } = await placeSenderAndReceivers(
        pool,
        entryOf(ctx, config),
        opts.receivers,
        `lat-${id}`,
      );
      await Promise.all([sender, ...receivers].map((c) => join(c, ROOM)));
      ctx.progress(
        `latency ${id}: sender on ${sender.serverId}, receivers on ${receivers.map((r) => r.serverId).join(', ')}`,
      );
      for (const rate of opts.rates) {
        const r = await openLoop(ctx, {
          sender,
          receivers,
          room: ROOM,
          rate,
          seconds: opts.seconds,
          warmupSeconds: opts.warmupSeconds,
          cpuTargets: cpuTargets(lab),
        });
        const run = latencyRun(
          config,
          rate,
          opts.seconds,
          sender.serverId,
          receivers.map((c) => c.serverId),
          r,
        );
        runs.push(run);
        ctx.progress(
          `latency ${id} ${rate}/s: p50 ${fmt(run.latencyMs.p50)} p99 ${fmt(run.latencyMs.p99)} max ${fmt(run.latencyMs.max)} ms, ` +
            `sent ${run.sent} at ${Math.round(run.achievedRate)}/s, lost ${run.lost}`,
        );
      }
    } finally {
      pool.close();
    }
  }
  // Report in the order asked for, bare last unless asked for.
  const rank = (c: ConfigId): number => (opts.configs.includes(c) ? opts.configs.indexOf(c) : order.length);
  return runs.sort((a, b) => rank(a.config) - rank(b.config) || a.rate - b.rate);
}

function latencyRun(
  config: BenchConfig,
  rate: number,
  seconds: number,
  senderOn: string,
  receiversOn: string[],
  r: OpenLoopResult,
): LatencyRun {
  return {
    config: config.id,
    label: config.label,
    rate,
    seconds,
    senderOn,
    receiversOn,
    sent: r.sent,
    expected: r.expected,
    received: r.received,
    lost: r.lost,
    achievedRate: r.achievedRate,
    latencyMs: r.latency.summaryMs(),
    sendLagMs: r.sendLag.summaryMs(),
    cpu: r.cpu,
  };
}

// ── b. Fan-out throughput, closed loop ─────────────────────────────────────────

export async function fanoutWorkload(
  ctx: BenchContext,
  opts: BenchOptions,
  id: ConfigId = 'nginx-redis',
): Promise<FanoutRun> {
  const config = CONFIGS[id];
  const lab = await ctx.use(config.stage, false);
  const { run, result } = await fanoutOnce(ctx, config, opts, cpuTargets(lab));
  ctx.progress(
    `fan-out ${id} ${run.clients} clients (${Object.entries(run.spread)
      .map(([s, n]) => `${s}:${n}`)
      .join(' ')}), window ${run.window}: ` +
      `${Math.round(run.deliveriesPerSec)} deliveries/s, p50 ${fmt(run.latencyMs.p50)} p99 ${fmt(run.latencyMs.p99)} ms, lost ${result.lost}`,
  );
  return run;
}

export async function fanoutOnce(
  ctx: BenchContext,
  config: BenchConfig,
  opts: BenchOptions,
  targets: ReturnType<typeof cpuTargets>,
): Promise<{ run: FanoutRun; result: ClosedLoopResult }> {
  const pool = new ClientPool();
  try {
    const clients = await placeSpread(pool, entryOf(ctx, config), opts.clients, 'fan');
    await Promise.all(clients.map((c) => join(c, ROOM)));
    const result = await closedLoop(ctx, {
      clients,
      room: ROOM,
      window: opts.window,
      seconds: opts.seconds,
      warmupSeconds: opts.warmupSeconds,
      cpuTargets: targets,
    });
    const run: FanoutRun = {
      config: config.id,
      label: config.label,
      clients: clients.length,
      window: opts.window,
      seconds: opts.seconds,
      spread: spreadOf(clients),
      messages: result.messages,
      deliveries: result.deliveries,
      deliveriesPerSec: result.deliveriesPerSec,
      messagesPerSec: result.messagesPerSec,
      lost: result.lost,
      latencyMs: result.latency.summaryMs(),
      completionMs: result.completion.summaryMs(),
      cpu: result.cpu,
    };
    return { run, result };
  } finally {
    pool.close();
  }
}

// ── c. Memory per idle connection ──────────────────────────────────────────────

/** Idle clients come from this many source addresses (127.0.N.1), connected straight to the instances. */
const MEMORY_SOURCES = 32;
const CONNECT_CONCURRENCY = 100;

/** Idle clients straight to the instances of `id`'s stage (through nginx, nginx would hold half the sockets). */
export async function memoryWorkload(
  ctx: BenchContext,
  opts: BenchOptions,
  id: ConfigId = 'direct-redis',
): Promise<MemoryResult> {
  const config = CONFIGS[id];
  const lab = await ctx.use(config.stage, false);
  // Fresh processes: an instance that has just carried a load test keeps the
  // RSS it grew, which would hide what idle connections cost. (No need when
  // use() has just started them.)
  if (!ctx.instancesFresh) await restartInstances(ctx, lab, 'memory');
  const entry = entryFor(ctx.settings.ports, 'direct', config.instances);
  const ports = Array.from({ length: config.instances }, (_, i) => instancePort(ctx.settings.ports, i));
  const pool = new ClientPool();
  const levels: MemoryLevel[] = [];
  const meter = new CpuMeter(cpuTargets(lab));
  let connectedSoFar = 0;
  try {
    await ctx.sleep(1000); // start-up garbage and lazily compiled code settle first
    levels.push({ target: 0, connected: 0, failed: 0, connectSeconds: 0, instances: await sampleMemory(ctx, ports) });
    for (const target of opts.connections) {
      const t = performance.now();
      let failed = 0;
      let cursor = connectedSoFar;
      const worker = async (): Promise<void> => {
        while (cursor < target) {
          ctx.checkAbort();
          const k = cursor++;
          try {
            await pool.connect(entry.url(k), {
              name: `idle-${k}`,
              source: sourceAddress(1 + (k % MEMORY_SOURCES)),
              transports: ['websocket'],
              timeoutMs: 10_000,
            });
          } catch {
            failed++;
          }
        }
      };
      await Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, worker));
      const connectSeconds = (performance.now() - t) / 1000;
      connectedSoFar = target;
      await ctx.sleep(1000); // let handshakes finish and buffers settle before measuring
      levels.push({
        target,
        connected: pool.clients.length,
        failed,
        connectSeconds,
        instances: await sampleMemory(ctx, ports),
      });
      const mean = meanPerConnection(levels);
      ctx.progress(
        `memory ${id} ${pool.clients.length} idle connections (${failed} failed, ${connectSeconds.toFixed(1)} s to connect): ` +
          `${fmt(mean.heap, 1)} KB heap, ${fmt(mean.rss, 1)} KB RSS per connection`,
      );
    }
  } finally {
    const closing = performance.now();
    pool.close();
    if (levels.length > 1) ctx.progress(`memory: closed ${connectedSoFar} connections (${ms(closing)})`);
  }
  const perConnection = perConnectionOf(levels);
  return {
    config: config.id,
    label: config.label,
    transports: ['websocket'],
    // The lab runs every instance with --expose-gc (reconciler.ts), so /lab/memory?gc=1 really collects
    // (the probe answers it for the app, the bare server itself).
    gcAvailable: true,
    levels,
    perConnection,
    meanKB: meanPerConnection(levels),
    // Between the two highest levels: no start-up memory in it, so RSS is steadier.
    marginalKB:
      levels.length >= 3 ? meanPerConnection(levels, levels[levels.length - 2], levels[levels.length - 1]) : null,
    ruleOfThumbKB: COURSE_FACTS.ruleOfThumbKB,
    cpuWhileConnecting: meter.stop(),
  };
}

/**
 * Fresh processes: an instance that has just carried a load test keeps the
 * RSS it grew, which would hide what idle connections cost.
 */
export async function restartInstances(ctx: BenchContext, lab: Lab, what: string): Promise<void> {
  const t = performance.now();
  for (const serverId of Object.keys(lab.state.instancePids).sort()) {
    await lab.fault({ target: 'instance', serverId, fault: 'stop' });
    await lab.fault({ target: 'instance', serverId, fault: 'start' });
  }
  ctx.progress(`${what}: instances restarted for a clean start (${ms(t)})`);
}

export async function sampleMemory(ctx: BenchContext, ports: number[]): Promise<MemorySample[]> {
  const samples = await Promise.all(
    ports.map(async (port) => {
      // Twice: the first collection may leave garbage that only a second one frees.
      await getMemory(port, { gc: true, timeoutMs: 5000 });
      const m = await getMemory(port, { gc: true, timeoutMs: 5000 });
      const h = await getHealth(port, { timeoutMs: 5000 });
      if (!m || !h) throw new Error(`instance on ${port} did not answer /lab/memory and /health`);
      return {
        serverId: h.serverId,
        pid: h.pid,
        connections: m.connections,
        heapUsed: m.heapUsed,
        rss: rssBytes(h.pid) ?? m.rss,
      };
    }),
  );
  ctx.checkAbort();
  return samples.sort((a, b) => a.serverId.localeCompare(b.serverId));
}

/** Per instance: (memory at `to` − memory at `from`) ÷ the connections added there. Default: from 0 to the highest level. */
function perConnectionOf(
  levels: MemoryLevel[],
  from = levels[0],
  to = levels[levels.length - 1],
): MemoryResult['perConnection'] {
  if (!from || !to || to === from) return [];
  return to.instances.map((s) => {
    const base = from.instances.find((z) => z.serverId === s.serverId);
    const connections = s.connections - (base?.connections ?? 0);
    const per = (now: number, before: number | undefined): number =>
      base && connections > 0 ? (now - (before ?? 0)) / connections / 1024 : NaN;
    return { serverId: s.serverId, connections, heapKB: per(s.heapUsed, base?.heapUsed), rssKB: per(s.rss, base?.rss) };
  });
}

function meanPerConnection(
  levels: MemoryLevel[],
  from = levels[0],
  to = levels[levels.length - 1],
): { heap: number; rss: number } {
  const per = perConnectionOf(levels, from, to).filter((p) => p.connections > 0);
  const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  return { heap: mean(per.map((p) => p.heapKB)), rss: mean(per.map((p) => p.rssKB)) };
}

// ── d. Cold start and stage switches ───────────────────────────────────────────

/** The stages whose start-up is compared: the lab's and the bare server's, each with the stage it switches to and back. */
const STARTUP = {
  lab: { stage: 'scaled', other: 'ip-hash' },
  bare: { stage: 'bare', other: 'bare-ip-hash' },
} as const;

/**
 * Cold starts and stage switches of the lab ("scaled" ⇄ "ip-hash") and of the
 * bare server ("bare" ⇄ "bare-ip-hash"), alternated so that a busier moment of
 * the machine does not land on one side only. PM2 and esbuild are loaded into
 * this process first: whichever side started first would pay for it.
 */
export async function startupWorkload(
  ctx: BenchContext,
  opts: BenchOptions,
): Promise<{ lab: StartupResult; bare: StartupResult }> {
  await Promise.all([import('pm2'), import('esbuild')]);
  const results = {
    lab: { stage: STARTUP.lab.stage, coldStartMs: [], downMs: [], switches: [] } as StartupResult,
    bare: { stage: STARTUP.bare.stage, coldStartMs: [], downMs: [], switches: [] } as StartupResult,
  };
  for (let i = 0; i < opts.coldStarts; i++) {
    for (const side of ['bare', 'lab'] as const) {
      await startOnce(ctx, STARTUP[side], results[side], i === 0 ? opts.switches : 0, `${i + 1}/${opts.coldStarts}`);
    }
  }
  return results;
}

async function startOnce(
  ctx: BenchContext,
  { stage, other }: { stage: string; other: string },
  result: StartupResult,
  switches: number,
  nth: string,
): Promise<void> {
  let t = performance.now();
  const lab = await ctx.up(stage);
  result.coldStartMs.push(performance.now() - t);
  ctx.progress(`cold start ${nth} of "${stage}" (Redis, nginx, 3 instances under PM2, all healthy): ${ms(t)}`);
  try {
    for (let s = 0; s < switches; s++) {
      for (const [from, to] of [
        [stage, other],
        [other, stage],
      ] as const) {
        ctx.checkAbort();
        t = performance.now();
        await lab.setStage(to);
        result.switches.push({ from, to, ms: performance.now() - t });
        ctx.progress(`stage switch ${from} → ${to}: ${ms(t)}`);
      }
    }
  } finally {
    t = performance.now();
    await ctx.down(lab);
    result.downMs.push(performance.now() - t);
  }
}

// ── e. The lab's own overhead: telemetry on vs off ─────────────────────────────

export async function telemetryWorkload(ctx: BenchContext, opts: BenchOptions): Promise<OverheadResult> {
  const config = CONFIGS['nginx-redis'];
  // Start from "off", so every phase below begins with freshly restarted instances.
  await ctx.use(config.stage, false);
  const phases: OverheadPhase[] = [];
  for (let round = 0; round < opts.rounds; round++) {
    for (const telemetry of [true, false]) {
      const lab = await ctx.use(config.stage, telemetry);
      const targets = cpuTargets(lab);
      const pool = new ClientPool();
      let lat: OpenLoopResult;
      try {
        const { sender, receivers } = await placeSenderAndReceivers(
          pool,
          entryOf(ctx, config),
          opts.receivers,
          `tel-${round}`,
        );
        await Promise.all([sender, ...receivers].map((c) => join(c, ROOM)));
        lat = await openLoop(ctx, {
          sender,
          receivers,
          room: ROOM,
          rate: opts.telemetryRate,
          seconds: opts.seconds,
          warmupSeconds: opts.warmupSeconds,
          cpuTargets: targets,
        });
      } finally {
        pool.close();
      }
      const { run } = await fanoutOnce(ctx, config, opts, targets);
      const phase: OverheadPhase = {
        telemetry,
        latencyMs: lat.latency.summaryMs(),
        lost: lat.lost + run.lost,
        deliveriesPerSec: run.deliveriesPerSec,
        fanoutLatencyMs: run.latencyMs,
        cpuLatency: lat.cpu,
        cpuFanout: run.cpu,
      };
      phases.push(phase);
      ctx.progress(
        `telemetry ${telemetry ? 'on ' : 'off'} (round ${round + 1}/${opts.rounds}): latency p50 ${fmt(phase.latencyMs.p50)} p99 ${fmt(phase.latencyMs.p99)} ms at ${opts.telemetryRate}/s, ` +
          `fan-out ${Math.round(phase.deliveriesPerSec)} deliveries/s`,
      );
    }
  }
  const mean = (on: boolean, pick: (p: OverheadPhase) => number): number => {
    const xs = phases.filter((p) => p.telemetry === on).map(pick);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  const ratio = (pick: (p: OverheadPhase) => number): number => mean(true, pick) / mean(false, pick);
  return {
    config: config.id,
    label: config.label,
    rate: opts.telemetryRate,
    clients: opts.clients,
    window: opts.window,
    seconds: opts.seconds,
    phases,
    ratios: {
      latencyP50: ratio((p) => p.latencyMs.p50),
      latencyP99: ratio((p) => p.latencyMs.p99),
      fanoutThroughput: ratio((p) => p.deliveriesPerSec),
    },
  };
}
