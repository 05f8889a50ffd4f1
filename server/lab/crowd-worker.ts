// One process of a crowd (see crowd.ts): connects its share of idle clients,
// counts what happens to them, and keeps nothing else. It runs as a child of
// the lab so that thousands of sockets use this process's open-files limit
// and CPU time, not the control plane's.

import http from 'node:http';
import { io, type Socket } from 'socket.io-client';
import type { Welcome } from '../app/protocol.ts';
import { sourceAddress } from './fleet.ts';
import type { CrowdOrder, CrowdReport } from './crowd.ts';

const sockets: Socket[] = [];
const byServer: Record<string, number> = {};
const errors: Record<string, number> = {};
let connected = 0;
let failed = 0;
let lost = 0;
let attempted = 0;
let lastConnectAt = 0;

function report(done: boolean): void {
  const mem = process.memoryUsage();
  const msg: CrowdReport = {
    t: 'report',
    done,
    attempted,
    connected,
    failed,
    lost,
    byServer,
    errors,
    lastConnectAt,
    rss: mem.rss,
  };
  process.send?.(msg);
}

function count(error: string): void {
  // A few distinct messages, each counted: thousands of identical lines would say nothing more.
  if (error in errors || Object.keys(errors).length < 20) errors[error] = (errors[error] ?? 0) + 1;
}

/** engine.io says "websocket error"; the cause (ECONNRESET, EMFILE…) is in its description. */
function describe(err: Error & { description?: unknown }): string {
  const cause = err.description as { message?: unknown; error?: { message?: unknown } } | undefined;
  const detail = typeof cause?.message === 'string' ? cause.message : cause?.error?.message;
  return typeof detail === 'string' && detail !== err.message ? `${err.message}: ${detail}` : err.message;
}

function connectOne(order: CrowdOrder, i: number): Promise<void> {
  const n = order.firstN + i;
  const source = sourceAddress(n);
  const socket = io(order.urls[i]!, {
    ...order.options,
    forceNew: true,
    reconnection: false,
    timeout: order.timeoutMs,
    auth: { name: `${order.idPrefix}${n}` },
    ...(order.bind
      ? { agent: new http.Agent({ localAddress: source }) as unknown as string }
      : { extraHeaders: { 'X-Forwarded-For': source } }),
  });
  sockets.push(socket);
  return new Promise((resolve) => {
    socket.once('welcome' as never, (w: Welcome) => {
      connected++;
      lastConnectAt = Date.now();
      byServer[w.serverId] = (byServer[w.serverId] ?? 0) + 1;
      socket.once('disconnect', (reason: string) => {
        // Dropped after it got in (nginx "reusing connections" closes live ones).
        connected--;
        lost++;
        byServer[w.serverId]!--;
        count(`connected, then lost: ${reason}`);
      });
      resolve();
    });
    socket.once('connect_error', (err: Error & { description?: unknown }) => {
      failed++;
      count(describe(err));
      socket.close();
      resolve();
    });
  });
}

async function run(order: CrowdOrder): Promise<void> {
  let next = 0;
  // A fixed number in flight: a connect storm of thousands at once only
  // measures the listen backlog, not what the stack holds.
  const lane = async (): Promise<void> => {
    while (next < order.urls.length && failed < order.stopAfterFailures) {
      const i = next++;
      attempted++;
      await connectOne(order, i);
    }
  };
  // Reports go on after the last connect: clients dropped later still count.
  let done = false;
  setInterval(() => report(done), 250);
  await Promise.all(Array.from({ length: order.inflight }, lane));
  done = true;
  report(true);
}

process.on('message', (msg: CrowdOrder | { t: 'close' }) => {
  if (msg.t === 'start') void run(msg);
  if (msg.t === 'close') {
    for (const s of sockets) s.close();
    process.exit(0);
  }
});
// The lab went away (or crashed): so do its clients.
process.on('disconnect', () => process.exit(0));
