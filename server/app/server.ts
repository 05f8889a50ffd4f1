// The chat server every lesson is about. One instance of it is one "server"
// (s1, s2, …) in the lab. Read this file top to bottom: it wires the modules
// that each hold one idea (broadcast, adapter, limits, presence) and speaks
// the protocol in protocol.ts.

import http from 'node:http';
import { Server, type ServerOptions } from 'socket.io';
import { attachAdapter } from './adapter.ts';
import { createBroadcast } from './broadcast.ts';
import type { AppConfig } from './config.ts';
import type { ChatIO, ChatSocket } from './io.ts';
import { admitClients, packetLimits, RateLimit, roomLimit } from './limits.ts';
import { createPresence } from './presence.ts';
import type { ChatMessage, Failure, Health, Transport } from './protocol.ts';
import { clientName, parseChat, parseRoom } from './validate.ts';

export interface ChatServer {
  io: ChatIO;
  http: http.Server;
  /** Tell this instance's clients it is leaving, keep serving `drainMs`, then close everything. */
  drain(): Promise<void>;
}

/** Socket.IO's options, from the config. */
export function serverOptions(config: AppConfig): Partial<ServerOptions> {
  return {
    transports: config.transports,
    pingInterval: config.pingIntervalMs,
    pingTimeout: config.pingTimeoutMs,
    ...packetLimits(config),
    // Pages served elsewhere (the lab's chat page) may connect only if we say
    // so: long-polling is plain cross-origin HTTP.
    ...(config.corsOrigins.length > 0 ? { cors: { origin: config.corsOrigins } } : {}),
    // Lesson 8: replay what a client missed while it was cut off. Needs an
    // adapter that keeps history (redis-streams), or a single instance.
    // skipMiddlewares: false, so a returning client still passes admission.
    ...(config.recovery
      ? { connectionStateRecovery: { maxDisconnectionDuration: 2 * 60_000, skipMiddlewares: false } }
      : {}),
  };
}

export async function startChatServer(config: AppConfig): Promise<ChatServer> {
  const { serverId, port } = config;
  let draining = false;

  const httpServer = http.createServer((req, res) => {
    if (req.url === '/health') {
      const health: Health = {
        serverId,
        pid: process.pid,
        port,
        connections: io.of('/').sockets.size,
        adapter: config.adapter,
        broadcast: config.broadcast,
        draining,
      };
      // 503 while draining, so anything that polls health stops sending us clients.
      res.writeHead(draining ? 503 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(health));
    } else if (!req.url?.startsWith('/socket.io/')) {
      res.writeHead(404).end(); // Socket.IO answers /socket.io/ itself
    }
  });

  const io: ChatIO = new Server(httpServer, serverOptions(config));
  const closeAdapter = await attachAdapter(io, config);
  const broadcast = createBroadcast(io, config.broadcast);
  const presence = createPresence(io, serverId, config.adapter !== 'none');
  admitClients(io, config, () => draining);

  io.on('connection', (socket: ChatSocket) => {
    const name = clientName(socket.handshake.auth) ?? socket.id;
    socket.data = { name, serverId }; // fetchSockets() on any instance returns it
    const transport = socket.conn.transport.name as Transport;
    socket.emit('welcome', { serverId, pid: process.pid, port, transport });

    // One budget for everything a client asks of us; who/stats ask every instance.
    const rate = new RateLimit(config.maxMessagesPerSecond);
    let sent = 0;

    socket.on('join', (room, ack) => {
      const reply = replier(ack);
      if (!rate.allow()) return reply(failure(rate.refusal));
      const parsed = parseRoom(room);
      if (!parsed.ok) return reply(parsed);
      if (!socket.rooms.has(parsed.value)) {
        const full = roomLimit(socket, config);
        if (full) return reply(failure(full));
      }
      void socket.join(parsed.value);
      broadcast.joined(socket, parsed.value);
      reply({ ok: true, serverId, room: parsed.value });
    });

    socket.on('chat', (input, ack) => {
      const reply = replier(ack);
      if (!rate.allow()) return reply(failure(rate.refusal));
      const parsed = parseChat(input, config.maxTextLength);
      if (!parsed.ok) return reply(parsed);
      const { room, text } = parsed.value;
      if (!socket.rooms.has(room)) return reply(failure(`unknown room "${room}": join it first`));
      const msgId = parsed.value.msgId ?? `${serverId}-${socket.id}-${++sent}`;
      const message: ChatMessage = { msgId, room, text, from: name, serverId };
      broadcast.send(message);
      reply({ ok: true, msgId, serverId });
    });

    socket.on('who', async (room, ack) => {
      const reply = replier(ack);
      if (!rate.allow()) return reply(failure(rate.refusal));
      const parsed = parseRoom(room);
      if (!parsed.ok) return reply(parsed);
      try {
        reply({ ok: true, room: parsed.value, members: await presence.who(parsed.value) });
      } catch (err) {
        reply(failure(`some instances did not answer: ${(err as Error).message}`));
      }
    });

    socket.on('stats', async (ack) => {
      const reply = replier(ack);
      if (!rate.allow()) return reply(failure(rate.refusal));
      try {
        const servers = await presence.counts();
        reply({ ok: true, servers, total: Object.values(servers).reduce((a, b) => a + b, 0) });
      } catch (err) {
        reply(failure(`some instances did not answer: ${(err as Error).message}`));
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, config.host, () => resolve());
  });

  return {
    io,
    http: httpServer,
    async drain() {
      draining = true;
      // io.local: only OUR clients are leaving. io.emit() would go through the
      // adapter and tell every client of every instance.
      io.local.emit('draining', { serverId });
      await new Promise((r) => setTimeout(r, config.drainMs));
      // Closing the engine ends every connection with "transport close", which
      // socket.io-client answers by reconnecting (through the load balancer, to
      // another instance); with recovery on, each session is saved first. A
      // server-side socket.disconnect() would NOT reconnect.
      await new Promise<void>((resolve) => io.close(() => resolve()));
      await closeAdapter();
    },
  };
}

const failure = (error: string): Failure => ({ ok: false, error });

/** Acks are optional and come from the client, so they may be anything. */
function replier(ack: unknown): (reply: object) => void {
  return typeof ack === 'function' ? (ack as (reply: object) => void) : () => {};
}
