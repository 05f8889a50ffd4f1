// The HTML report: one self-contained file, every chart an inline SVG drawn
// here (no scripts, no external files), every figure also in a table.

import { busesTableRows } from './buses.ts';
import { capacitySection } from './html-capacity.ts';
import type { BenchReport, ConfigId } from './results.ts';
import { cpuText, num } from './table.ts';
import { viewHtml } from './view.ts';
import { bareLatencyAt, vsBareRows } from './vs-bare.ts';

/** Chart axis labels (the tables carry the full names). */
const SHORT: Record<ConfigId, string> = {
  single: '1 instance, in-memory',
  'direct-redis': 'direct + Redis',
  'nginx-redis': 'nginx + Redis',
  streams: 'direct + Redis Streams',
  bare: 'bare server (nginx + Redis)',
};

const COLORS = {
  p50: '#2f6fdf',
  p90: '#7fa6ee',
  p99: '#e08a1e',
  max: '#b23b3b',
  on: '#d9822b',
  off: '#3b7dd8',
  heap: '#2f6fdf',
  rss: '#7a5cc4',
  met: '#2f8f46',
  missed: '#c23b3b',
};

interface Bar {
  label: string;
  value: number;
  color: string;
}
interface Group {
  label: string;
  bars: Bar[];
}
interface ChartSpec {
  title: string;
  unit: string;
  groups: Group[];
  log?: boolean;
  /** Horizontal reference lines (the bare server's figures). */
  refs?: { value: number; label: string }[];
  /** A shaded band, e.g. the 10–50 KB rule of thumb. */
  band?: { from: number; to: number; label: string };
}

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A grouped bar chart as SVG, linear or logarithmic. */
export function barChart(spec: ChartSpec): string {
  const W = 720;
  const H = 300;
  const m = { top: 34, right: 16, bottom: 58, left: 64 };
  const plotW = W - m.left - m.right;
  const plotH = H - m.top - m.bottom;
  const values = [
    ...spec.groups.flatMap((g) => g.bars.map((b) => b.value)),
    ...(spec.refs ?? []).map((r) => r.value),
    ...(spec.band ? [spec.band.from, spec.band.to] : []),
  ].filter((v) => Number.isFinite(v) && v > 0);
  if (values.length === 0) return `<p class="empty">${esc(spec.title)}: no data</p>`;

  let y: (v: number) => number;
  let ticks: number[];
  if (spec.log) {
    // Ticks at 1-3-10 steps; the axis starts a step below the smallest value, so every bar shows.
    const steps = (v: number): number[] => [10 ** Math.floor(Math.log10(v)), 3 * 10 ** Math.floor(Math.log10(v))];
    const min = Math.min(...values);
    const lo = [...steps(min / 10), ...steps(min)].filter((t) => t <= min / 1.5).at(-1)!;
    const hi = 10 ** Math.ceil(Math.log10(Math.max(...values)));
    y = (v) =>
      m.top + plotH - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotH;
    ticks = [lo];
    for (let d = 10 ** Math.ceil(Math.log10(lo) - 1e-9); d <= hi * 1.0001; d *= 10)
      ticks.push(...[d, d * 3].filter((t) => t > lo * 1.0001 && t <= hi * 1.0001));
  } else {
    const hi = niceCeil(Math.max(...values) * 1.1);
    y = (v) => m.top + plotH - (Math.max(0, v) / hi) * plotH;
    ticks = Array.from({ length: 6 }, (_, i) => (hi / 5) * i);
  }
  const base = m.top + plotH;
  const parts: string[] = [];
  parts.push(`<text x="${m.left}" y="20" class="title">${esc(spec.title)}</text>`);
  if (spec.band) {
    parts.push(
      `<rect x="${m.left}" y="${y(spec.band.to)}" width="${plotW}" height="${Math.max(0, y(spec.band.from) - y(spec.band.to))}" class="band"/>`,
      `<text x="${m.left + plotW - 4}" y="${y(spec.band.to) + 12}" text-anchor="end" class="note">${esc(spec.band.label)}</text>`,
    );
  }
  for (const t of ticks) {
    parts.push(`<line x1="${m.left}" x2="${m.left + plotW}" y1="${y(t)}" y2="${y(t)}" class="grid"/>`);
    parts.push(`<text x="${m.left - 6}" y="${y(t) + 4}" text-anchor="end" class="axis">${esc(short(t))}</text>`);
  }
  parts.push(
    `<text transform="translate(14 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle" class="axis">${esc(spec.unit)}</text>`,
  );

  const groupW = plotW / spec.groups.length;
  spec.groups.forEach((g, gi) => {
    const n = g.bars.length;
    const barW = Math.min(36, (groupW * 0.8) / Math.max(n, 1));
    const x0 = m.left + gi * groupW + (groupW - barW * n) / 2;
    g.bars.forEach((b, bi) => {
      if (!Number.isFinite(b.value)) return;
      const top = y(b.value);
      const x = x0 + bi * barW;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${Math.max(0, base - top).toFixed(1)}" fill="${b.color}">` +
          `<title>${esc(`${g.label} · ${b.label}: ${short(b.value)} ${spec.unit}`)}</title></rect>`,
      );
      parts.push(
        `<text x="${(x + barW / 2 - 1).toFixed(1)}" y="${(top - 3).toFixed(1)}" text-anchor="middle" class="value">${esc(short(b.value))}</text>`,
      );
    });
    parts.push(
      `<text x="${(m.left + gi * groupW + groupW / 2).toFixed(1)}" y="${base + 16}" text-anchor="middle" class="axis">${esc(g.label)}</text>`,
    );
  });
  for (const r of spec.refs ?? []) {
    parts.push(`<line x1="${m.left}" x2="${m.left + plotW}" y1="${y(r.value)}" y2="${y(r.value)}" class="ref"/>`);
    parts.push(`<text x="${m.left + 4}" y="${y(r.value) - 4}" class="ref-label">${esc(r.label)}</text>`);
  }
  parts.push(`<line x1="${m.left}" x2="${m.left + plotW}" y1="${base}" y2="${base}" class="axis-line"/>`);
  // Legend: one entry per distinct bar label.
  const legend = new Map<string, string>();
  for (const g of spec.groups) for (const b of g.bars) legend.set(b.label, b.color);
  let lx = m.left;
  for (const [label, color] of legend) {
    parts.push(
      `<rect x="${lx}" y="${H - 18}" width="10" height="10" fill="${color}"/><text x="${lx + 14}" y="${H - 9}" class="axis">${esc(label)}</text>`,
    );
    lx += 24 + label.length * 7;
  }
  return `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(spec.title)}">${parts.join('')}</svg>`;
}

