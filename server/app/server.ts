// The chat server every lesson is about. One instance of it is one "server"
// (s1, s2, …) in the lab. Read this file top to bottom: it is the whole app.
//
// Protocol (the same in every stage):
//   handshake  auth: { name }
//   server →   welcome { serverId, pid, port, transport }
//   client →   join (room, ack)                 ack { ok, serverId, room } | { ok: false, error }
//   client →   chat ({ room, text, msgId? }, ack) ack { ok, msgId, serverId } | { ok: false, error }
//   server →   chat { msgId, room, text, from, serverId }   to every member of the room
//   client →   who (room, ack)                  ack { ok, room, members: [{ name, serverId }] }
//   client →   stats (ack)                      ack { ok, servers: { s1: n, … }, total }
//   GET /health → { serverId, pid, port, connections, adapter, broadcast, memory }

import http from 'node:http';
import { Server, type Socket } from 'socket.io';
import type { AppConfig } from './config.ts';
import { attachAdapter } from './adapter.ts';
import { createPresence, type Member } from './presence.ts';
import { clientName, parseChat, parseRoom } from './validate.ts';
import type { Probe } from './telemetry.ts';

export interface ChatMessage {
  msgId: string;
  room: string;
  text: string;
  from: string;
  /** The instance that received the message from its sender. */
  serverId: string;
}

type Ack = (reply: Record<string, unknown>) => void;

export interface ChatServer {
  io: Server;
  http: http.Server;
  /** Tell clients we are leaving, wait `drainMs`, then close everything. */
  drain(): Promise<void>;
}

