// The shape of a bench run's results: what the JSON file holds, what the
// terminal table and the HTML report are drawn from, and what the smoke test
// checks. All times are milliseconds; CPU is % of one core.

import type { CapacityResult } from './capacity.ts';
import type { CpuUse } from './cpu.ts';
import type { COURSE_FACTS, GOALS } from './goals.ts';
import type { Percentiles } from './histogram.ts';
import type { ViewResult } from './view.ts';
import type { BusRun } from './buses.ts';
import type { VsBare } from './vs-bare.ts';

export const WORKLOADS = ['latency', 'fanout', 'memory', 'startup', 'telemetry', 'capacity', 'view', 'buses'] as const;
export type WorkloadId = (typeof WORKLOADS)[number];

export const CONFIG_IDS = ['single', 'direct-redis', 'nginx-redis', 'streams', 'bare'] as const;
export type ConfigId = (typeof CONFIG_IDS)[number];

/** i. The configurations that differ only in their bus, in the order the buses table lists them (the floor first). */
export const BUS_CONFIGS: readonly { id: ConfigId; bus: string }[] = [
  { id: 'single', bus: 'none (one instance: the floor)' },
  { id: 'direct-redis', bus: 'Redis pub/sub' },
  { id: 'streams', bus: 'Redis Streams' },
];

/** One open-loop run: one sender at a fixed rate, receivers on other instances. */
export interface LatencyRun {
  config: ConfigId;
  label: string;
  /** Intended send rate, messages/s. */
  rate: number;
  seconds: number;
  senderOn: string;
  receiversOn: string[];
  /** Messages sent in the measured window (the warm-up is not counted). */
  sent: number;
  /** sent × receivers. */
  expected: number;
  received: number;
  lost: number;
  /** What the sender really achieved over the measured window, messages/s. */
  achievedRate: number;
  /** Receipt time minus INTENDED send time: includes any lateness of the sender. */
  latencyMs: Percentiles;
  /** How late the bench itself sent (actual minus intended): the part of the latency that is the bench's. */
  sendLagMs: Percentiles;
  cpu: CpuUse[];
}

/** Closed loop: a fixed number of messages in flight to one room. */
export interface FanoutRun {
  config: ConfigId;
  label: string;
  clients: number;
  window: number;
  seconds: number;
  /** Clients per instance. */
  spread: Record<string, number>;
  messages: number;
  deliveries: number;
  deliveriesPerSec: number;
  messagesPerSec: number;
  /** Deliveries never seen (within 2 s) of messages sent in the measured window. */
  lost: number;
  /** Send → each delivery. */
  latencyMs: Percentiles;
  /** Send → the last member has it. */
  completionMs: Percentiles;
  cpu: CpuUse[];
}

export interface MemorySample {
  serverId: string;
  pid: number;
  /** As the instance's /health counts them. */
  connections: number;
  /** After a forced GC (/health?gc=1). */
  heapUsed: number;
  /** VmRSS from /proc/<pid>/status, read from outside. */
  rss: number;
}

export interface MemoryLevel {
  /** Connections the bench asked for (all instances together). */
  target: number;
  /** Connections that succeeded. */
  connected: number;
  failed: number;
  connectSeconds: number;
  instances: MemorySample[];
}

export interface MemoryResult {
  config: ConfigId;
  label: string;
  transports: string[];
  gcAvailable: boolean;
  levels: MemoryLevel[];
  /** Per instance, from the zero level to the highest: (memory − memory at 0) / connections. */
  perConnection: { serverId: string; connections: number; heapKB: number; rssKB: number }[];
  /** Mean of perConnection over the instances. */
  meanKB: { heap: number; rss: number };
  /** The same between the two highest levels (null with a single level): what one more connection costs. */
  marginalKB: { heap: number; rss: number } | null;
  ruleOfThumbKB: [number, number];
  cpuWhileConnecting: CpuUse[];
}

export interface StartupResult {
  stage: string;
  /** Lab.up until every instance answers /health (and Redis, nginx are up). */
  coldStartMs: number[];
  /** Lab.down: everything stopped. */
  downMs: number[];
  switches: { from: string; to: string; ms: number }[];
}

export interface OverheadPhase {
  telemetry: boolean;
  latencyMs: Percentiles;
  lost: number;
  deliveriesPerSec: number;
  fanoutLatencyMs: Percentiles;
  cpuLatency: CpuUse[];
  cpuFanout: CpuUse[];
}

export interface OverheadResult {
  config: ConfigId;
  label: string;
  rate: number;
  clients: number;
  window: number;
  seconds: number;
  /** In the order they ran: on, off, on, off, … */
  phases: OverheadPhase[];
  /** Means over the "on" phases divided by means over the "off" phases. */
  ratios: {
    /** > 1: telemetry makes delivery slower. */
    latencyP50: number;
    latencyP99: number;
    /** < 1: telemetry costs throughput. */
    fanoutThroughput: number;
  };
}

export interface BenchReport {
  version: 1;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  machine: {
    cpus: number;
    cpuModel: string;
    totalMemoryGiB: number;
    node: string;
    platform: string;
    redis: string | null;
    nginx: string | null;
    loadAverageAtStart: number[];
    loadAverageAtEnd: number[];
  };
  options: Record<string, unknown>;
  /** Whether instances reported telemetry during latency, fan-out and memory (the telemetry workload toggles it). */
  telemetryDuringWorkloads: boolean;
  latency: LatencyRun[];
  fanout: FanoutRun[];
  memory: MemoryResult | null;
  startup: StartupResult | null;
  telemetry: OverheadResult | null;
  /** Ramp to N clients through nginx, their cost, chat at that scale, kill -9 (one entry per configuration measured). */
  capacity: CapacityResult[];
  /** f. The live view at scale (view.ts). */
  view: ViewResult | null;
  /** i. Every bus on one workload (buses.ts). */
  buses: BusRun[];
  /** The bare server's memory and start-up, measured in this run like the lab's (its latency and fan-out runs are in latency[] and fanout[], config "bare"). */
  bareMemory: MemoryResult | null;
  bareStartup: StartupResult | null;
  /** Every lab figure as a ratio to the bare server's, with the goals it must meet (vs-bare.ts). */
  vsBare: VsBare[];
  goals: typeof GOALS;
  courseFacts: typeof COURSE_FACTS;
}
