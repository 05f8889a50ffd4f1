// Runs INSIDE an instance (loaded through server/app/telemetry.ts). Buffers
// events and POSTs them to the control plane every FLUSH_MS, so the message
// path pays for an array push, not for a network call.

import http from 'node:http';
import type { Probe } from '../../app/telemetry.ts';
import type { InstanceEvent, OmitFrom, TelemetryBatch } from './events.ts';

const FLUSH_MS = 50;
const MAX_BUFFER = 20_000; // beyond this, drop: telemetry must never hurt the instance

export function createHttpProbe(opts: { url: string; token: string; serverId: string }): Probe {
  const { serverId } = opts;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let buffer: InstanceEvent[] = [];
  /** Deliveries are the hot path: group them per message until the next flush. */
  let deliveries = new Map<string, string[]>();
  let dropped = 0;

  const push = (e: OmitFrom<InstanceEvent, 'at' | 'serverId'>): void => {
    if (buffer.length >= MAX_BUFFER) {
      dropped++;
      return;
    }
    buffer.push({ ...e, at: Date.now(), serverId } as InstanceEvent);
  };

  const post = (batch: TelemetryBatch): Promise<void> =>
    new Promise((resolve) => {
      const body = JSON.stringify(batch);
      const req = http.request(opts.url, {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${opts.token}` },
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', resolve);
      });
      // The lab may be restarting; losing telemetry is fine, crashing is not.
      req.on('error', () => resolve());
      req.end(body);
    });

  let inFlight: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    if (deliveries.size > 0) {
      buffer.push({ t: 'delivered', deliveries: [...deliveries].map(([msgId, socketIds]) => ({ msgId, socketIds })), at: Date.now(), serverId });
      deliveries = new Map();
    }
    if (buffer.length === 0) return inFlight;
    if (dropped > 0) {
      console.error(`[${serverId}] telemetry: dropped ${dropped} events (control plane too slow)`);
      dropped = 0;
    }
    const events = buffer;
    buffer = [];
    inFlight = inFlight.then(() => post({ serverId, events }));
    return inFlight;
  };
  setInterval(() => void flush(), FLUSH_MS).unref();

  return {
    instanceUp: (i) => {
      push({ t: 'instance-up', ...i });
      void flush();
    },
    connected: (c) => push({ t: 'connected', ...c }),
    upgraded: (socketId, transport) => push({ t: 'upgraded', socketId, transport }),
    joined: (socketId, room) => push({ t: 'joined', socketId, room }),
    disconnected: (socketId, reason) => push({ t: 'disconnected', socketId, reason }),
    refused: (address, reason) => push({ t: 'refused', address, reason }),
    received: (m) => push({ t: 'received', ...m }),
    delivered: (msgId, socketId) => {
      const list = deliveries.get(msgId);
      if (list) list.push(socketId);
      else deliveries.set(msgId, [socketId]);
    },
    draining: () => push({ t: 'draining' }),
    flush,
  };
}
