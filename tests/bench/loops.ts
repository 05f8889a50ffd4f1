// The two load generators.
//
// Open loop (latency): messages are scheduled at fixed intended times,
// t0 + i/rate, whatever happens to earlier ones. Latency is measured from the
// INTENDED time, so a stall anywhere (server, Redis, nginx, or the bench's own
// event loop) counts against every message it delays, instead of silently
// pausing the load (no coordinated omission). The bench's own lateness is
// recorded separately as "send lag".
//
// Closed loop (fan-out): a fixed number of messages in flight to one room; a
// message leaves the window when every member has it (or after 2 s, lost),
// and the next one is sent at once. That measures throughput at saturation.

import type { BenchClient } from './clients.ts';
import type { BenchContext } from './context.ts';
import { CpuMeter, type CpuTarget, type CpuUse } from './cpu.ts';
import { Histogram } from './histogram.ts';

/** The payload of every bench message (48 characters). */
const TEXT = 'bench payload: the quick brown fox jumps over it';
/** A delivery not seen this long after its message was sent is lost. */
const LOST_AFTER_MS = 2000;

let runs = 0;
/** msgIds are `${tag}${seq}`; the tag keeps runs apart should a late message of an earlier run arrive. */
const nextTag = (kind: string): string => `${kind}${++runs}-`;

interface ChatLike {
  msgId: string;
}

export interface OpenLoopResult {
  sent: number;
  expected: number;
  received: number;
  lost: number;
  achievedRate: number;
  latency: Histogram;
  sendLag: Histogram;
  cpu: CpuUse[];
}

export async function openLoop(
  ctx: BenchContext,
  args: {
    sender: BenchClient;
    receivers: BenchClient[];
    room: string;
    rate: number;
    seconds: number;
    warmupSeconds: number;
    cpuTargets: CpuTarget[];
  },
): Promise<OpenLoopResult> {
  const { sender, receivers, room, rate } = args;
  const interval = 1000 / rate;
  const warm = Math.round(args.warmupSeconds * rate);
  const measured = Math.max(1, Math.round(args.seconds * rate));
  const total = warm + measured;
  const tag = nextTag('L');
  const latency = new Histogram();
  const sendLag = new Histogram();
  let received = 0;
  let t0 = 0;

  const onChat = (m: ChatLike): void => {
    if (typeof m?.msgId !== 'string' || !m.msgId.startsWith(tag)) return;
    const seq = Number(m.msgId.slice(tag.length));
    if (seq < warm) return;
    latency.recordMs(performance.now() - (t0 + seq * interval));
    received++;
  };
  for (const r of receivers) r.socket.on('chat', onChat);

  let meter: CpuMeter | null = null;
  let cpu: CpuUse[] = [];
  let firstMeasuredAt = 0;
  let lastSentAt = 0;
  let sent = 0;
  try {
    await new Promise<void>((resolve) => {
      let next = 0;
      const tick = (): void => {
        if (ctx.aborted) {
          resolve();
          return;
        }
        const now = performance.now();
        while (next < total && t0 + next * interval <= now) {
          if (next === warm) {
            meter = new CpuMeter(args.cpuTargets);
            firstMeasuredAt = now;
          }
          if (next >= warm) {
            sendLag.recordMs(now - (t0 + next * interval));
            sent++;
          }
          sender.socket.emit('chat', { room, text: TEXT, msgId: `${tag}${next}` });
          next++;
        }
        if (next >= total) {
          lastSentAt = now;
          cpu = meter?.stop() ?? [];
          resolve();
          return;
        }
        setTimeout(tick, Math.max(0, t0 + next * interval - performance.now()));
      };
      t0 = performance.now() + 5;
      setTimeout(tick, 5);
    });
    ctx.checkAbort();
    const expected = sent * receivers.length;
    // Let the last messages arrive; whatever is still missing then is lost.
    const deadline = performance.now() + LOST_AFTER_MS;
    while (received < expected && performance.now() < deadline) await ctx.sleep(10);
    const spanSeconds = Math.max((lastSentAt - firstMeasuredAt) / 1000 + 1 / rate, 1e-9);
    return {
      sent,
      expected,
      received,
      lost: expected - received,
      achievedRate: sent / spanSeconds,
      latency,
      sendLag,
      cpu,
    };
  } finally {
    for (const r of receivers) r.socket.off('chat', onChat);
  }
}

