// The terminal report: one table per workload, the bare server measured in
// the same run next to the figures it compares with, and each process's CPU share.

import { busesTableRows } from './buses.ts';
import type { CpuUse } from './cpu.ts';
import type { CapacityResult } from './capacity.ts';
import { COURSE_FACTS } from './goals.ts';
import type { BenchReport } from './results.ts';
import { viewTableLines } from './view.ts';
import { bareLatencyAt, slowestSwitchMs, times, vsBareRows } from './vs-bare.ts';

type Align = 'l' | 'r';

/** Columns padded to their widest cell; a header rule under the first row. */
export function formatRows(rows: string[][], align: Align[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    r
      .map((cell, i) => (align[i] === 'r' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const [head, ...body] = rows;
  return [line(head!), widths.map((w) => '─'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export const num = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const ratio = (n: number): string => (Number.isFinite(n) ? `×${n.toFixed(3)}` : '–');

/** "s1 31 s2 9 s3 9 redis 4 nginx 7 bench 38" (% of one core; PM2's daemon only when it did anything). */
export function cpuText(cpu: CpuUse[]): string {
  return cpu
    .filter((c) => c.label !== 'pm2' || c.percent >= 1)
    .map((c) => `${c.label} ${Math.round(c.percent)}`)
    .join(' ');
}

export function formatReport(r: BenchReport): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(
    `Socket.IO scaling lab — bench, ${r.startedAt.slice(0, 19).replace('T', ' ')} UTC, ${Math.round(r.durationSeconds)} s`,
    `${m.cpus} × ${m.cpuModel}, ${m.totalMemoryGiB} GiB, Node ${m.node}, Redis ${m.redis ?? '?'}, nginx ${m.nginx ?? '?'}; ` +
      `load average ${m.loadAverageAtStart.join(' ')} → ${m.loadAverageAtEnd.join(' ')}`,
    `Instances run without telemetry except in the telemetry section. CPU: % of one core over the measured window (bench = this process: clients + lab).`,
  );

  if (r.latency.length > 0) {
    const rows: string[][] = [
      ['configuration', 'rate/s', 'sent', 'lost', 'p50', 'p90', 'p99', 'max', 'lag p50', 'vs bare', 'CPU %'],
    ];
    for (const run of r.latency) {
      const bare = run.config === 'bare' ? undefined : bareLatencyAt(r, run.rate);
      const base = bare
        ? `p50 ${times(run.latencyMs.p50 / bare.latencyMs.p50)}, p99 ${times(run.latencyMs.p99 / bare.latencyMs.p99)}`
        : '';
      rows.push([
        run.label,
        String(run.rate),
        String(run.sent),
        String(run.lost),
        num(run.latencyMs.p50),
        num(run.latencyMs.p90),
        num(run.latencyMs.p99),
        num(run.latencyMs.max),
        num(run.sendLagMs.p50),
        base,
        cpuText(run.cpu),
      ]);
    }
    out.push(
      '',
      'a. Cross-instance delivery latency, ms — open loop, measured from the INTENDED send time (one sender; receivers on other instances)',
    );
    out.push(formatRows(rows, ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l', 'l']));
    const recv = r.latency[0]!.receiversOn.length;
    out.push(
      `   ${recv} receivers per run; "lag p50" is how late the bench itself sent (Node timers), already inside every latency figure.`,
    );
  }

  const bareFanout = r.fanout.find((f) => f.config === 'bare');
  if (r.fanout.length > 0) {
    const rows = [
      [
        'configuration',
        'clients',
        'window',
        'spread',
        'deliveries/s',
        'msgs/s',
        'p50',
        'p99',
        'max',
        'all-members p99',
        'lost',
        'vs bare',
        'CPU %',
      ],
      ...r.fanout.map((f) => [
        f.label,
        String(f.clients),
        String(f.window),
        Object.entries(f.spread)
          .map(([s, n]) => `${s}:${n}`)
          .join(' '),
        int(f.deliveriesPerSec),
        int(f.messagesPerSec),
        num(f.latencyMs.p50),
        num(f.latencyMs.p99),
        num(f.latencyMs.max),
        num(f.completionMs.p99),
        String(f.lost),
        bareFanout && f !== bareFanout ? times(f.deliveriesPerSec / bareFanout.deliveriesPerSec) : '',
        cpuText(f.cpu),
      ]),
    ];
    out.push('', 'b. Fan-out throughput — closed loop, one room, latency per delivery in ms');
    out.push(formatRows(rows, ['l', 'r', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l', 'l']));
  }

  if (r.memory) {
    const mem = r.memory;
    const ids = mem.levels[0]?.instances.map((s) => s.serverId) ?? [];
    const rows: string[][] = [
      ['connections', ...ids.flatMap((id) => [`${id} conns`, `${id} heap MB`, `${id} RSS MB`])],
    ];
    for (const level of mem.levels) {
      rows.push([
        `${level.connected}${level.failed ? ` (${level.failed} failed)` : ''}`,
        ...ids.flatMap((id) => {
          const s = level.instances.find((x) => x.serverId === id);
          return s ? [String(s.connections), num(s.heapUsed / 2 ** 20, 1), num(s.rss / 2 ** 20, 1)] : ['–', '–', '–'];
        }),
      ]);
    }
    out.push(
      '',
      `c. Memory per idle connection — ${mem.label}, WebSocket, connected straight to the instances; heap after a forced GC${mem.gcAvailable ? '' : ' (NOT available: instances lack --expose-gc)'}`,
    );
    out.push(formatRows(rows, ['r', ...ids.flatMap((): Align[] => ['r', 'r', 'r'])]));
    const per = mem.perConnection.map((p) => `${p.serverId} ${num(p.heapKB, 1)} / ${num(p.rssKB, 1)}`).join(', ');
    out.push(
      `   per connection (heap / RSS, KB): ${per}; mean ${num(mem.meanKB.heap, 1)} / ${num(mem.meanKB.rss, 1)} KB` +
        ` — rule of thumb (course texts) ${mem.ruleOfThumbKB[0]}–${mem.ruleOfThumbKB[1]} KB` +
        ` (${withinRule(mem.meanKB.rss, mem.ruleOfThumbKB)} for RSS)`,
      ...(mem.marginalKB
        ? [
            `   from ${mem.levels.at(-2)!.connected} to ${mem.levels.at(-1)!.connected} connections (no start-up memory in it): ${num(mem.marginalKB.heap, 1)} KB heap, ${num(mem.marginalKB.rss, 1)} KB RSS per connection`,
          ]
        : []),
      `   CPU while connecting: ${cpuText(mem.cpuWhileConnecting)}`,
      ...(r.bareMemory ? [bareMemoryLine(r.bareMemory, mem)] : []),
    );
  }

  if (r.startup) {
    const s = r.startup;
    const rows: string[][] = [['what', 'runs, ms', 'min', 'max']];
    for (const side of [s, r.bareStartup]) {
      if (!side) continue;
      const line = (what: string, list: number[]): void => {
        rows.push([what, list.map((x) => int(x)).join(', '), int(Math.min(...list)), int(Math.max(...list))]);
      };
      line(`cold start "${side.stage}" (Lab.up until healthy)`, side.coldStartMs);
      const pairs = new Map<string, number[]>();
      for (const sw of side.switches)
        pairs.set(`switch ${sw.from} → ${sw.to}`, [...(pairs.get(`switch ${sw.from} → ${sw.to}`) ?? []), sw.ms]);
      for (const [what, list] of pairs) line(what, list);
      line(`down "${side.stage}"`, side.downMs);
    }
    out.push(
      '',
      'd. Start-up: the lab and the bare server, alternated (PM2 and esbuild are loaded into this process first)',
    );
    out.push(formatRows(rows, ['l', 'r', 'r', 'r']));
    if (r.bareStartup?.switches.length && s.switches.length)
      out.push(`   slowest switch: lab ${int(slowestSwitchMs(s))} ms, bare ${int(slowestSwitchMs(r.bareStartup))} ms`);
  }

  if (r.telemetry) {
    const t = r.telemetry;
    const rows: string[][] = [
      [
        '#',
        'telemetry',
        'p50',
        'p99',
        'max',
        'deliveries/s',
        'fan-out p99',
        'lost',
        'CPU % (latency run)',
        'CPU % (fan-out run)',
      ],
    ];
    for (const [i, p] of t.phases.entries()) {
      rows.push([
        String(i + 1),
        p.telemetry ? 'on' : 'off',
        num(p.latencyMs.p50),
        num(p.latencyMs.p99),
        num(p.latencyMs.max),
        int(p.deliveriesPerSec),
        num(p.fanoutLatencyMs.p99),
        String(p.lost),
        cpuText(p.cpuLatency),
        cpuText(p.cpuFanout),
      ]);
    }
    out.push(
      '',
      `e. The lab's own overhead — ${t.label}: latency at ${t.rate}/s and fan-out (${t.clients} clients, window ${t.window}), telemetry on and off alternated`,
    );
    out.push(formatRows(rows, ['r', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'l', 'l']));
    const limit = 1 + r.goals.telemetryMaxCost;
    out.push(
      `   on/off: latency p50 ${ratio(t.ratios.latencyP50)}, p99 ${ratio(t.ratios.latencyP99)}, fan-out throughput ${ratio(t.ratios.fanoutThroughput)}` +
        ` — target: telemetry costs at most ${Math.round(r.goals.telemetryMaxCost * 100)} % (p50 ≤ ×${limit.toFixed(2)}, throughput ≥ ×${(1 - r.goals.telemetryMaxCost).toFixed(2)})`,
    );
  }

  if (r.vsBare.length > 0) {
    out.push('', 'f. The lab against the bare server (tests/bench/bare/server.ts), both measured in this run');
    out.push(formatRows(vsBareRows(r.vsBare), ['l', 'l', 'r', 'r', 'r', 'l', 'l']));
  }
  if (r.buses.length > 0) {
    out.push(
      '',
      `i. The buses side by side — latency in ms at ${r.buses[0]!.fixedRate.rate}/s (open loop), the highest rate sustained with 0 lost ("+": the ramp's top), fan-out (closed loop)`,
    );
    out.push(formatRows(busesTableRows(r.buses), ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r']));
  }
  for (const c of r.capacity) out.push('', ...capacityLines(c));
  if (r.view) out.push('', ...viewTableLines(r.view, cpuText));
  return out.join('\n');
}

function capacityLines(c: CapacityResult): string[] {
  const out: string[] = [];
  const spread = (o: Record<string, number>): string =>
    Object.entries(o)
      .map(([s, n]) => `${s}:${n}`)
      .join(' ');
  out.push(
    `g. Capacity — ${c.label}: ${int(c.ramp.target)} WebSocket clients through nginx, then chat in rooms of ${c.chat?.roomSize ?? '–'} at 1 message/s per room, then kill -9 of the busiest instance`,
  );
  const rows: string[][] = [['ramp', 'connected', 'failed', 'seconds', 'per second', 'spread']];
  for (const [i, ramp] of c.ramps.entries())
    rows.push([
      i === 0 ? 'measured' : `before kill ${i} (jitter ${c.kills[i - 1]?.jitter ?? '?'})`,
      int(ramp.connected),
      String(ramp.failed),
      num(ramp.seconds, 1),
      int(ramp.perSecond),
      spread(ramp.spread),
    ]);
  if (c.polling)
    rows.push([
      'long-polling, on top',
      int(c.polling.connected),
      String(c.polling.failed),
      num(c.polling.seconds, 1),
      int(c.polling.perSecond),
      spread(c.polling.spread),
    ]);
  out.push(formatRows(rows, ['l', 'r', 'r', 'r', 'r', 'l']));
  for (const ramp of [...c.ramps, ...(c.polling ? [c.polling] : [])])
    if (ramp.errors.length) out.push(`   failures: ${ramp.errors.join('; ')}`);
  const per = c.perConnection.map((p) => `${p.serverId} ${num(p.heapKB, 1)} / ${num(p.rssKB, 1)}`).join(', ');
  out.push(
    `   per connection after GC (heap / RSS, KB): ${per}; mean ${num(c.meanKB.heap, 1)} / ${num(c.meanKB.rss, 1)} KB` +
      ` — course texts: ${COURSE_FACTS.ruleOfThumbKB[0]}–${COURSE_FACTS.ruleOfThumbKB[1]} KB per connection, ` +
      `${int(COURSE_FACTS.connectionsOn2Cores[0])}–${int(COURSE_FACTS.connectionsOn2Cores[1])} connections on 2 cores`,
    c.clientKB === null
      ? '   one simulated client: not measurable in this run (the bench reused memory an earlier run freed)'
      : `   one simulated client costs the bench ${num(c.clientKB, 1)} KB of RSS (socket.io-client, WebSocket only)`,
  );
  if (c.chat) {
    const ch = c.chat;
    out.push(
      `   chat: ${ch.rooms} rooms × ${ch.roomSize}, ${ch.sent} messages in ${ch.seconds} s, ${int(ch.received)}/${int(ch.expected)} delivered (${int(ch.deliveriesPerSec)}/s, ${ch.lost} lost); ` +
        `latency p50 ${num(ch.latencyMs.p50)} p99 ${num(ch.latencyMs.p99)} ms, cross-instance p50 ${num(ch.crossInstanceMs.p50)} p99 ${num(ch.crossInstanceMs.p99)} ms ` +
        `(send lag p99 ${num(ch.sendLagMs.p99)} ms, bench event-loop delay p99 ${num(ch.clientLoopDelayP99Ms)} ms)`,
      `   Redis: ${int(ch.redisPublishPerSec)} PUBLISH/s, ${num(ch.redisPublishPerMessage)} per chat message (INFO commandstats); CPU: ${cpuText(ch.cpu)}`,
    );
  }
  if (c.kills.length) {
    const rows2: string[][] = [
      ['kill -9', 'jitter', 'clients', 'back', 'first', 'p50', '99 % back', 'last', 'landed on', 'failed attempts'],
    ];
    for (const k of c.kills)
      rows2.push([
        k.serverId,
        String(k.jitter),
        int(k.clients),
        int(k.reconnected),
        k.firstMs === null ? '–' : int(k.firstMs),
        int(k.reconnectMs.p50),
        k.msTo99 === null ? 'never' : int(k.msTo99),
        k.lastMs === null ? '–' : int(k.lastMs),
        spread(k.landedOn),
        k.failedAttempts ? `${k.failedAttempts}: ${k.attemptErrors.join('; ')}` : '0',
      ]);
    out.push(formatRows(rows2, ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l', 'l']));
    out.push("   times in ms from the kill to each client's welcome from an instance again");
  }
  return out;
}

function bareMemoryLine(bare: NonNullable<BenchReport['bareMemory']>, lab: NonNullable<BenchReport['memory']>): string {
  return (
    `   bare server, measured the same way: ${num(bare.meanKB.heap, 1)} KB heap, ${num(bare.meanKB.rss, 1)} KB RSS per connection` +
    ` (lab ÷ bare: heap ${times(lab.meanKB.heap / bare.meanKB.heap)}, RSS ${times(lab.meanKB.rss / bare.meanKB.rss)})`
  );
}

function withinRule(kb: number, [lo, hi]: [number, number]): string {
  if (!Number.isFinite(kb)) return 'not measured';
  if (kb < lo) return 'below it';
  if (kb > hi) return 'above it';
  return 'within it';
}
