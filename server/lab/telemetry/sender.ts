// Runs INSIDE an instance (part of the instrument preload). Buffers events and
// POSTs them to the control plane every FLUSH_MS, so the message path pays for
// an array push, never for a network call. Telemetry must never hurt the
// instance: the buffer is bounded, one request at most is in flight, and a
// request that takes too long is abandoned.

import http from 'node:http';
import type { InstanceEvent, OmitFrom, TelemetryBatch } from './events.ts';

const FLUSH_MS = 50;
const MAX_BUFFER = 20_000;
const REQUEST_TIMEOUT_MS = 2000;

export type InstanceReport = OmitFrom<InstanceEvent, 'at' | 'serverId'> & { at?: number };

export interface Sender {
  /** Queue one event (stamped now unless it says when it happened). */
  push(event: InstanceReport): void;
  /** Send what is queued, now. */
  flush(): void;
  /** Run `hook` right before every flush (to fold grouped data into events). */
  beforeFlush(hook: () => void): void;
}

/** Milliseconds since the epoch, with sub-millisecond precision, on the machine's one clock. */
export const now = (): number => performance.timeOrigin + performance.now();

export function createSender(opts: { url: string; token: string; serverId: string }): Sender {
  const { serverId } = opts;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let buffer: InstanceEvent[] = [];
  let dropped = 0;
  let inFlight = false;
  const hooks: (() => void)[] = [];

  const post = (batch: TelemetryBatch): void => {
    inFlight = true;
    const body = JSON.stringify(batch);
    const done = (): void => {
      inFlight = false;
    };
    const req = http.request(opts.url, {
      method: 'POST',
      agent,
      timeout: REQUEST_TIMEOUT_MS,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        authorization: `Bearer ${opts.token}`,
      },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', done);
      res.on('error', done);
    });
    // The lab may be restarting; losing telemetry is fine, crashing is not.
    req.on('timeout', () => req.destroy());
    req.on('error', done);
    req.end(body);
  };

  const flush = (): void => {
    for (const hook of hooks) hook();
    // One request at a time: while one is out, events wait here (bounded).
    if (inFlight || buffer.length === 0) return;
    if (dropped > 0) {
      console.error(`[${serverId}] telemetry: dropped ${dropped} events (control plane too slow)`);
      dropped = 0;
    }
    const events = buffer;
    buffer = [];
    post({ serverId, events });
  };
  setInterval(flush, FLUSH_MS).unref();

  return {
    push(e) {
      if (buffer.length >= MAX_BUFFER) {
        dropped++;
        return;
      }
      buffer.push({ at: now(), ...e, serverId } as InstanceEvent);
    },
    flush,
    beforeFlush: (hook) => void hooks.push(hook),
  };
}
