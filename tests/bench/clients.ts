// The bench's own Socket.IO clients. Not the lab's Fleet: the fleet keeps
// every message it receives (for the UI), which is exactly what a load
// generator must not do. These keep nothing and never reconnect, so a lost
// connection shows up as lost messages instead of being papered over.
//
// Each client can take its own loopback source address (127.0.N.1) through an
// http.Agent bound to it: both transports use it, so nginx ip_hash (which
// hashes the first three octets) spreads clients over the instances.

import http from 'node:http';
import { io, type Socket } from 'socket.io-client';
import type { Transport } from '../../server/app/config.ts';
import { describeConnectError, sourceAddress } from '../../server/lab/fleet.ts';
import { instancePort, type Ports } from '../../server/lab/settings.ts';

export interface BenchClient {
  name: string;
  socket: Socket;
  /** From the server's `welcome`: the instance this client is on. */
  serverId: string;
  source: string;
}

/** Where clients of a configuration connect. */
export interface Entry {
  via: 'direct' | 'nginx';
  instances: number;
  /** URL of instance `index` (direct) or of nginx (whatever the index). */
  url(index: number): string;
}

export function entryFor(ports: Ports, via: 'direct' | 'nginx', instances: number): Entry {
  return {
    via,
    instances,
    url: (index) =>
      via === 'nginx'
        ? `http://127.0.0.1:${ports.nginx}`
        : `http://127.0.0.1:${instancePort(ports, index % instances)}`,
  };
}

export interface ConnectOptions {
  name: string;
  source: string;
  transports?: Transport[];
  /** Wait until the client has upgraded to WebSocket (default: when it may). */
  websocket?: boolean;
  timeoutMs?: number;
  /** Reconnect after a lost connection (default: never, so a loss shows as lost messages). */
  reconnect?: { delayMs: number; maxDelayMs: number; jitter: number };
}

export class ClientPool {
  readonly clients: BenchClient[] = [];
  private readonly agents = new Map<string, http.Agent>();
  private nextSource = 1;

  /** A fresh loopback source: 127.0.1.1, 127.0.2.1, … */
  takeSource(): string {
    return sourceAddress(this.nextSource++);
  }

  async connect(url: string, opts: ConnectOptions): Promise<BenchClient> {
    const transports = opts.transports ?? ['polling', 'websocket'];
    const timeoutMs = opts.timeoutMs ?? 5000;
    const socket = io(url, {
      forceNew: true,
      reconnection: opts.reconnect !== undefined,
      ...(opts.reconnect && {
        reconnectionDelay: opts.reconnect.delayMs,
        reconnectionDelayMax: opts.reconnect.maxDelayMs,
        randomizationFactor: opts.reconnect.jitter,
      }),
      auth: { name: opts.name },
      transports,
      agent: this.agentFor(opts.source) as unknown as string, // typed as string in socket.io-client, used as an Agent
      timeout: timeoutMs,
    });
    try {
      const serverId = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${opts.name}: no welcome from ${url} within ${timeoutMs} ms`)),
          timeoutMs,
        );
        socket.once('welcome', (w: { serverId: string }) => {
          clearTimeout(timer);
          resolve(w.serverId);
        });
        socket.once('connect_error', (err: Error & { description?: unknown; context?: unknown }) => {
          clearTimeout(timer);
          reject(new Error(`${opts.name} → ${url}: ${describeConnectError(err)}`));
        });
      });
      const wantWebsocket = opts.websocket ?? transports.includes('websocket');
      if (wantWebsocket) await waitForWebsocket(socket, opts.name, timeoutMs);
      const client: BenchClient = { name: opts.name, socket, serverId, source: opts.source };
      this.clients.push(client);
      return client;
    } catch (err) {
      socket.close();
      throw err;
    }
  }

  /** Drop one client (and forget it). */
  drop(client: BenchClient): void {
    client.socket.close();
    const i = this.clients.indexOf(client);
    if (i >= 0) this.clients.splice(i, 1);
  }

  close(): void {
    for (const c of this.clients) c.socket.close();
    this.clients.length = 0;
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  private agentFor(source: string): http.Agent {
    let agent = this.agents.get(source);
    if (!agent) {
      // No keep-alive: measured, 300 long-polling clients closed with keep-alive agents
      // still held 603 established connections 10 s later; without it, none.
      agent = new http.Agent({ localAddress: source, keepAlive: false });
      this.agents.set(source, agent);
    }
    return agent;
  }
}

async function waitForWebsocket(socket: Socket, name: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (socket.io.engine?.transport?.name !== 'websocket') {
    if (!socket.connected) throw new Error(`${name}: disconnected before upgrading to WebSocket`);
    if (performance.now() > deadline)
      throw new Error(
        `${name}: still on ${socket.io.engine?.transport?.name ?? '?'} after ${timeoutMs} ms (no WebSocket upgrade)`,
      );
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function join(client: BenchClient, room: string): Promise<void> {
  const ack = (await client.socket.timeout(5000).emitWithAck('join', room)) as { ok: boolean; error?: string };
  if (!ack.ok) throw new Error(`${client.name} could not join ${room}: ${ack.error}`);
}

/**
 * One sender and `count` receivers, each receiver on an instance other than
 * the sender's when there are several (checked from each client's welcome).
 * Direct: the sender on s1, receivers spread over s2…sN. Through nginx:
 * clients from fresh /24s until ip_hash has put enough of them elsewhere.
 */
export async function placeSenderAndReceivers(
  pool: ClientPool,
  entry: Entry,
  count: number,
  tag: string,
): Promise<{ sender: BenchClient; receivers: BenchClient[] }> {
  const open = (name: string, index: number): Promise<BenchClient> =>
    pool.connect(entry.url(index), { name, source: pool.takeSource() });
  const sender = await open(`${tag}-sender`, 0);
  const receivers: BenchClient[] = [];
  const others = Math.max(1, entry.instances - 1);
  const perInstance = Math.ceil(count / others);
  const onInstance = new Map<string, number>();
  for (let attempt = 0; receivers.length < count; attempt++) {
    if (attempt >= count + 40) {
      throw new Error(
        `could not place ${count} receivers away from ${sender.serverId} (placed ${receivers.length}, on ${[...onInstance.keys()].join(', ') || 'nothing'})`,
      );
    }
    const index = entry.instances === 1 ? 0 : 1 + (receivers.length % others);
    const c = await open(`${tag}-r${attempt + 1}`, index);
    const taken = onInstance.get(c.serverId) ?? 0;
    const elsewhere = entry.instances === 1 || c.serverId !== sender.serverId;
    if (elsewhere && taken < perInstance) {
      receivers.push(c);
      onInstance.set(c.serverId, taken + 1);
    } else {
      pool.drop(c); // ip_hash put it with the sender (or on a full instance): try another network
    }
  }
  if (entry.instances > 1 && receivers.some((r) => r.serverId === sender.serverId)) {
    throw new Error('internal: a receiver shares the sender instance');
  }
  return { sender, receivers };
}

/** `count` clients spread over the instances (round robin when direct, ip_hash through nginx). */
export async function placeSpread(pool: ClientPool, entry: Entry, count: number, tag: string): Promise<BenchClient[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      pool.connect(entry.url(i), { name: `${tag}-c${i + 1}`, source: pool.takeSource() }),
    ),
  );
}

export function spreadOf(clients: BenchClient[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of clients) out[c.serverId] = (out[c.serverId] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}
