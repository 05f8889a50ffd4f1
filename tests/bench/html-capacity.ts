// Section f of the HTML report: capacity at scale. Two line charts drawn
// here (connections over time; reconnects per 100 ms after the kill, jitter
// on and off) plus the per-connection memory as bars.

import type { CapacityResult } from './capacity.ts';
import { COURSE_FACTS } from './goals.ts';
import { barChart, esc, table } from './html.ts';
import { cpuText, num } from './table.ts';

interface Series {
  label: string;
  color: string;
  points: { x: number; y: number }[];
  /** Draw as steps (a histogram), not straight segments. */
  steps?: boolean;
}

const PALETTE = ['#2f6fdf', '#d9822b', '#3aa676', '#b23b3b'];

function lineChart(spec: { title: string; xUnit: string; yUnit: string; series: Series[] }): string {
  const W = 720;
  const H = 300;
  const m = { top: 34, right: 16, bottom: 58, left: 64 };
  const plotW = W - m.left - m.right;
  const plotH = H - m.top - m.bottom;
  const all = spec.series.flatMap((s) => s.points);
  if (all.length === 0) return `<p class="empty">${esc(spec.title)}: no data</p>`;
  const xHi = nice(Math.max(...all.map((p) => p.x)));
  const yHi = nice(Math.max(...all.map((p) => p.y)) * 1.05);
  const x = (v: number): number => m.left + (v / xHi) * plotW;
  const y = (v: number): number => m.top + plotH - (v / yHi) * plotH;
  const parts: string[] = [`<text x="${m.left}" y="20" class="title">${esc(spec.title)}</text>`];
  for (let i = 0; i <= 5; i++) {
    const vy = (yHi / 5) * i;
    const vx = (xHi / 5) * i;
    parts.push(
      `<line x1="${m.left}" x2="${m.left + plotW}" y1="${y(vy)}" y2="${y(vy)}" class="grid"/>`,
      `<text x="${m.left - 6}" y="${y(vy) + 4}" text-anchor="end" class="axis">${esc(label(vy))}</text>`,
      `<text x="${x(vx)}" y="${m.top + plotH + 16}" text-anchor="middle" class="axis">${esc(label(vx))}</text>`,
    );
  }
  parts.push(
    `<text transform="translate(14 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle" class="axis">${esc(spec.yUnit)}</text>`,
    `<text x="${m.left + plotW / 2}" y="${m.top + plotH + 32}" text-anchor="middle" class="axis">${esc(spec.xUnit)}</text>`,
  );
  for (const s of spec.series) {
    const pts: string[] = [];
    s.points.forEach((p, i) => {
      if (s.steps && i > 0) pts.push(`${x(p.x).toFixed(1)},${y(s.points[i - 1]!.y).toFixed(1)}`);
      pts.push(`${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`);
    });
    parts.push(
      `<polyline points="${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"><title>${esc(s.label)}</title></polyline>`,
    );
  }
  let lx = m.left;
  for (const s of spec.series) {
    parts.push(
      `<rect x="${lx}" y="${H - 18}" width="10" height="10" fill="${s.color}"/><text x="${lx + 14}" y="${H - 9}" class="axis">${esc(s.label)}</text>`,
    );
    lx += 24 + s.label.length * 7;
  }
  return `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(spec.title)}">${parts.join('')}</svg>`;
}

function nice(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const k of [1, 2, 2.5, 5, 10]) if (k * p >= v) return k * p;
  return 10 * p;
}

const label = (v: number): string =>
  v >= 10_000 ? `${Math.round(v / 1000)}k` : v >= 10 ? String(Math.round(v)) : v.toFixed(1);

