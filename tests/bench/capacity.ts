// g. Capacity at scale: ramp to N live WebSocket clients through nginx
// (10,000 by default), then measure what they cost and what they do, then
// kill -9 the busiest instance and watch its clients come back.
//
//   ramp      N clients, each from one of SOURCES loopback /24s so ip_hash
//             spreads them; connections over time and the set-up rate.
//   memory    per instance, heap and RSS per connection after a forced GC,
//             against the same instances before the ramp.
//   chat      rooms of ROOM_SIZE, one message per second per room, open loop:
//             delivery latency (cross-instance and same-instance apart), Redis
//             PUBLISH calls/s from Redis's own INFO commandstats, CPU.
//   kill -9   (killRuns, after every configuration's chat) the busiest
//             instance, from a fresh ramp each time, once with the client's
//             reconnection jitter on (randomizationFactor 0.5, socket.io-client's
//             default) and once off (0): every client's reconnect time, the
//             spread, time to 99 %.
//
// The clients are socket.io-client sockets in the bench process (≈ 16 KB RSS
// each, measured at 10,000), which fits in one process: 10,000 descriptors
// under the 20,000 open-files limit.

import { readdirSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createClient } from 'redis';
import { describeConnectError, sourceAddress } from '../../server/lab/fleet.ts';
import { getHealth } from '../../server/lab/health.ts';
import type { Lab } from '../../server/lab/lab.ts';
import { FAIL_TIMEOUT_S, nginxErrorTail } from '../../server/lab/services/nginx.ts';
import { instancePort } from '../../server/lab/settings.ts';
import { ClientPool, entryFor, type BenchClient } from './clients.ts';
import { CONFIGS, cpuTargets, ms, type BenchContext } from './context.ts';
import { CpuMeter, type CpuUse } from './cpu.ts';
import { Histogram, type Percentiles } from './histogram.ts';
import type { BenchOptions } from './options.ts';
import type { ConfigId, MemorySample } from './results.ts';
import { restartInstances, sampleMemory } from './workloads.ts';

/** Loopback /24s the clients come from: enough for ip_hash to spread evenly, few enough to reuse agents. */
const SOURCES = 1000;
/** Route probes take sources after the WebSocket and polling clients' own. */
const PROBE_SOURCES = 2 * SOURCES + 1;
const CONNECT_CONCURRENCY = 200;
export const ROOM_SIZE = 50;
/** The chat phase: each room gets one message per second. */
const ROOM_RATE = 1;
const TEXT = 'capacity payload: one chat line of ordinary size..';
/** socket.io-client's reconnection defaults, written out so the two kill runs differ only in jitter. */
const RECONNECT = { delayMs: 1000, maxDelayMs: 5000 } as const;
export const JITTERS = [0.5, 0] as const;
/**
 * The bench process holds every client: a full collection of an earlier
 * run's garbage in the middle of a measurement stalls the clients, not the
 * stack (seen: event-loop delay p99 520 ms in the second configuration's chat).
 * So collect before each measured phase when node runs with --expose-gc (npm
 * run bench does).
 */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** A kill run ends when everyone is back, or this long after the kill. */
const KILL_WINDOW_MS = 30_000;
/** Reconnect histogram bins. */
const BIN_MS = 100;

export interface CapacityRamp {
  target: number;
  connected: number;
  failed: number;
  /** The first few distinct reasons a connection failed. */
  errors: string[];
  seconds: number;
  /** connected ÷ seconds. */
  perSecond: number;
  /** Connected clients over time (seconds since the ramp began). */
  timeline: { t: number; connected: number }[];
  spread: Record<string, number>;
}

export interface CapacityChat {
  rooms: number;
  roomSize: number;
  seconds: number;
  sent: number;
  expected: number;
  received: number;
  lost: number;
  deliveriesPerSec: number;
  /** Receipt minus intended send time, every delivery. */
  latencyMs: Percentiles;
  /** How late the bench itself sent each message (already inside every latency figure). */
  sendLagMs: Percentiles;
  /** Only deliveries to a client on another instance than the sender's (through Redis). */
  crossInstanceMs: Percentiles;
  /** Redis PUBLISH calls per second in the window (INFO commandstats). */
  redisPublishPerSec: number;
  /** …per chat message sent. */
  redisPublishPerMessage: number;
  cpu: CpuUse[];
  /** The bench process's own event-loop delay p99 (it hosts every client: a high figure means the clients, not the stack, were slow). */
  clientLoopDelayP99Ms: number;
}

