// The one typed event stream of the lab. Instances report InstanceEvents (out
// of band, over HTTP to the control plane); the lab itself adds LabEvents.
// The UI and `lab status` are both views over this stream.

import type { BroadcastKind, Transport } from '../../app/protocol.ts';

interface Base {
  /** ms since the epoch (sub-ms precision), stamped where the event happened, on the machine's one clock. */
  at: number;
}

/**
 * The adapter an instance really runs, read off the adapter object itself
 * (not off its settings): 'none' for Socket.IO's in-memory adapter.
 */
export type SeenAdapter = 'none' | 'redis' | 'redis-streams' | 'redis-sharded' | (string & {});

export type InstanceEvent = Base & { serverId: string } & (
    | { t: 'instance-up'; pid: number; port: number; adapter: SeenAdapter; broadcast: BroadcastKind }
    | { t: 'connected'; socketId: string; clientId: string; transport: Transport; address: string; recovered: boolean }
    | { t: 'upgraded'; socketId: string; transport: Transport }
    | { t: 'joined'; socketId: string; room: string }
    | { t: 'disconnected'; socketId: string; reason: string }
    | { t: 'refused'; address: string; reason: string }
    /**
     * A chat message this instance accepted from its sender (it is the message's
     * origin). `at`: when its packet arrived; `publishedAt`: when it was handed to
     * an adapter that carries it to other instances (null: nothing carried it).
     */
    | { t: 'received'; msgId: string; room: string; from: string; socketId: string; publishedAt: number | null }
    /**
     * Every delivery this instance made since its last report, per message,
     * with when it first wrote that message. One event per flush, not one per
     * message: at thousands of messages a second, per-event overhead is most of
     * telemetry's cost.
     */
    | { t: 'delivered'; deliveries: { msgId: string; socketIds: string[]; at: number }[] }
    /** Once a second: what this instance holds and how busy its event loop is. */
    | { t: 'sample'; connections: number; rss: number; heapUsed: number; loopDelayP99Ms: number }
    | { t: 'draining' }
  );

export type LabEvent = Base &
  (
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
        instances: { serverId: string; connections: number; rss: number; heapUsed: number; loopDelayP99Ms: number }[];
        /** Fleet deliveries that crossed instances in the last second, counted per bucket (upper edges in ms). */
        latency: { edges: number[]; counts: number[] };
      }
    /** The learner's fleet changed: these are its clients now. */
    | { t: 'fleet'; ids: string[] }
    /** A lesson became current (a clean slate: the UI starts a fresh message list). */
    | { t: 'lesson'; lesson: string }
    /** A lesson's checks started. */
    | { t: 'checking'; lesson: string }
    /** A lesson's checks ran. */
    | {
        t: 'checked';
        lesson: string;
        passed: number;
        total: number;
        results: { id: string; title: string; ok: boolean; detail: string; verdict: 'pass' | 'fail' | 'unknown' }[];
      }
    /** A prediction was graded against what its check measured (right: null when nothing was measured). */
    | { t: 'predicted'; lesson: string; prediction: string; right: boolean | null; detail: string }
    /** What the learner's watch loop (`lab watch`) is doing, and with which file. */
    | { t: 'watch'; file: string | null; state: 'watching' | 'saved' | 'applying' | 'checking' | 'done' | 'stopped' }
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
