// The figures to compare with: a bare stack (3 instances, Redis adapter,
// nginx ip_hash, a 40-line server) measured on this machine, from
// LAB-DESIGN §3 "Baseline". The bench prints its own figures next to these.

export const BASELINE = {
  /** Cross-instance latency at 500 msg/s through nginx ip_hash + Redis adapter. */
  latency500: { p50Ms: 1.0, p99Ms: 7 },
  /** The same, one instance, in memory. */
  singleP50Ms: 0.3,
  sustainedRate: 4000,
  /** 30 clients in one room. */
  fanoutDeliveriesPerSec: 60_000,
  memoryPerIdleConnectionKB: { heap: 12, rss: 23 },
  coldStartMs: { plainNode: 1000, pm2: 1700 },
  /** The instrumented lab should cost at most this much (latency or throughput), telemetry on vs off. */
  telemetryMaxCost: 0.1,
  /** The usual rule of thumb for one idle Socket.IO connection. */
  ruleOfThumbKB: [10, 50] as [number, number],
};