export interface ClosedLoopResult {
  /** Messages every member got within the measured window. */
  messages: number;
  deliveries: number;
  deliveriesPerSec: number;
  messagesPerSec: number;
  lost: number;
  latency: Histogram;
  completion: Histogram;
  cpu: CpuUse[];
}

export async function closedLoop(
  ctx: BenchContext,
  args: {
    clients: BenchClient[];
    room: string;
    window: number;
    seconds: number;
    warmupSeconds: number;
    cpuTargets: CpuTarget[];
  },
): Promise<ClosedLoopResult> {
  const { clients, room, window } = args;
  const members = clients.length;
  const tag = nextTag('F');
  const latency = new Histogram();
  const completion = new Histogram();
  const inFlight = new Map<number, { sentAt: number; got: number; measured: boolean }>();
  let phase: 'warm' | 'measure' | 'drain' = 'warm';
  let next = 0;
  let deliveries = 0;
  let messages = 0;
  let lost = 0;

  const send = (): void => {
    const seq = next++;
    // Senders take turns, so messages start on every instance.
    const from = clients[seq % members]!;
    inFlight.set(seq, { sentAt: performance.now(), got: 0, measured: phase === 'measure' });
    from.socket.emit('chat', { room, text: TEXT, msgId: `${tag}${seq}` });
  };
  const fill = (): void => {
    while (phase !== 'drain' && inFlight.size < window) send();
  };
  const onChat = (m: ChatLike): void => {
    if (typeof m?.msgId !== 'string' || !m.msgId.startsWith(tag)) return;
    const seq = Number(m.msgId.slice(tag.length));
    const entry = inFlight.get(seq);
    if (!entry) return;
    const now = performance.now();
    entry.got++;
    if (phase === 'measure') deliveries++;
    if (entry.measured) latency.recordMs(now - entry.sentAt);
    if (entry.got >= members) {
      inFlight.delete(seq);
      if (entry.measured) completion.recordMs(now - entry.sentAt);
      if (phase === 'measure') messages++;
      fill();
    }
  };
  const sweep = (): void => {
    const now = performance.now();
    for (const [seq, entry] of inFlight) {
      if (now - entry.sentAt < LOST_AFTER_MS) continue;
      inFlight.delete(seq);
      if (entry.measured) lost += members - entry.got;
    }
    fill();
  };

  for (const c of clients) c.socket.on('chat', onChat);
  const sweeper = setInterval(sweep, 100);
  try {
    fill();
    await ctx.sleep(args.warmupSeconds * 1000);
    phase = 'measure';
    const meter = new CpuMeter(args.cpuTargets);
    const start = performance.now();
    await ctx.sleep(args.seconds * 1000);
    const seconds = (performance.now() - start) / 1000;
    const cpu = meter.stop();
    phase = 'drain';
    const deadline = performance.now() + LOST_AFTER_MS;
    while ([...inFlight.values()].some((e) => e.measured) && performance.now() < deadline) await ctx.sleep(10);
    for (const entry of inFlight.values()) if (entry.measured) lost += members - entry.got;
    return {
      messages,
      deliveries,
      deliveriesPerSec: deliveries / seconds,
      messagesPerSec: messages / seconds,
      lost,
      latency,
      completion,
      cpu,
    };
  } finally {
    clearInterval(sweeper);
    phase = 'drain';
    for (const c of clients) c.socket.off('chat', onChat);
  }
}