export interface KillRun {
  /** socket.io-client randomizationFactor. */
  jitter: number;
  serverId: string;
  /** Clients on it when it was killed. */
  clients: number;
  reconnected: number;
  /** Kill → that client's welcome from an instance again, ms. */
  reconnectMs: Percentiles;
  /** Kill → 99 % of them back (null: never within the window). */
  msTo99: number | null;
  /** Kill → the first and the last back. */
  firstMs: number | null;
  lastMs: number | null;
  /** Reconnects per BIN_MS bin since the kill. */
  histogram: { fromMs: number; count: number }[];
  /** Where they went. */
  landedOn: Record<string, number>;
  /** Failed reconnect attempts on the way, and their reasons (counts). */
  failedAttempts: number;
  attemptErrors: string[];
}

export interface CapacityResult {
  config: ConfigId;
  label: string;
  /** The measured ramp; `ramps` also holds the fresh ramp before each kill run (killRuns). */
  ramp: CapacityRamp;
  ramps: CapacityRamp[];
  /** Long-polling clients connected on top of the WebSocket ones and held through the chat (null: none asked for). */
  polling: CapacityRamp | null;
  memoryBefore: MemorySample[];
  memoryAfter: MemorySample[];
  perConnection: { serverId: string; connections: number; heapKB: number; rssKB: number }[];
  meanKB: { heap: number; rss: number };
  /** RSS of the bench process per client it holds (what one simulated client costs); null when not measurable (the process reused memory an earlier run had freed). */
  clientKB: number | null;
  chat: CapacityChat | null;
  kills: KillRun[];
}

interface CapClient extends BenchClient {
  index: number;
}

export async function capacityWorkload(
  ctx: BenchContext,
  opts: BenchOptions,
  configId: ConfigId = 'nginx-redis',
): Promise<CapacityResult> {
  const config = CONFIGS[configId];
  const filesAtStart = openFiles();
  const lab = await ctx.use(config.stage, false);
  await restartInstances(ctx, lab, `capacity ${configId}`);
  const ports = Array.from({ length: config.instances }, (_, i) => instancePort(ctx.settings.ports, i));
  const pool = new ClientPool();
  const entry = entryFor(ctx.settings.ports, config.via, config.instances);
  try {
    // Probe the routes first: a probe's polling session must be gone before the baseline is read.
    if (config.via === 'nginx') await nginxRoutesToAll(ctx, lab);
    await ctx.sleep(1000); // start-up garbage settles first
    collectGarbage();
    const memoryBefore = await sampleMemory(ctx, ports);
    const rssBefore = process.memoryUsage().rss;

    // ── ramp ──
    const ramp = await rampTo(ctx, pool, (i) => entry.url(i), opts.capacity, configId, JITTERS[0]);
    warnIfUneven(ctx, ramp, config.instances);
    const ramps = [ramp];
    const clients = pool.clients as CapClient[];
    if (clients.length === 0) throw new Error(`capacity ${configId}: no client connected (${ramp.errors.join('; ')})`);
    await ctx.sleep(1000); // handshakes finish, buffers settle
    const memoryAfter = await sampleMemory(ctx, ports);
    const perConnection = memoryAfter.map((s) => {
      const b = memoryBefore.find((x) => x.serverId === s.serverId);
      const added = s.connections - (b?.connections ?? 0);
      const per = (now: number, then: number | undefined): number =>
        b && added > 0 ? (now - (then ?? 0)) / added / 1024 : 0;
      return {
        serverId: s.serverId,
        connections: added,
        heapKB: per(s.heapUsed, b?.heapUsed),
        rssKB: per(s.rss, b?.rss),
      };
    });
    // A handful of connections on an instance says nothing about what one costs.
    const measured = perConnection.filter((p) => p.connections >= 20);
    const mean = (f: (p: (typeof measured)[number]) => number): number =>
      measured.reduce((s, p) => s + f(p) * p.connections, 0) / Math.max(1, sumOf(measured.map((p) => p.connections)));
    const meanKB = { heap: mean((p) => p.heapKB), rss: mean((p) => p.rssKB) };
    const grown = (process.memoryUsage().rss - rssBefore) / clients.length / 1024;
    const clientKB = grown > 1 ? grown : null;
    ctx.progress(
      `capacity ${configId}: ${fmt(meanKB.heap, 1)} KB heap, ${fmt(meanKB.rss, 1)} KB RSS per connection on the instances; ` +
        `${clientKB === null ? 'not measurable' : `${fmt(clientKB, 1)} KB`} per simulated client in the bench`,
    );

    // ── long-polling clients on top, held through the chat ──
    const pollingPool = new ClientPool();
    let polling: CapacityRamp | null = null;
    let chat: CapacityChat | null;
    try {
      if (opts.pollingClients > 0)
        polling = await rampTo(
          ctx,
          pollingPool,
          (i) => entry.url(i),
          opts.pollingClients,
          `${configId} polling`,
          0.5,
          'polling',
        );
      // ── chat ──
      collectGarbage();
      chat = await chatPhase(ctx, lab, clients, opts);
    } finally {
      pollingPool.close();
    }

    // The kills come later (killRuns): the chat of every configuration is
    // measured before any kill, so none is measured in a process that has
    // just been through a reconnect storm (seen: the bench's own event loop
    // stalling 500 ms at p99 in the chat that followed another's kills).
    const kills: KillRun[] = [];
    return {
      config: config.id,
      label: config.label,
      ramp,
      ramps,
      polling,
      memoryBefore,
      memoryAfter,
      perConnection,
      meanKB,
      clientKB,
      chat,
      kills,
    };
  } finally {
    const t = performance.now();
    const n = pool.clients.length;
    pool.close();
    await filesReleased(ctx, filesAtStart);
    ctx.progress(`capacity: closed ${n} connections (${ms(t)}); the bench holds ${openFiles()} open files`);
  }
}

