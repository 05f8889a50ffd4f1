// Once a second, the numbers the UI charts: connections and memory per
// instance (from each instance's /health), and a histogram of how long the
// fleet's messages took to reach clients on other instances.

import { getHealth } from './health.ts';
import type { TelemetryHub } from './telemetry/hub.ts';

/** Upper bucket edges in ms; the last bucket holds everything slower. */
export const LATENCY_EDGES = [0.5, 1, 2, 5, 10, 20, 50, 100, 250, 1000, Infinity];

export class StatsSampler {
  private counts = LATENCY_EDGES.map(() => 0);
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly hub: TelemetryHub,
    private readonly instances: () => { serverId: string; port: number; online: boolean }[],
  ) {}

  /** Count one cross-instance delivery (called from the fleet). */
  latency(ms: number, crossInstance: boolean): void {
    if (!crossInstance) return;
    const i = LATENCY_EDGES.findIndex((edge) => ms <= edge);
    this.counts[i]! += 1;
  }

  start(): void {
    this.timer = setInterval(() => void this.sample(), 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async sample(): Promise<void> {
    const counts = this.counts;
    this.counts = LATENCY_EDGES.map(() => 0);
    // One request per online instance. In PM2 cluster mode the workers share a
    // port and any of them may answer, so a sample is filed under whoever did.
    const answers = await Promise.all(this.instances().filter((i) => i.online).map((i) => getHealth(i.port)));
    const byServer = new Map<string, { serverId: string; connections: number; rss: number | null; heapUsed: number | null }>();
    for (const h of answers) {
      if (h) byServer.set(h.serverId, { serverId: h.serverId, connections: h.connections, rss: h.memory?.rss ?? null, heapUsed: h.memory?.heapUsed ?? null });
    }
    const instances = [...byServer.values()];
    if (this.timer === null) return;
    this.hub.lab({
      t: 'stats',
      instances,
      latency: { edges: LATENCY_EDGES.map((e) => (Number.isFinite(e) ? e : -1)), counts },
    });
  }
}