export async function startChatServer(config: AppConfig, probe: Probe): Promise<ChatServer> {
  const { serverId, port } = config;
  let draining = false;

  const httpServer = http.createServer((req, res) => {
    if (req.url === '/health' || req.url === '/health?gc=1') {
      // `?gc=1` (npm run bench) collects garbage first, so `memory.heapUsed` is
      // live data only. gc() exists when node runs with --expose-gc (PM2 does).
      if (req.url.endsWith('?gc=1')) (globalThis as { gc?: () => void }).gc?.();
      const { rss, heapUsed } = process.memoryUsage();
      // 503 while draining, so anything that polls health stops sending us clients.
      res.writeHead(draining ? 503 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        serverId, pid: process.pid, port,
        connections: io.of('/').sockets.size,
        adapter: config.adapter, broadcast: config.broadcast, draining,
        memory: { rss, heapUsed }, // bytes
      }));
      return;
    }
    // Socket.IO answers /socket.io/ itself; anything else is not ours.
    if (!req.url?.startsWith('/socket.io/')) {
      res.writeHead(404).end();
    }
  });

  const io = new Server(httpServer, {
    transports: config.transports,
    pingInterval: config.pingInterval,
    pingTimeout: config.pingTimeout,
    maxHttpBufferSize: config.maxHttpBufferSize,
    // Browsers may connect from pages served elsewhere (the lab's chat page on
    // :4000) only if we say so: long-polling is plain cross-origin HTTP.
    ...(config.corsOrigins.length > 0 ? { cors: { origin: config.corsOrigins } } : {}),
    // Only useful with an adapter that keeps history (redis-streams) or a single instance.
    // skipMiddlewares: false, so a returning client still passes admission (a
    // draining or full instance must refuse it like any other).
    ...(config.recovery ? { connectionStateRecovery: { maxDisconnectionDuration: 2 * 60_000, skipMiddlewares: false } } : {}),
  });
  const closeAdapter = await attachAdapter(io, config);
  const presence = createPresence(io, config);

  // ── Admission: refuse clients clearly instead of falling over ──────────────
  io.use((socket, next) => {
    const refuse = (message: string): void => {
      probe.refused(socket.handshake.address, message);
      next(Object.assign(new Error(message), { data: { serverId } }));
    };
    if (draining) return refuse(`${serverId} is draining; reconnect to another instance`);
    if (io.of('/').sockets.size >= config.maxConnections) {
      return refuse(`${serverId} is full (${config.maxConnections} connections)`);
    }
    next();
  });

  // ── Lesson 1's broadcast: a Set of sockets per room, in THIS process's memory ─
  // It works perfectly with one instance. With two, each process only knows
  // its own sockets, and the room is silently split in half.
  const localRooms = new Map<string, Set<Socket>>();

  function broadcast(message: ChatMessage): void {
    if (config.broadcast === 'naive-set') {
      for (const member of localRooms.get(message.room) ?? []) member.emit('chat', message);
    } else {
      // Socket.IO rooms: the adapter (if any) carries this to every instance.
      io.to(message.room).emit('chat', message);
    }
  }

  io.on('connection', (socket) => {
    const name = clientName(socket.handshake.auth) ?? socket.id;
    const transport = socket.conn.transport.name as 'polling' | 'websocket';
    // fetchSockets() on any instance returns this, so members can be named fleet-wide.
    socket.data = { name, serverId } satisfies Member;
    probe.connected({ socketId: socket.id, clientId: name, transport, address: socket.handshake.address, recovered: socket.recovered });
    socket.conn.once('upgrade', () => probe.upgraded(socket.id, socket.conn.transport.name as 'websocket'));
    socket.emit('welcome', { serverId, pid: process.pid, port, transport });

    // Every chat packet written to this socket, whether it came from this
    // instance or arrived through the adapter, passes here.
    socket.onAnyOutgoing((event: string, message: ChatMessage) => {
      if (event === 'chat') probe.delivered(message.msgId, socket.id);
    });

    const rate = new RateLimit(config.maxMessagesPerSecond);
    let sent = 0;

    socket.on('join', (room: unknown, ack?: unknown) => {
      const reply = replier(ack);
      const parsed = parseRoom(room);
      if (!parsed.ok) return reply({ ok: false, error: parsed.error });
      void socket.join(parsed.value);
      // Recorded for both strategies, so switching strategy changes only broadcast().
      let members = localRooms.get(parsed.value);
      if (!members) localRooms.set(parsed.value, (members = new Set()));
      members.add(socket);
      probe.joined(socket.id, parsed.value);
      reply({ ok: true, serverId, room: parsed.value });
    });

    socket.on('chat', (input: unknown, ack?: unknown) => {
      const reply = replier(ack);
      if (!rate.allow()) return reply({ ok: false, error: `rate limit: at most ${config.maxMessagesPerSecond} messages per second` });
      const parsed = parseChat(input, config.maxTextLength);
      if (!parsed.ok) return reply({ ok: false, error: parsed.error });
      const { room, text } = parsed.value;
      if (!socket.rooms.has(room)) return reply({ ok: false, error: `unknown room "${room}": join it first` });

      const msgId = parsed.value.msgId ?? `${serverId}-${socket.id}-${++sent}`;
      const message: ChatMessage = { msgId, room, text, from: name, serverId };
      probe.received({ msgId, room, from: name, socketId: socket.id });
      broadcast(message);
      reply({ ok: true, msgId, serverId });
    });

    // Questions about everyone, not just this instance: see presence.ts.
    socket.on('who', async (room: unknown, ack?: unknown) => {
      const reply = replier(ack);
      // These ask every instance, so they cost more than a chat message: same budget.
      if (!rate.allow()) return reply({ ok: false, error: `rate limit: at most ${config.maxMessagesPerSecond} requests per second` });
      const parsed = parseRoom(room);
      if (!parsed.ok) return reply({ ok: false, error: parsed.error });
      try {
        reply({ ok: true, room: parsed.value, members: await presence.who(parsed.value) });
      } catch (err) {
        reply({ ok: false, error: `some instances did not answer: ${(err as Error).message}` });
      }
    });

    socket.on('stats', async (ack?: unknown) => {
      const reply = replier(ack);
      if (!rate.allow()) return reply({ ok: false, error: `rate limit: at most ${config.maxMessagesPerSecond} requests per second` });
      try {
        const servers = await presence.counts();
        reply({ ok: true, servers, total: Object.values(servers).reduce((a, b) => a + b, 0) });
      } catch (err) {
        reply({ ok: false, error: `some instances did not answer: ${(err as Error).message}` });
      }
    });

    // 'disconnecting' still lists the socket's rooms ('disconnect' comes after they are left).
    socket.on('disconnecting', () => {
      for (const room of socket.rooms) {
        const members = localRooms.get(room);
        members?.delete(socket);
        if (members?.size === 0) localRooms.delete(room);
      }
    });
    socket.on('disconnect', (reason) => probe.disconnected(socket.id, reason));
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, config.host, () => resolve());
  });
  probe.instanceUp({ pid: process.pid, port, adapter: config.adapter, broadcast: config.broadcast });

  return {
    io,
    http: httpServer,
    async drain() {
      draining = true;
      probe.draining();
      io.emit('draining', { serverId });
      await new Promise((r) => setTimeout(r, config.drainMs));
      // Closing the engine ends every connection with "transport close", which
      // socket.io-client answers by reconnecting (through the load balancer, to
      // another instance). A server-side socket.disconnect() would NOT reconnect.
      await new Promise<void>((resolve) => io.close(() => resolve()));
      await closeAdapter();
    },
  };
}

/** Acks are optional and come from the client, so they may be anything. */
function replier(ack: unknown): Ack {
  return typeof ack === 'function' ? (ack as Ack) : () => {};
}

/** A token bucket: `perSecond` messages a second, with bursts of the same size. */
class RateLimit {
  private tokens: number;
  private last = Date.now();
  constructor(private readonly perSecond: number) {
    this.tokens = perSecond;
  }
  allow(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