/**
 * kill -9 of the busiest instance, with reconnection jitter and without,
 * each from a fresh ramp to the same even spread. Adds its ramps and kills
 * to `result`.
 */
export async function killRuns(ctx: BenchContext, opts: BenchOptions, result: CapacityResult): Promise<void> {
  const config = CONFIGS[result.config];
  if (config.instances < 2) return;
  const lab = await ctx.use(config.stage, false);
  const entry = entryFor(ctx.settings.ports, config.via, config.instances);
  const filesAtStart = openFiles();
  for (const jitter of JITTERS) {
    const pool = new ClientPool();
    try {
      if (config.via === 'nginx') await nginxRoutesToAll(ctx, lab);
      const ramp = await rampTo(
        ctx,
        pool,
        (i) => entry.url(i),
        opts.capacity,
        `${result.config} (kill, jitter ${jitter})`,
        jitter,
      );
      warnIfUneven(ctx, ramp, config.instances);
      result.ramps.push(ramp);
      collectGarbage();
      result.kills.push(await killRun(ctx, lab, pool.clients as CapClient[], jitter));
    } finally {
      pool.close();
      await filesReleased(ctx, filesAtStart);
    }
  }
}

async function rampTo(
  ctx: BenchContext,
  pool: ClientPool,
  urlOf: (i: number) => string,
  target: number,
  tag: string,
  jitter: number,
  transport: 'websocket' | 'polling' = 'websocket',
): Promise<CapacityRamp> {
  const t0 = performance.now();
  const timeline: CapacityRamp['timeline'] = [{ t: 0, connected: 0 }];
  const sampler = setInterval(
    () => timeline.push({ t: round2((performance.now() - t0) / 1000), connected: pool.clients.length }),
    250,
  );
  const errors = new Map<string, number>();
  let failed = 0;
  let cursor = 0;
  const worker = async (): Promise<void> => {
    while (cursor < target) {
      ctx.checkAbort();
      const index = cursor++;
      try {
        const c = (await pool.connect(urlOf(index), {
          name: `cap-${transport}-${index}`,
          // Polling clients take sources of their own, after the WebSocket ones.
          source: sourceAddress(1 + (index % SOURCES) + (transport === 'polling' ? SOURCES : 0)),
          transports: [transport],
          websocket: transport === 'websocket',
          timeoutMs: 15_000,
          reconnect: { ...RECONNECT, jitter },
        })) as CapClient;
        c.index = index;
        // A reconnect lands wherever nginx sends it: keep the client's instance current.
        c.socket.on('welcome', (w: { serverId: string }) => {
          c.serverId = w.serverId;
        });
      } catch (err) {
        failed++;
        const reason = (err instanceof Error ? err.message : String(err)).replace(/^cap-\w+-\d+( → \S+)?: /, '');
        errors.set(reason, (errors.get(reason) ?? 0) + 1);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, worker));
  } finally {
    clearInterval(sampler);
  }
  const seconds = (performance.now() - t0) / 1000;
  const connected = pool.clients.length;
  timeline.push({ t: round2(seconds), connected });
  const spread: Record<string, number> = {};
  for (const c of pool.clients) spread[c.serverId] = (spread[c.serverId] ?? 0) + 1;
  const ramp: CapacityRamp = {
    target,
    connected,
    failed,
    errors: [...errors].slice(0, 5).map(([reason, n]) => `${n}× ${reason}`),
    seconds,
    perSecond: connected / Math.max(seconds, 1e-9),
    timeline,
    spread: sortKeys(spread),
  };
  ctx.progress(
    `capacity ${tag}: ${connected} of ${target} connected in ${fmt(seconds, 1)} s (${Math.round(ramp.perSecond)}/s; ` +
      `${Object.entries(ramp.spread)
        .map(([s, n]) => `${s}:${n}`)
        .join(' ')})${failed ? `, ${failed} failed: ${ramp.errors.join('; ')}` : ''}`,
  );
  return ramp;
}

