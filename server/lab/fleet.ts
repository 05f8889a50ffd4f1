// Simulated users: socket.io-client in Node, inside the lab process. Each can
// come from its own loopback address (127.0.N.1), so nginx ip_hash spreads
// them like users on different networks, or all from 127.0.0.1, like users
// behind one NAT. The fleet records what every client received, so "expected
// vs delivered" is known for every message it sends.

import type { FleetClientView } from './views.ts';
import http from 'node:http';
import net from 'node:net';
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type {
  ChatMessage,
  ChatReply,
  ClientToServerEvents,
  ServerToClientEvents,
  StatsReply,
  Transport,
  Welcome,
  WhoReply,
} from '../app/protocol.ts';
import { LabError } from './errors.ts';
import type { TelemetryHub } from './telemetry/hub.ts';

/** distinct: one /24 per client (ip_hash spreads them). shared: everyone is 127.0.0.1. */
export type SourceMode = 'distinct' | 'shared';

/** socket.io-client options, as server/app/client-options.ts gives them. */
export type ClientOptions = Partial<ManagerOptions & SocketOptions>;
export type ChatClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface FleetTarget {
  /** Where client number `n` connects: nginx, or straight to an instance. */
  urlFor(n: number): string;
  via: 'nginx' | 'direct';
  /** What every client passes to io(): the learner's client options. */
  options: ClientOptions;
}

export type { FleetClientView } from './views.ts';

export class FleetClient {
  serverId: string | null = null;
  lastError: string | null = null;
  readonly rooms = new Set<string>();
  /** msgId → the message as received. */
  readonly received = new Map<string, ChatMessage>();
  socket!: ChatClientSocket;
  /** Called once connected and joined to its rooms (used while `add` waits). */
  onReady: (() => void) | undefined;

  constructor(
    readonly id: string,
    readonly n: number,
    readonly source: string,
    /** Transports this client tries; undefined: whatever the stage says. */
    readonly transports?: Transport[],
  ) {}

  get transport(): Transport | null {
    return this.socket?.connected ? (this.socket.io.engine.transport.name as Transport) : null;
  }

  view(): FleetClientView {
    return {
      id: this.id,
      source: this.source,
      connected: this.socket?.connected ?? false,
      serverId: this.socket?.connected ? this.serverId : null,
      transport: this.transport,
      rooms: [...this.rooms],
      received: this.received.size,
      lastError: this.lastError,
    };
  }
}

/**
 * Client n's source address: 127.0.n.1 for n < 250, then 127.1.x.1, …
 * nginx ip_hash hashes the first three octets, so each client is its own
 * network; 127.0.0.x is left to "shared" mode (n starts at 1).
 */
export function sourceAddress(n: number): string {
  return `127.${Math.floor(n / 250)}.${n % 250}.1`;
}

export class Fleet {
  private readonly clients = new Map<string, FleetClient>();
  private next = 1;
  private sent = 0;
  /** Linux routes all of 127/8 to loopback; macOS only 127.0.0.1. Then nginx's realip header stands in. */
  private readonly canBindLoopbackAliases: Promise<boolean>;

  private readonly idPrefix: string;
  private readonly reconnect: boolean;
  private readonly onLatency: ((ms: number, crossInstance: boolean) => void) | undefined;
  private readonly announce: boolean;
  /** msgId → when it was sent, for messages still expected somewhere (bounded). */
  private readonly sentAt = new Map<string, number>();

  constructor(
    private readonly hub: TelemetryHub,
    private target: FleetTarget,
    opts: {
      sources?: 'auto' | 'bind' | 'header';
      /** Client ids are `${idPrefix}${n}`: c1, c2, … for the learner's fleet. */
      idPrefix?: string;
      /** Reconnect like a real app (default). Checks turn it off: a failure is the answer. */
      reconnect?: boolean;
      /** Called for each delivery of a message this fleet sent: ms from send to receipt, and whether it crossed instances. */
      onLatency?: (ms: number, crossInstance: boolean) => void;
      /** Publish a 'fleet' event when clients come and go (the learner's fleet does; checks' do not). */
      announce?: boolean;
    } = {},
  ) {
    this.onLatency = opts.onLatency;
    this.announce = opts.announce ?? false;
    this.canBindLoopbackAliases = loopbackAliasesWork(opts.sources ?? 'auto');
    this.idPrefix = opts.idPrefix ?? 'c';
    this.reconnect = opts.reconnect ?? true;
  }

  list(): FleetClient[] {
    return [...this.clients.values()];
  }

