// Once a second, the numbers the UI charts: connections and memory per
// instance (from each instance's own 'sample' reports), and a histogram of
// how long the fleet's messages took to reach clients on other instances.

import type { TelemetryHub } from './telemetry/hub.ts';

/** Upper bucket edges in ms; the last bucket holds everything slower. */
export const LATENCY_EDGES = [0.5, 1, 2, 5, 10, 20, 50, 100, 250, 1000, Infinity];

interface Sample {
  connections: number;
  rss: number;
  heapUsed: number;
  loopDelayP99Ms: number;
  at: number;
}

export class StatsSampler {
  private counts = LATENCY_EDGES.map(() => 0);
  private timer: NodeJS.Timeout | null = null;
  private readonly latest = new Map<string, Sample>();

  constructor(private readonly hub: TelemetryHub) {
    hub.subscribe((e) => {
      if (e.t === 'sample') this.latest.set(e.serverId, e);
      else if (e.t === 'instance-removed') this.latest.delete(e.serverId);
    });
  }

  /** Count one cross-instance delivery (called from the fleet). */
  latency(ms: number, crossInstance: boolean): void {
    if (!crossInstance) return;
    const i = LATENCY_EDGES.findIndex((edge) => ms <= edge);
    this.counts[i]! += 1;
  }

  start(): void {
    this.timer = setInterval(() => this.publish(), 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private publish(): void {
    const counts = this.counts;
    this.counts = LATENCY_EDGES.map(() => 0);
    // Only instances that are up, and only samples from the last few seconds.
    const online = new Set(
      this.hub
        .instanceList()
        .filter((i) => i.online)
        .map((i) => i.serverId),
    );
    const fresh = Date.now() - 3000;
    const instances = [...this.latest]
      .filter(([serverId, s]) => online.has(serverId) && s.at >= fresh)
      .map(([serverId, s]) => ({
        serverId,
        connections: s.connections,
        rss: s.rss,
        heapUsed: s.heapUsed,
        loopDelayP99Ms: s.loopDelayP99Ms,
      }));
    this.hub.lab({
      t: 'stats',
      instances,
      latency: { edges: LATENCY_EDGES.map((e) => (Number.isFinite(e) ? e : -1)), counts },
    });
  }
}