function niceCeil(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const k of [1, 2, 2.5, 5, 10]) if (k * p >= v) return k * p;
  return 10 * p;
}

function short(v: number): string {
  if (!Number.isFinite(v)) return '–';
  if (Math.abs(v) >= 10_000) return `${Math.round(v / 1000)}k`;
  if (Math.abs(v) >= 100) return String(Math.round(v));
  if (Math.abs(v) >= 10) return v.toFixed(1);
  if (Math.abs(v) >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}

export function table(rows: string[][]): string {
  const [head, ...body] = rows;
  return `<table><thead><tr>${head!.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${body
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

export function renderHtml(r: BenchReport): string {
  const sections: string[] = [];

  if (r.latency.length > 0) {
    const rates = [...new Set(r.latency.map((l) => l.rate))];
    const charts = rates.map((rate) => {
      const runs = r.latency.filter((l) => l.rate === rate);
      return barChart({
        title: `Delivery latency at ${rate} msg/s (from intended send time)`,
        unit: 'ms (log)',
        log: true,
        groups: runs.map((l) => ({
          label: SHORT[l.config],
          bars: [
            { label: 'p50', value: l.latencyMs.p50, color: COLORS.p50 },
            { label: 'p90', value: l.latencyMs.p90, color: COLORS.p90 },
            { label: 'p99', value: l.latencyMs.p99, color: COLORS.p99 },
            { label: 'max', value: l.latencyMs.max, color: COLORS.max },
          ],
        })),
        refs: bareRefs(bareLatencyAt(r, rate)),
      });
    });
    const rows = [
      [
        'configuration',
        'rate/s',
        'sender on',
        'receivers on',
        'sent',
        'achieved/s',
        'lost',
        'p50',
        'p90',
        'p99',
        'max',
        'send lag p50',
        'send lag p99',
        'CPU % of one core',
      ],
    ];
    for (const l of r.latency) {
      rows.push([
        l.label,
        String(l.rate),
        l.senderOn,
        l.receiversOn.join(' '),
        String(l.sent),
        num(l.achievedRate, 0),
        String(l.lost),
        num(l.latencyMs.p50),
        num(l.latencyMs.p90),
        num(l.latencyMs.p99),
        num(l.latencyMs.max),
        num(l.sendLagMs.p50),
        num(l.sendLagMs.p99),
        cpuText(l.cpu),
      ]);
    }
    sections.push(
      `<h2>a. Cross-instance delivery latency</h2><p>Open loop: one sender, messages scheduled at fixed intended times; latency = receipt − intended send time, so stalls are never hidden. Receivers sit on instances other than the sender's (checked from each client's <code>welcome</code>). Red dashed lines: the bare server's p50 and p99 at the same rate, in this run.</p>${charts.join('')}${table(rows)}`,
    );
  }

  const bareFanout = r.fanout.find((f) => f.config === 'bare');
  for (const f of r.fanout) {
    sections.push(
      `<h2>b. Fan-out throughput: ${esc(f.label)}</h2><p>Closed loop: ${f.clients} clients in one room (${esc(
        Object.entries(f.spread)
          .map(([s, n]) => `${s}: ${n}`)
          .join(', '),
      )}), ${f.window} messages in flight, senders taking turns. Every message goes to every member (its sender included).</p>` +
        barChart({
          title: 'Deliveries per second',
          unit: 'deliveries/s',
          groups: [{ label: f.label, bars: [{ label: 'measured', value: f.deliveriesPerSec, color: COLORS.p50 }] }],
          refs:
            bareFanout && f !== bareFanout
              ? [{ value: bareFanout.deliveriesPerSec, label: `bare server ${num(bareFanout.deliveriesPerSec, 0)}/s` }]
              : [],
        }) +
        table([
          [
            'deliveries/s',
            'messages/s',
            'delivery p50',
            'p90',
            'p99',
            'max',
            'all members p50',
            'all members p99',
            'lost',
            'CPU % of one core',
          ],
          [
            num(f.deliveriesPerSec, 0),
            num(f.messagesPerSec, 0),
            num(f.latencyMs.p50),
            num(f.latencyMs.p90),
            num(f.latencyMs.p99),
            num(f.latencyMs.max),
            num(f.completionMs.p50),
            num(f.completionMs.p99),
            String(f.lost),
            cpuText(f.cpu),
          ],
        ]),
    );
  }

  if (r.memory) {
    const mem = r.memory;
    const rows = [['connections', 'instance', 'connections there', 'heap used MB (after GC)', 'RSS MB']];
    for (const level of mem.levels)
      for (const s of level.instances)
        rows.push([
          String(level.connected),
          s.serverId,
          String(s.connections),
          num(s.heapUsed / 2 ** 20, 1),
          num(s.rss / 2 ** 20, 1),
        ]);
    sections.push(
      `<h2>c. Memory per idle connection</h2><p>${esc(mem.label)}; idle WebSocket clients connected straight to the instances from ${esc('127.0.N.1')} addresses. Heap is read from each instance's <code>/lab/memory?gc=1</code> (the lab's probe) after a forced GC${mem.gcAvailable ? '' : ' (<b>gc was not available</b>)'}; RSS from <code>/proc/&lt;pid&gt;/status</code>. Per connection = (value − value at 0 connections) ÷ connections on that instance.</p>` +
        barChart({
          title: 'KB per idle connection',
          unit: 'KB',
          groups: mem.perConnection.map((p) => ({
            label: `${p.serverId} (${p.connections})`,
            bars: [
              { label: 'heap', value: p.heapKB, color: COLORS.heap },
              { label: 'RSS', value: p.rssKB, color: COLORS.rss },
            ],
          })),
          band: {
            from: mem.ruleOfThumbKB[0],
            to: mem.ruleOfThumbKB[1],
            label: `rule of thumb (course texts) ${mem.ruleOfThumbKB[0]}–${mem.ruleOfThumbKB[1]} KB`,
          },
          refs: r.bareMemory
            ? [{ value: r.bareMemory.meanKB.heap, label: `bare server heap ${num(r.bareMemory.meanKB.heap, 1)} KB` }]
            : [],
        }) +
        table(rows) +
        `<p>Mean per connection: heap ${num(mem.meanKB.heap, 1)} KB, RSS ${num(mem.meanKB.rss, 1)} KB ${r.bareMemory ? ` (the bare server, measured the same way: heap ${num(r.bareMemory.meanKB.heap, 1)} KB, RSS ${num(r.bareMemory.meanKB.rss, 1)} KB)` : ''}` +
        (mem.marginalKB
          ? `; between the two highest levels (no start-up memory in it): heap ${num(mem.marginalKB.heap, 1)} KB, RSS ${num(mem.marginalKB.rss, 1)} KB`
          : '') +
        `. CPU while connecting: ${esc(cpuText(mem.cpuWhileConnecting))}.</p>`,
    );
  }

  if (r.startup) {
    const s = r.startup;
    sections.push(
      `<h2>d. Start-up and stage switches</h2>` +
        barChart({
          title: 'Cold start and stage switch, ms',
          unit: 'ms',
          groups: [
            ...s.coldStartMs.map((v, i) => ({
              label: `cold start ${i + 1}`,
              bars: [{ label: 'cold start', value: v, color: COLORS.p50 }],
            })),
            ...s.switches.map((sw) => ({
              label: `${sw.from}→${sw.to}`,
              bars: [{ label: 'switch', value: sw.ms, color: COLORS.p99 }],
            })),
          ],
          refs: r.bareStartup
            ? [
                {
                  value: Math.min(...r.bareStartup.coldStartMs),
                  label: `bare cold start ${num(Math.min(...r.bareStartup.coldStartMs), 0)} ms`,
                },
              ]
            : [],
        }) +
        table([
          ['what', 'ms'],
          ...[s, r.bareStartup].flatMap((side) =>
            side
              ? [
                  ...side.coldStartMs.map((v, i) => [`cold start ${i + 1} of "${side.stage}"`, num(v, 0)]),
                  ...side.switches.map((sw) => [`switch ${sw.from} → ${sw.to}`, num(sw.ms, 0)]),
                  ...side.downMs.map((v, i) => [`down ${i + 1} of "${side.stage}"`, num(v, 0)]),
                ]
              : [],
          ),
        ]),
    );
  }

  if (r.telemetry) {
    const t = r.telemetry;
    const phaseLabel = (i: number): string => `${i + 1}: ${t.phases[i]!.telemetry ? 'on' : 'off'}`;
    sections.push(
      `<h2>e. The lab's own overhead: telemetry on vs off</h2><p>${esc(t.label)}. Phases alternate (on, off, on, off…); each starts on freshly restarted instances. Ratios are the mean of the "on" phases over the mean of the "off" phases: latency p50 <b>${ratioText(t.ratios.latencyP50)}</b>, p99 <b>${ratioText(t.ratios.latencyP99)}</b>, fan-out throughput <b>${ratioText(t.ratios.fanoutThroughput)}</b> (the goal: at most ${Math.round(r.goals.telemetryMaxCost * 100)} % cost).</p>` +
        barChart({
          title: `Latency p50 / p99 at ${t.rate} msg/s`,
          unit: 'ms',
          groups: t.phases.map((p, i) => ({
            label: phaseLabel(i),
            bars: [
              { label: 'p50', value: p.latencyMs.p50, color: COLORS.p50 },
              { label: 'p99', value: p.latencyMs.p99, color: COLORS.p99 },
            ],
          })),
        }) +
        barChart({
          title: `Fan-out deliveries/s (${t.clients} clients, window ${t.window})`,
          unit: 'deliveries/s',
          groups: t.phases.map((p, i) => ({
            label: phaseLabel(i),
            bars: [
              {
                label: p.telemetry ? 'telemetry on' : 'telemetry off',
                value: p.deliveriesPerSec,
                color: p.telemetry ? COLORS.on : COLORS.off,
              },
            ],
          })),
        }) +
        table([
          [
            '#',
            'telemetry',
            'latency p50',
            'p99',
            'max',
            'deliveries/s',
            'fan-out p99',
            'lost',
            'CPU % (latency)',
            'CPU % (fan-out)',
          ],
          ...t.phases.map((p, i) => [
            String(i + 1),
            p.telemetry ? 'on' : 'off',
            num(p.latencyMs.p50),
            num(p.latencyMs.p99),
            num(p.latencyMs.max),
            num(p.deliveriesPerSec, 0),
            num(p.fanoutLatencyMs.p99),
            String(p.lost),
            cpuText(p.cpuLatency),
            cpuText(p.cpuFanout),
          ]),
        ]),
    );
  }

  if (r.buses.length > 0) sections.push(busesSection(r));
  if (r.vsBare.length > 0) sections.push(vsBareSection(r));
  for (const c of r.capacity) sections.push(capacitySection(c));
  if (r.view) sections.push(viewHtml(r.view, esc));

  const m = r.machine;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Socket.IO scaling lab — bench ${esc(r.startedAt)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1000px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .6rem 0; font-size: 12.5px; } th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