export function capacitySection(c: CapacityResult): string {
  const spread = (o: Record<string, number>): string =>
    Object.entries(o)
      .map(([s, n]) => `${s}:${n}`)
      .join(' ');
  const ramps = lineChart({
    title: `Connected clients while ramping to ${c.ramp.target.toLocaleString('en')} through nginx`,
    xUnit: 'seconds since the ramp began',
    yUnit: 'connected',
    series: c.ramps.map((r, i) => ({
      label:
        i === 0 ? `measured ramp (${Math.round(r.perSecond)}/s)` : `before kill ${i} (${Math.round(r.perSecond)}/s)`,
      color: PALETTE[i % PALETTE.length]!,
      points: r.timeline.map((p) => ({ x: p.t, y: p.connected })),
    })),
  });
  const memory = barChart({
    title: 'KB per connection after GC, at full load',
    unit: 'KB',
    groups: c.perConnection.map((p) => ({
      label: `${p.serverId} (${p.connections})`,
      bars: [
        { label: 'heap', value: p.heapKB, color: '#2f6fdf' },
        { label: 'RSS', value: p.rssKB, color: '#7a5cc4' },
      ],
    })),
    band: {
      from: COURSE_FACTS.ruleOfThumbKB[0],
      to: COURSE_FACTS.ruleOfThumbKB[1],
      label: `course texts: ${COURSE_FACTS.ruleOfThumbKB[0]}–${COURSE_FACTS.ruleOfThumbKB[1]} KB`,
    },
  });
  const reconnects = lineChart({
    title: 'Reconnects per 100 ms after kill -9 of the busiest instance',
    xUnit: 'ms since the kill',
    yUnit: 'clients back',
    series: c.kills.map((k, i) => ({
      label: `jitter ${k.jitter} (${k.clients} clients, 99 % in ${k.msTo99 === null ? 'never' : `${Math.round(k.msTo99)} ms`})`,
      color: PALETTE[(i + 1) % PALETTE.length]!,
      steps: true,
      points: k.histogram.map((b) => ({ x: b.fromMs, y: b.count })),
    })),
  });
  const killRows = [
    ['instance', 'jitter', 'clients', 'back', 'first ms', 'p50 ms', '99 % back, ms', 'last ms', 'landed on'],
  ];
  for (const k of c.kills)
    killRows.push([
      k.serverId,
      String(k.jitter),
      String(k.clients),
      String(k.reconnected),
      k.firstMs === null ? '–' : String(Math.round(k.firstMs)),
      num(k.reconnectMs.p50, 0),
      k.msTo99 === null ? 'never' : String(Math.round(k.msTo99)),
      k.lastMs === null ? '–' : String(Math.round(k.lastMs)),
      spread(k.landedOn),
    ]);
  const ch = c.chat;
  const chat = ch
    ? `<p>Chat at that scale: ${ch.rooms} rooms of ${ch.roomSize}, one message per second per room for ${ch.seconds} s: ${ch.received.toLocaleString('en')} of ${ch.expected.toLocaleString('en')} deliveries (${ch.lost} lost). Latency from the intended send time p50 ${num(ch.latencyMs.p50)} ms, p99 ${num(ch.latencyMs.p99)} ms; across instances (through Redis) p50 ${num(ch.crossInstanceMs.p50)} ms, p99 ${num(ch.crossInstanceMs.p99)} ms. Redis: ${Math.round(ch.redisPublishPerSec)} PUBLISH/s, ${num(ch.redisPublishPerMessage)} per chat message (its own INFO commandstats). CPU (% of one core): ${esc(cpuText(ch.cpu))}. The bench process holds every client: its event-loop delay p99 was ${num(ch.clientLoopDelayP99Ms)} ms.</p>`
    : '';
  return (
    `<h2>g. Capacity: ${c.ramp.target.toLocaleString('en')} live clients</h2>` +
    `<p>${esc(c.label)}. WebSocket clients from ${esc('127.x.y.1')} sources (ip_hash spreads them), connected ${c.ramps.length === 1 ? 'once' : `${c.ramps.length} times: once for the measurements, then afresh before each kill, so every kill starts from the same even spread`}. ` +
    `Memory per connection = (after − before the ramp) ÷ connections gained, each after a forced GC. ${c.clientKB === null ? '' : `One simulated client cost the bench ${num(c.clientKB, 1)} KB of RSS.`}</p>` +
    ramps +
    table([
      ['ramp', 'connected', 'failed', 'seconds', 'per second', 'spread'],
      ...c.ramps.map((r, i) => [
        i === 0 ? 'measured' : `before kill ${i} (jitter ${c.kills[i - 1]?.jitter ?? '?'})`,
        String(r.connected),
        String(r.failed),
        num(r.seconds, 1),
        String(Math.round(r.perSecond)),
        spread(r.spread),
      ]),
      ...(c.polling
        ? [
            [
              'long-polling, on top (held through the chat)',
              String(c.polling.connected),
              String(c.polling.failed),
              num(c.polling.seconds, 1),
              String(Math.round(c.polling.perSecond)),
              spread(c.polling.spread),
            ],
          ]
        : []),
    ]) +
    memory +
    `<p>Mean: heap ${num(c.meanKB.heap, 1)} KB, RSS ${num(c.meanKB.rss, 1)} KB per connection. The course texts: ${COURSE_FACTS.ruleOfThumbKB[0]}–${COURSE_FACTS.ruleOfThumbKB[1]} KB per connection, ${COURSE_FACTS.connectionsOn2Cores[0].toLocaleString('en')}–${COURSE_FACTS.connectionsOn2Cores[1].toLocaleString('en')} connections on 2 cores.</p>` +
    chat +
    (c.kills.length ? reconnects + table(killRows) : '')
  );
}