async function chatPhase(
  ctx: BenchContext,
  lab: Lab,
  clients: CapClient[],
  opts: BenchOptions,
): Promise<CapacityChat | null> {
  const rooms: CapClient[][] = [];
  for (let i = 0; i + ROOM_SIZE <= clients.length; i += ROOM_SIZE) rooms.push(clients.slice(i, i + ROOM_SIZE));
  if (rooms.length === 0) return null;
  const t = performance.now();
  await runLimited(
    rooms.flatMap((members, r) => members.map((c) => ({ c, room: `cap-${r}` }))),
    CONNECT_CONCURRENCY,
    async ({ c, room }) => {
      const ack = (await c.socket.timeout(10_000).emitWithAck('join', room)) as { ok: boolean; error?: string };
      if (!ack.ok) throw new Error(`${c.name} could not join ${room}: ${ack.error}`);
    },
  );
  ctx.progress(`capacity: ${rooms.length} rooms of ${ROOM_SIZE} joined (${ms(t)})`);

  const seconds = Math.max(5, opts.seconds);
  const perRoom = Math.round(seconds * ROOM_RATE);
  const warmPerRoom = 1;
  const stagger = 1000 / ROOM_RATE / rooms.length;
  const interval = 1000 / ROOM_RATE;
  const tag = `cap${Date.now() % 100_000}-`;
  // msgId → sender's instance at send time and intended send time.
  const meta = new Map<string, { from: string; at: number; measured: boolean }>();
  const all = new Histogram();
  const cross = new Histogram();
  const sendLag = new Histogram();
  let received = 0;
  let t0 = 0;
  const onChat = function (this: CapClient, m: { msgId?: unknown }): void {
    if (typeof m?.msgId !== 'string' || !m.msgId.startsWith(tag)) return;
    const info = meta.get(m.msgId);
    if (!info?.measured) return;
    const latency = performance.now() - info.at;
    all.recordMs(latency);
    if (this.serverId !== info.from) cross.recordMs(latency);
    received++;
  };
  const listeners = clients.map((c) => {
    const fn = onChat.bind(c);
    c.socket.on('chat', fn);
    return () => c.socket.off('chat', fn);
  });
  const redis = createClient({ socket: { host: '127.0.0.1', port: ctx.settings.ports.redis } });
  redis.on('error', () => {}); // a failed INFO below says so
  await redis.connect();
  const stats = (): Promise<string> => redis.info('commandstats');
  const loop = monitorEventLoopDelay({ resolution: 10 });
  try {
    const total = (warmPerRoom + perRoom) * rooms.length;
    let sent = 0;
    let meter: CpuMeter | null = null;
    // Redis counts every PUBLISH, warm-up messages included: count over all of them.
    const publishBefore = await publishCalls(stats);
    let allSent = 0;
    let measuredFrom = 0;
    let measuredTo = 0;
    await new Promise<void>((resolve) => {
      let next = 0;
      const tick = (): void => {
        if (ctx.aborted) {
          resolve();
          return;
        }
        const now = performance.now();
        while (next < total && t0 + next * stagger <= now) {
          const r = next % rooms.length;
          const k = Math.floor(next / rooms.length);
          const members = rooms[r]!;
          const sender = members[k % members.length]!;
          const measured = k >= warmPerRoom;
          if (measured && !meter) {
            meter = new CpuMeter(cpuTargets(lab));
            loop.enable();
            measuredFrom = now;
          }
          const msgId = `${tag}${next}`;
          meta.set(msgId, { from: sender.serverId, at: t0 + next * stagger, measured });
          if (measured) {
            sent++;
            sendLag.recordMs(now - (t0 + next * stagger));
          }
          sender.socket.emit('chat', { room: `cap-${r}`, text: TEXT, msgId });
          allSent++;
          next++;
        }
        if (next >= total) {
          resolve();
          return;
        }
        setTimeout(tick, Math.max(0, t0 + next * stagger - performance.now()));
      };
      t0 = performance.now() + 5;
      setTimeout(tick, 5);
    });
    ctx.checkAbort();
    measuredTo = performance.now();
    const windowSeconds = Math.max((measuredTo - measuredFrom) / 1000 + interval / 1000 / rooms.length, 1e-9);
    const sendSpanSeconds = Math.max((measuredTo - t0) / 1000, 1e-9);
    const cpu = (meter as CpuMeter | null)?.stop() ?? [];
    loop.disable();
    const expected = sent * ROOM_SIZE;
    const deadline = performance.now() + 3000;
    while (received < expected && performance.now() < deadline) await ctx.sleep(20);
    // Read after the deliveries: every message has been published by then.
    const publishes = (await publishCalls(stats)) - publishBefore;
    const result: CapacityChat = {
      rooms: rooms.length,
      roomSize: ROOM_SIZE,
      seconds,
      sent,
      expected,
      received,
      lost: expected - received,
      deliveriesPerSec: received / windowSeconds,
      latencyMs: all.summaryMs(),
      sendLagMs: sendLag.summaryMs(),
      crossInstanceMs: cross.summaryMs(),
      redisPublishPerSec: publishes / sendSpanSeconds,
      redisPublishPerMessage: allSent > 0 ? publishes / allSent : 0,
      cpu,
      clientLoopDelayP99Ms: loop.percentile(99) / 1e6,
    };
    ctx.progress(
      `capacity chat: ${rooms.length} rooms × ${ROOM_SIZE}, ${sent} messages, ${received}/${expected} delivered; ` +
        `p50 ${fmt(result.latencyMs.p50)} p99 ${fmt(result.latencyMs.p99)} ms (cross-instance p99 ${fmt(result.crossInstanceMs.p99)}); ` +
        `Redis ${Math.round(result.redisPublishPerSec)} PUBLISH/s; ${cpu.map((c) => `${c.label} ${c.percent}%`).join(' ')}`,
    );
    return result;
  } finally {
    for (const off of listeners) off();
    await redis.quit().catch(() => {});
  }
}