  get(id: string): FleetClient {
    const client = this.clients.get(id);
    if (!client)
      throw new LabError(`no fleet client "${id}"`, `fleet clients: ${[...this.clients.keys()].join(', ') || 'none'}`);
    return client;
  }

  /** Add `count` clients and wait until each has connected and joined `rooms` (or failed to). */
  async add(
    count: number,
    opts: { source?: SourceMode; rooms?: string[]; timeoutMs?: number; transports?: Transport[] } = {},
  ): Promise<FleetClient[]> {
    if (!Number.isInteger(count) || count < 1 || count > 5000)
      throw new LabError('count must be an integer from 1 to 5000');
    const added: FleetClient[] = [];
    for (let i = 0; i < count; i++) {
      const n = this.next++;
      const source = opts.source === 'shared' ? '127.0.0.1' : sourceAddress(n);
      const client = new FleetClient(`${this.idPrefix}${n}`, n, source, opts.transports);
      for (const room of opts.rooms ?? []) client.rooms.add(room);
      this.clients.set(client.id, client);
      added.push(client);
    }
    const aliases = await this.canBindLoopbackAliases;
    await Promise.all(added.map((c) => this.connect(c, aliases, opts.timeoutMs ?? 5000)));
    this.changed();
    return added;
  }

  /** Where and how new clients connect (existing ones keep their connection until retarget()). */
  setTarget(target: FleetTarget): void {
    this.target = target;
  }

  get currentTarget(): FleetTarget {
    return this.target;
  }

  /** Point the fleet at a new stage's entry point; every client reconnects there. */
  async retarget(target: FleetTarget): Promise<void> {
    this.target = target;
    const all = this.list();
    for (const c of all) c.socket.close();
    const aliases = await this.canBindLoopbackAliases;
    await Promise.all(all.map((c) => this.connect(c, aliases, 5000)));
  }

  remove(ids?: string[]): number {
    const victims = ids ? ids.map((id) => this.get(id)) : this.list();
    for (const c of victims) {
      c.socket.close();
      this.clients.delete(c.id);
    }
    if (victims.length > 0) this.changed();
    // An empty fleet numbers from c1 again, so a lesson's steps can name c1, c2…
    // (message ids stay unique: their counter never restarts).
    if (this.clients.size === 0) this.next = 1;
    return victims.length;
  }

  async join(ids: string[], room: string): Promise<void> {
    await Promise.all(
      ids.map(async (id) => {
        const c = this.get(id);
        c.rooms.add(room);
        if (c.socket.connected) await this.joinRoom(c, room);
      }),
    );
  }

  /** Ask who is in `room`, on one client's behalf: the server's ack, or why there is none. */
  async who(id: string, room: string): Promise<WhoReply> {
    const c = this.get(id);
    if (!c.socket.connected) return notConnected(c);
    try {
      // Longer than the adapter's own 5 s wait for instances that do not answer.
      return await c.socket.timeout(7000).emitWithAck('who', room);
    } catch {
      return { ok: false, error: `no answer from ${c.serverId ?? 'server'} within 7 s` };
    }
  }

  /** Ask how many are connected, on one client's behalf. */
  async stats(id: string): Promise<StatsReply> {
    const c = this.get(id);
    if (!c.socket.connected) return notConnected(c);
    try {
      return await c.socket.timeout(7000).emitWithAck('stats');
    } catch {
      return { ok: false, error: `no answer from ${c.serverId ?? 'server'} within 7 s` };
    }
  }

  /** Send from one client; resolves with the server's ack. */
  async send(id: string, room: string, text: string): Promise<ChatReply> {
    const c = this.get(id);
    if (!c.socket.connected) return notConnected(c);
    const msgId = `${id}-m${++this.sent}`;
    this.sentAt.set(msgId, performance.now());
    if (this.sentAt.size > 10_000) this.sentAt.delete(this.sentAt.keys().next().value!);
    try {
      return await c.socket.timeout(5000).emitWithAck('chat', { room, text, msgId });
    } catch {
      return { ok: false, error: `no ack from ${c.serverId ?? 'server'} within 5 s` };
    }
  }

  /** Who got a message: fleet clients that received it, and where they were. */
  receivers(msgId: string): Map<string, string | null> {
    const out = new Map<string, string | null>();
    for (const c of this.clients.values()) if (c.received.has(msgId)) out.set(c.id, c.serverId);
    return out;
  }

  close(): void {
    this.remove();
  }

