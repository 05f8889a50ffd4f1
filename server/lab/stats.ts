// Once a second, the numbers the UI charts: connections and memory per
// instance (from each instance's /health), and a histogram of how long the
// fleet's messages took to reach clients on other instances.

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
    const instances = await Promise.all(
      this.instances()
        .filter((i) => i.online)
        .map(async (i) => {
          try {
            const res = await fetch(`http://127.0.0.1:${i.port}/health`, { signal: AbortSignal.timeout(800) });
            const h = (await res.json()) as { connections: number; memory?: { rss: number; heapUsed: number } };
            return { serverId: i.serverId, connections: h.connections, rss: h.memory?.rss ?? null, heapUsed: h.memory?.heapUsed ?? null };
          } catch {
            return null; // restarting or gone: no sample this second
          }
        }),
    );
    if (this.timer === null) return;
    this.hub.lab({
      t: 'stats',
      instances: instances.filter((i) => i !== null),
      latency: { edges: LATENCY_EDGES.map((e) => (Number.isFinite(e) ? e : -1)), counts },
    });
  }
}
