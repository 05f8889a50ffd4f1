// The one typed event stream of the lab. Instances report InstanceEvents (out
// of band, over HTTP to the control plane); the lab itself adds LabEvents.
// The UI and `lab status` are both views over this stream.

import type { AdapterKind, Broadcast, Transport } from '../../app/config.ts';

interface Base {
  /** ms since the epoch, stamped where the event happened. */
  at: number;
}

export type InstanceEvent = Base & { serverId: string } & (
  | { t: 'instance-up'; pid: number; port: number; adapter: AdapterKind; broadcast: Broadcast }
  | { t: 'connected'; socketId: string; clientId: string; transport: Transport; address: string; recovered: boolean }
  | { t: 'upgraded'; socketId: string; transport: Transport }
  | { t: 'joined'; socketId: string; room: string }
  | { t: 'disconnected'; socketId: string; reason: string }
  | { t: 'refused'; address: string; reason: string }
  | { t: 'received'; msgId: string; room: string; from: string; socketId: string }
  /**
   * Every delivery this instance made since its last report, per message.
   * One event per flush, not one per message: at thousands of messages a
   * second, per-event overhead is most of telemetry's cost.
   */
  | { t: 'delivered'; deliveries: { msgId: string; socketIds: string[] }[] }
  | { t: 'draining' }
);

export type LabEvent = Base & (
  | { t: 'stage'; stage: string; lesson: string | null; phase: 'applying' | 'applied' | 'failed'; detail?: string }
  | { t: 'progress'; step: string }
  | { t: 'instance-state'; serverId: string; port: number; pid: number | null; online: boolean }
  /** The stage no longer has this instance at all. */
  | { t: 'instance-removed'; serverId: string }
  | { t: 'redis'; port: number; running: boolean }
  | { t: 'nginx'; port: number; mode: string | null }
  /** Once a second: what each instance holds, and how long deliveries took. */
  | {
      t: 'stats';
      instances: { serverId: string; connections: number; rss: number | null; heapUsed: number | null }[];
      /** Fleet deliveries that crossed instances in the last second, counted per bucket (upper edges in ms). */
      latency: { edges: number[]; counts: number[] };
    }
  /** The learner's fleet changed: these are its clients now. */
  | { t: 'fleet'; ids: string[] }
  /** A lesson's checks ran. */
  | { t: 'checked'; lesson: string; passed: number; total: number }
  /** A connection attempt that failed before Socket.IO connected (e.g. 400 "Session ID unknown"). */
  | { t: 'handshake-failed'; clientId: string; via: 'nginx' | 'direct'; error: string }
);

export type TelemetryEvent = InstanceEvent | LabEvent;

/** What an instance POSTs to the control plane. */
export interface TelemetryBatch {
  serverId: string;
  events: InstanceEvent[];
}

/** Distributive Omit, so it keeps each union member apart. */
export type OmitFrom<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
