// The numbers people would rather look at: connections and memory per
// instance over the last minute, and a histogram of how long messages took
// to reach clients on other instances. Drawn on canvas, once per stats event.

import type { TelemetryEvent } from '../../server/lab/telemetry/events.ts';
import { el } from './dom.ts';

type Stats = Extract<TelemetryEvent, { t: 'stats' }>;
const WINDOW = 60;
const COLORS = ['#2f6fd6', '#d6762f', '#2f9a5a', '#9a2fb0', '#b0902f', '#2fa6b0', '#b02f4a', '#6a6a6a', '#5a2fb0'];

export class Charts {
  private readonly history: Stats[] = [];
  private readonly connections = canvas();
  private readonly memory = canvas();
  private readonly latency = canvas();
  private readonly legend = el('p', { class: 'legend' });

  constructor(root: HTMLElement) {
    root.replaceChildren(
      el('h2', {}, 'Connections per instance (last minute)'),
      this.connections,
      el('h2', {}, 'Memory (RSS, MB) per instance'),
      this.memory,
      this.legend,
      el('h2', {}, 'Cross-instance delivery latency (fleet, last 10 s)'),
      this.latency,
    );
  }

  add(s: Stats): void {
    this.history.push(s);
    if (this.history.length > WINDOW) this.history.shift();
    const ids = [...new Set(this.history.flatMap((h) => h.instances.map((i) => i.serverId)))].sort();
    this.lines(this.connections, ids, (i) => i.connections);
    this.lines(this.memory, ids, (i) => (i.rss === null ? null : i.rss / 1_048_576));
    this.legend.replaceChildren(
      ...ids.map((id, k) => el('span', { style: `color:${COLORS[k % COLORS.length]}` }, `■ ${id} `)),
    );
    this.histogram(s.latency.edges);
  }

  private lines(c: HTMLCanvasElement, ids: string[], value: (i: Stats['instances'][number]) => number | null): void {
    const g = c.getContext('2d')!;
    g.clearRect(0, 0, c.width, c.height);
    const series = ids.map((id) =>
      this.history.map((h) => {
        const i = h.instances.find((x) => x.serverId === id);
        return i ? value(i) : null;
      }),
    );
    const max = Math.max(1, ...series.flat().filter((v): v is number => v !== null));
    g.fillStyle = '#7a8294';
    g.font = '10px system-ui';
    g.fillText(String(Math.round(max)), 2, 10);
    series.forEach((points, k) => {
      g.strokeStyle = COLORS[k % COLORS.length]!;
      g.lineWidth = 1.5;
      g.beginPath();
      let pen = false;
      for (const [x, v] of points.entries()) {
        if (v === null) {
          pen = false;
          continue;
        }
        const px = (x / (WINDOW - 1)) * c.width;
        const py = c.height - 2 - (v / max) * (c.height - 14);
        if (pen) g.lineTo(px, py);
        else g.moveTo(px, py);
        pen = true;
      }
      g.stroke();
    });
  }

  private histogram(edges: number[]): void {
    const c = this.latency;
    const g = c.getContext('2d')!;
    g.clearRect(0, 0, c.width, c.height);
    const counts = edges.map((_, b) => this.history.slice(-10).reduce((sum, h) => sum + (h.latency.counts[b] ?? 0), 0));
    const max = Math.max(1, ...counts);
    const w = c.width / edges.length;
    g.font = '9px system-ui';
    counts.forEach((n, b) => {
      const h = (n / max) * (c.height - 24);
      g.fillStyle = '#2f6fd6';
      g.fillRect(b * w + 2, c.height - 12 - h, w - 4, h);
      g.fillStyle = '#4a5368';
      g.fillText(edges[b]! < 0 ? '>1s' : `≤${edges[b]}`, b * w + 2, c.height - 2);
      if (n > 0) g.fillText(String(n), b * w + 2, c.height - 14 - h);
    });
  }
}

function canvas(): HTMLCanvasElement {
  return el('canvas', { width: '320', height: '90', class: 'chart' });
}