svg { display: block; margin: .8rem 0; max-width: 100%; height: auto; }
svg .title { font-weight: 600; font-size: 13px; } svg .axis { font-size: 11px; fill: #555; } svg .value { font-size: 9.5px; fill: #333; }
svg .value, svg .ref-label, svg .note { paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
svg .grid { stroke: #eee; } svg .axis-line { stroke: #999; } svg .ref { stroke: #c33; stroke-dasharray: 5 4; } svg .ref-label { font-size: 10.5px; fill: #c33; }
svg .band { fill: #2a2; opacity: .09; } svg .note { font-size: 10.5px; fill: #286428; }
code { background: #f4f4f4; padding: 0 3px; } .meta { color: #555; }
</style></head><body>
<h1>Socket.IO scaling lab — bench</h1>
<p class="meta">${esc(r.startedAt)} · ${Math.round(r.durationSeconds)} s · ${m.cpus} × ${esc(m.cpuModel)}, ${m.totalMemoryGiB} GiB · Node ${esc(m.node)} · Redis ${esc(m.redis ?? '?')} · nginx ${esc(m.nginx ?? '?')} · load average ${m.loadAverageAtStart.join(' ')} → ${m.loadAverageAtEnd.join(' ')}</p>
<p>Every figure was measured on this machine in one run, on real labs (Redis, nginx, PM2 instances). Instances run without telemetry except in section e. CPU figures are % of one core over the measured window, per process; "bench" is the process running the clients and the lab itself. Red dashed lines are the bare server (<code>tests/bench/bare/server.ts</code>: no lab code, behind the same nginx and Redis, under the same PM2), measured in this run; section f compares every figure with it.</p>
${sections.join('\n')}
<h2>Options</h2><pre>${esc(JSON.stringify(r.options, null, 2))}</pre>
</body></html>
`;
}

/** The bare server's p50 and p99 as reference lines of a latency chart. */
function bareRefs(bare: ReturnType<typeof bareLatencyAt>): { value: number; label: string }[] {
  if (!bare) return [];
  return [
    { value: bare.latencyMs.p50, label: `bare p50 ${num(bare.latencyMs.p50)} ms` },
    { value: bare.latencyMs.p99, label: `bare p99 ${num(bare.latencyMs.p99)} ms` },
  ];
}

function vsBareSection(r: BenchReport): string {
  return (
    `<h2>f. The lab against the bare server</h2><p>Every figure of the lab divided by the bare server's, both measured in this run. For times and memory, above ×1 means the lab costs more; for fan-out, below ×1 means it delivers less. The goals are those of issue 12.</p>` +
    barChart({
      title: 'Lab ÷ bare',
      unit: '×',
      // Numbered like the table's rows: the full names do not fit under the bars.
      groups: r.vsBare.map((v, i) => ({
        label: `#${i + 1}`,
        bars: [
          {
            label: v.goal ? (v.goal.met ? 'goal met' : 'goal NOT met') : 'no goal',
            value: v.ratio,
            color: v.goal ? (v.goal.met ? COLORS.met : COLORS.missed) : COLORS.p50,
          },
        ],
      })),
      refs: [{ value: 1, label: 'bare = ×1' }],
    }) +
    table(vsBareRows(r.vsBare).map((row, i) => [i === 0 ? '#' : String(i), ...row]))
  );
}

function ratioText(n: number): string {
  return Number.isFinite(n) ? `×${n.toFixed(3)}` : '–';
}

function busesSection(r: BenchReport): string {
  const rate = r.buses[0]!.fixedRate.rate;
  const latency = barChart({
    title: `Cross-instance latency at ${rate} msg/s, ms`,
    unit: 'ms',
    groups: r.buses.map((b) => ({
      label: b.bus,
      bars: [
        { label: 'p50', value: b.fixedRate.latencyMs.p50, color: COLORS.p50 },
        { label: 'p99', value: b.fixedRate.latencyMs.p99, color: COLORS.p99 },
      ],
    })),
  });
  const throughput = barChart({
    title: 'Highest rate sustained with 0 lost, msg/s, and fan-out, deliveries/s',
    unit: '/s',
    groups: r.buses.map((b) => ({
      label: b.bus,
      bars: [
        { label: 'sustained msg/s', value: b.maxSustainedRate, color: COLORS.met },
        { label: 'fan-out deliveries/s', value: b.fanout.deliveriesPerSec, color: COLORS.rss },
      ],
    })),
  });
  return (
    `<h2>i. The buses side by side</h2><p>Every way the lab carries a room across instances, on one workload in this run. Latency: one sender at ${rate} msg/s (open loop), receivers on other instances. Sustained: a ramp of open-loop runs (${esc(
      r.buses[0]!.steps.map((s) => s.rate).join(', '),
    )} … msg/s) that stops at the first rate the bus cannot keep (sender below 95 % of it, or anything lost); "+" means the ramp's top rate still held. Fan-out: closed loop, ${r.buses[0]!.fanout.clients} clients in one room. The single in-memory instance is the floor: no bus at all.</p>` +
    latency +
    throughput +
    table(busesTableRows(r.buses))
  );
}