/** Redis's own count of PUBLISH calls since it started (INFO commandstats). */
async function publishCalls(commandStats: () => Promise<string>): Promise<number> {
  const info = await commandStats();
  return Number(/cmdstat_publish:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

async function killRun(ctx: BenchContext, lab: Lab, clients: CapClient[], jitter: number): Promise<KillRun> {
  const onInstance = new Map<string, CapClient[]>();
  for (const c of clients)
    if (c.socket.connected) onInstance.set(c.serverId, [...(onInstance.get(c.serverId) ?? []), c]);
  const [serverId, victims] = [...onInstance].sort((a, b) => b[1].length - a[1].length)[0]!;
  const backAt = new Map<CapClient, number>();
  const landedOn: Record<string, number> = {};
  let killedAt = 0;
  const attemptErrors = new Map<string, number>();
  let failedAttempts = 0;
  const watchers = victims.map((c) => {
    const fn = (w: { serverId: string }): void => {
      if (killedAt === 0 || backAt.has(c)) return;
      backAt.set(c, performance.now() - killedAt);
      landedOn[w.serverId] = (landedOn[w.serverId] ?? 0) + 1;
    };
    const onError = (err: Error): void => {
      failedAttempts++;
      const reason = describeConnectError(err as Parameters<typeof describeConnectError>[0]);
      attemptErrors.set(reason, (attemptErrors.get(reason) ?? 0) + 1);
    };
    c.socket.on('welcome', fn);
    c.socket.io.on('reconnect_error', onError);
    return () => {
      c.socket.off('welcome', fn);
      c.socket.io.off('reconnect_error', onError);
    };
  });
  try {
    killedAt = performance.now();
    await lab.fault({ target: 'instance', serverId, fault: 'crash' });
    const need = Math.ceil(victims.length * 0.99);
    const deadline = killedAt + KILL_WINDOW_MS;
    while (backAt.size < victims.length && performance.now() < deadline) {
      await ctx.sleep(50);
      // Everyone back but a straggler or two: give them a little longer, not the whole window.
      if (backAt.size >= need && performance.now() - killedAt > Math.max(...backAt.values()) + 3000) break;
    }
  } finally {
    for (const off of watchers) off();
  }
  const times = [...backAt.values()].sort((a, b) => a - b);
  const h = new Histogram();
  for (const t of times) h.recordMs(t);
  const need = Math.ceil(victims.length * 0.99);
  const bins = new Map<number, number>();
  for (const t of times)
    bins.set(Math.floor(t / BIN_MS) * BIN_MS, (bins.get(Math.floor(t / BIN_MS) * BIN_MS) ?? 0) + 1);
  const lastBin = times.length ? Math.floor(times.at(-1)! / BIN_MS) * BIN_MS : 0;
  const histogram: KillRun['histogram'] = [];
  for (let b = 0; b <= lastBin; b += BIN_MS) histogram.push({ fromMs: b, count: bins.get(b) ?? 0 });
  const run: KillRun = {
    jitter,
    serverId,
    clients: victims.length,
    reconnected: times.length,
    reconnectMs: h.summaryMs(),
    msTo99: times.length >= need ? times[need - 1]! : null,
    firstMs: times[0] ?? null,
    lastMs: times.at(-1) ?? null,
    histogram,
    landedOn: sortKeys(landedOn),
    failedAttempts,
    attemptErrors: [...attemptErrors]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([reason, n]) => `${n}× ${reason}`),
  };
  ctx.progress(
    `capacity kill -9 ${serverId} (${victims.length} clients, jitter ${jitter}): ${times.length} back; ` +
      `first ${fmt(run.firstMs ?? Number.NaN, 0)} ms, 99 % at ${run.msTo99 === null ? 'never' : `${Math.round(run.msTo99)} ms`}, ` +
      `last ${fmt(run.lastMs ?? Number.NaN, 0)} ms; landed on ${Object.entries(run.landedOn)
        .map(([s, n]) => `${s}:${n}`)
        .join(' ')}${failedAttempts ? `; ${failedAttempts} failed attempts: ${run.attemptErrors.join('; ')}` : ''}`,
  );
  await trustAgain(ctx, lab, serverId, victims[0]!.source);
  return run;
}

/**
 * Before a ramp: every instance has served a short polling session through
 * nginx. nginx counts an instance that refused a connection as failed until
 * a connection it proxied there ends well; WebSockets do not end, so without
 * this an instance that hiccuped once can stay nearly empty for a whole ramp.
 */
async function nginxRoutesToAll(ctx: BenchContext, lab: Lab): Promise<void> {
  const want = lab
    .status()
    .instances.filter((i) => i.online)
    .map((i) => i.serverId);
  const seen = new Set<string>();
  const probe = new ClientPool();
  const deadline = performance.now() + 30_000;
  try {
    for (let k = 0; seen.size < want.length && performance.now() < deadline; k++) {
      // Each round waits out fail_timeout first: then nginx lets one request try a failed instance.
      if (k % (4 * want.length) === 0) await ctx.sleep(FAIL_TIMEOUT_S * 1000 + 200);
      const c = await probe
        .connect(`http://127.0.0.1:${ctx.settings.ports.nginx}`, {
          name: 'route-probe',
          source: sourceAddress(PROBE_SOURCES + k),
          transports: ['polling'],
          websocket: false,
        })
        .catch(() => null);
      if (c) {
        seen.add(c.serverId);
        probe.drop(c);
      }
    }
  } finally {
    probe.close();
  }
  if (seen.size < want.length)
    ctx.progress(`capacity: nginx routes to ${[...seen].sort().join(', ') || 'nothing'} only, of ${want.join(', ')}`);
}

/** Say so when ip_hash left an instance far below its share: the figures then are not of an even spread. */
function warnIfUneven(ctx: BenchContext, ramp: CapacityRamp, instances: number): void {
  const share = ramp.connected / instances;
  const low = Object.entries(ramp.spread).filter(([, n]) => n < share / 2);
  const missing = instances - Object.keys(ramp.spread).length;
  if (low.length > 0 || missing > 0)
    ctx.progress(
      `capacity: uneven spread (${Object.entries(ramp.spread)
        .map(([s, n]) => `${s}:${n}`)
        .join(
          ' ',
        )}): nginx routed around an instance; its error log: ${nginxErrorTail(ctx.settings.runDir, 3).join(' | ') || '(empty)'}`,
    );
}

/**
 * After a kill, nginx counts the instance as failed until a connection it
 * proxied there *ends* well; a WebSocket that lands there does not end, so
 * ip_hash keeps rehashing its clients elsewhere. A short polling session from
 * a source that hashes to it ends that state (as any ordinary HTTP request
 * would in production), so the next run starts from the same routing.
 */
async function trustAgain(ctx: BenchContext, lab: Lab, serverId: string, source: string): Promise<void> {
  const port = lab.status().instances.find((i) => i.serverId === serverId)?.port;
  const until = performance.now() + 15_000;
  while (port !== undefined && performance.now() < until && !(await getHealth(port, { timeoutMs: 500 })))
    await ctx.sleep(100);
  const probe = new ClientPool();
  try {
    for (let attempt = 0; attempt < 10; attempt++) {
      await ctx.sleep(FAIL_TIMEOUT_S * 1000 + 200);
      const c = await probe
        .connect(`http://127.0.0.1:${ctx.settings.ports.nginx}`, {
          name: 'trust-probe',
          source,
          transports: ['polling'],
          websocket: false,
        })
        .catch(() => null);
      if (c) probe.drop(c);
      if (c?.serverId === serverId) return;
    }
    ctx.progress(`capacity: nginx still routes around ${serverId} after its restart`);
  } finally {
    probe.close();
  }
}

async function runLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (i < items.length) await work(items[i++]!);
    }),
  );
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })));
}

/**
 * Closed sockets keep their descriptors until the close handshake ends. The
 * next ramp of 10,000 must not start on top of the last one's (the process
 * may hold 20,000 files): wait until they are released, up to 40 s.
 */
async function filesReleased(ctx: BenchContext, baseline: number): Promise<void> {
  const t = performance.now();
  const deadline = t + 40_000;
  while (openFiles() > baseline + 200 && performance.now() < deadline) await ctx.sleep(250);
  if (openFiles() > baseline + 200)
    ctx.progress(`capacity: ${openFiles() - baseline} closed connections still hold files after ${ms(t)}`);
}

/** Open file descriptors of this process (Linux), or NaN. */
function openFiles(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return Number.NaN;
  }
}

const sumOf = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const round2 = (n: number): number => Math.round(n * 100) / 100;
const fmt = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');