  private changed(): void {
    if (this.announce) this.hub.lab({ t: 'fleet', ids: this.list().map((c) => c.id) });
  }

  private connect(c: FleetClient, aliases: boolean, timeoutMs: number): Promise<void> {
    const { target } = this;
    const distinct = c.source !== '127.0.0.1';
    // No keep-alive: a removed client's idle polling connections would stay open
    // (measured in the bench: 2 per client, still there 10 s later).
    const agent = distinct && aliases ? new http.Agent({ localAddress: c.source, keepAlive: false }) : undefined;
    const socket: ChatClientSocket = io(target.urlFor(c.n), {
      ...target.options,
      forceNew: true,
      auth: { name: c.id },
      ...(c.transports ? { transports: c.transports } : {}),
      // The same key on every request of this client: used by the cookie/affinity balancer.
      query: { affinity: c.id },
      // An http.Agent bound to the source address carries BOTH transports;
      // the bare `localAddress` option would only reach the WebSocket.
      ...(agent ? { agent: agent as unknown as string } : {}),
      // Without alias addresses, say who we pretend to be; nginx trusts this from loopback only.
      ...(distinct && !aliases ? { extraHeaders: { 'X-Forwarded-For': c.source } } : {}),
      reconnection: this.reconnect && target.options.reconnection !== false,
    });
    c.socket = socket;

    socket.on('welcome', (w: Welcome) => {
      c.serverId = w.serverId;
      c.lastError = null;
      // Rooms live on the server-side socket: after any reconnect they are empty again.
      void Promise.all([...c.rooms].map((room) => this.joinRoom(c, room))).then(() => c.onReady?.());
    });
    socket.on('chat', (m) => {
      c.received.set(m.msgId, m);
      const sent = this.sentAt.get(m.msgId);
      if (sent !== undefined && this.onLatency) this.onLatency(performance.now() - sent, m.serverId !== c.serverId);
    });
    socket.on('disconnect', (reason) => {
      // Connected, then lost (a polling session broken behind a round-robin
      // balancer, an instance that died): say so, not "no answer".
      if (c.serverId) c.lastError = `connected to ${c.serverId}, then lost: ${reason}`;
      c.serverId = null;
    });
    socket.on('connect_error', (err: Error & { description?: unknown; context?: unknown }) => {
      c.lastError = describeConnectError(err);
      this.hub.lab({ t: 'handshake-failed', clientId: c.id, via: target.via, error: c.lastError });
    });

    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        c.onReady = undefined;
        socket.off('connect_error', failedForGood);
        resolve();
      };
      // A middleware refusal is final (the client will not retry), and so is any
      // error when reconnection is off; otherwise transport errors are retried.
      const failedForGood = (): void => {
        if (!socket.active || !this.reconnect) done();
      };
      const timer = setTimeout(done, timeoutMs);
      c.onReady = done;
      socket.on('connect_error', failedForGood);
    });
  }

  private async joinRoom(c: FleetClient, room: string): Promise<void> {
    try {
      const ack = await c.socket.timeout(5000).emitWithAck('join', room);
      if (!ack.ok) c.lastError = `join ${room}: ${ack.error}`;
    } catch {
      c.lastError = `join ${room}: no ack`;
    }
  }
}

/** Turn engine.io's terse errors into what actually happened, e.g. HTTP 400 "Session ID unknown". */
export function describeConnectError(err: Error & { description?: unknown; context?: unknown }): string {
  const ctx = err.context as { status?: number; responseText?: string } | undefined;
  if (ctx && typeof ctx.status === 'number' && ctx.status > 0) {
    let detail = '';
    try {
      detail = ` ${JSON.stringify((JSON.parse(ctx.responseText ?? '') as { message?: string }).message)}`;
    } catch {
      /* body was not JSON */
    }
    return `${err.message} (HTTP ${ctx.status}${detail})`;
  }
  if (typeof err.description === 'number') return `${err.message} (HTTP ${err.description})`;
  return err.message;
}

function notConnected(c: FleetClient): { ok: false; error: string } {
  return { ok: false, error: `${c.id} is not connected${c.lastError ? `: ${c.lastError}` : ''}` };
}

/** Whether clients can bind 127.0.N.1 (auto: try it), or must say their source in X-Forwarded-For. */
export function loopbackAliasesWork(sources: 'auto' | 'bind' | 'header'): Promise<boolean> {
  return sources === 'auto' ? canBind('127.0.5.1') : Promise.resolve(sources === 'bind');
}

function canBind(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(0, address, () => server.close(() => resolve(true)));
  });
}
