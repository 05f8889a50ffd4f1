// The lab's probe, attached to a chat server from OUTSIDE its code, the way
// @socket.io/admin-ui's instrument(io) does: server/app never imports the lab.
//
// `instrument(io, sender)` watches a Socket.IO server through public hooks:
// connections and upgrades, the acks of accepted chat messages (the message's
// origin), every chat packet written to a socket (deliveries), joins (adapter
// events), refused handshakes (CONNECT_ERROR packets), and what it holds
// (a sample a second). It reports OUT OF BAND, over HTTP to the control
// plane, never through Socket.IO or Redis: a stage without an adapter is
// really broken, and the lab still sees it break.

import type http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Server, Socket } from 'socket.io';
import type { BroadcastKind, Transport } from '../../app/config.ts';
import type { SeenAdapter } from './events.ts';
import { now, type Sender } from './sender.ts';

/** Bounds on what the probe remembers between reports, whatever the traffic. */
const MAX_PENDING = 10_000;

export interface InstrumentOptions {
  sender: Sender;
  broadcast: BroadcastKind;
}

export function instrument(io: Server, opts: InstrumentOptions): void {
  const { sender } = opts;
  const deliveries = new Deliveries(sender);
  const published = new Map<string, number>();
  registerConnections(io, sender, deliveries, published);
  registerRefusals(io, sender);
  registerLifecycle(io, opts, published);
  registerSamples(io, sender);
}

/** Deliveries grouped per message until the next report: one array push per delivery. */
class Deliveries {
  private byMsg = new Map<string, { socketIds: string[]; at: number }>();

  constructor(sender: Sender) {
    // Fold the groups into one event right before each flush.
    sender.beforeFlush(() => this.report(sender));
  }

  add(msgId: string, socketId: string): void {
    const entry = this.byMsg.get(msgId);
    if (entry) entry.socketIds.push(socketId);
    else if (this.byMsg.size < MAX_PENDING) this.byMsg.set(msgId, { socketIds: [socketId], at: now() });
  }

  private report(sender: Sender): void {
    if (this.byMsg.size === 0) return;
    const list = [...this.byMsg].map(([msgId, d]) => ({ msgId, socketIds: d.socketIds, at: d.at }));
    this.byMsg = new Map();
    sender.push({ t: 'delivered', deliveries: list });
  }
}

function registerConnections(io: Server, sender: Sender, deliveries: Deliveries, published: Map<string, number>): void {
  io.on('connection', (socket: Socket) => {
    watchAdapter(io, published, sender);
    const clientId = nameOf(socket);
    sender.push({
      t: 'connected',
      socketId: socket.id,
      clientId,
      transport: socket.conn.transport.name as Transport,
      address: socket.handshake.address,
      recovered: socket.recovered,
    });
    socket.conn.once('upgrade', () => {
      sender.push({ t: 'upgraded', socketId: socket.id, transport: socket.conn.transport.name as Transport });
    });
    socket.on('disconnect', (reason: string) => sender.push({ t: 'disconnected', socketId: socket.id, reason }));

    // Runs before the app's handlers: note when a chat packet arrived, and
    // watch the app's ack. An ok ack means this instance accepted it (origin).
    socket.use((packet, next) => {
      const ack = packet.at(-1);
      if (packet[0] === 'chat' && typeof ack === 'function') {
        const arrived = now();
        const room = (packet[1] as { room?: unknown } | undefined)?.room;
        packet[packet.length - 1] = (reply: { ok?: boolean; msgId?: unknown }) => {
          if (reply?.ok === true && typeof reply.msgId === 'string') {
            const publishedAt = published.get(reply.msgId) ?? null;
            published.delete(reply.msgId);
            sender.push({
              t: 'received',
              at: arrived,
              msgId: reply.msgId,
              room: String(room),
              from: clientId,
              socketId: socket.id,
              publishedAt,
            });
          }
          (ack as (r: unknown) => void)(reply);
        };
      }
      next();
    });

    // Every packet written to this socket, from this instance or through the adapter.
    socket.onAnyOutgoing((event: string, body: { msgId?: unknown } | undefined) => {
      if (event === 'chat' && typeof body?.msgId === 'string') deliveries.add(body.msgId, socket.id);
      else if (event === 'draining') markDraining(sender);
    });
  });
}

/** The name the client gave (auth.name), else its socket id: the contract's client id. */
function nameOf(socket: Socket): string {
  const name = (socket.handshake.auth as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && name.length > 0 && name.length <= 40 ? name : socket.id;
}

let drainingSeen = false;
function markDraining(sender: Sender): void {
  if (drainingSeen) return;
  drainingSeen = true;
  sender.push({ t: 'draining' });
}

const watchedAdapters = new WeakSet<object>();

/**
 * The app sets its adapter after creating the server (io.adapter() replaces
 * it), so adapter hooks go on at the first connection, once per adapter.
 */
function watchAdapter(io: Server, published: Map<string, number>, sender: Sender): void {
  const adapter = io.of('/').adapter;
  if (watchedAdapters.has(adapter)) return;
  watchedAdapters.add(adapter);
  adapter.on('join-room', (room: string, socketId: string) => {
    if (room !== socketId) sender.push({ t: 'joined', socketId, room });
  });
  if (seenAdapter(io) === 'none') return;
  // The origin hands a room broadcast to its adapter, which publishes it (and
  // emits locally). Other instances deliver through the adapter's own path,
  // never through this instance method, so only origins are timed here.
  const original = adapter.broadcast;
  adapter.broadcast = function (this: typeof adapter, packet, opts) {
    const msgId = (packet.data as [string, { msgId?: unknown }?] | undefined)?.[1]?.msgId;
    if (packet.data?.[0] === 'chat' && typeof msgId === 'string' && published.size < MAX_PENDING) {
      published.set(msgId, now());
    }
    return original.call(this, packet, opts);
  };
}

/** The adapter as it really is, read off the object (a file that forgot to attach it shows 'none'). */
export function seenAdapter(io: Server): SeenAdapter {
  const name = io.of('/').adapter.constructor.name;
  const known: Record<string, SeenAdapter> = {
    Adapter: 'none',
    SessionAwareAdapter: 'none',
    RedisAdapter: 'redis',
    RedisStreamsAdapter: 'redis-streams',
    ShardedRedisAdapter: 'redis-sharded',
  };
  return known[name] ?? name;
}

/**
 * A refused handshake (an io.use() middleware called next(err)) leaves as a
 * CONNECT_ERROR packet. On the wire it reads "44{…}" (engine.io message 4,
 * Socket.IO CONNECT_ERROR 4); an engine packet's data holds the Socket.IO
 * part only: "4{…}" for the main namespace. Watching packets on the raw
 * engine connection sees it without touching the app's middleware.
 */
function registerRefusals(io: Server, sender: Sender): void {
  io.engine.on(
    'connection',
    (raw: { remoteAddress: string; on(e: 'packetCreate', f: (p: RawPacket) => void): void }) => {
      raw.on('packetCreate', (packet) => {
        if (packet.type !== 'message' || typeof packet.data !== 'string' || !packet.data.startsWith('4{')) return;
        let reason = 'refused';
        try {
          reason = (JSON.parse(packet.data.slice(1)) as { message?: string }).message ?? reason;
        } catch {
          /* not JSON: keep the plain word */
        }
        sender.push({ t: 'refused', address: raw.remoteAddress, reason });
      });
    },
  );
}
type RawPacket = { type: string; data?: unknown };

function registerLifecycle(io: Server, opts: InstrumentOptions, published: Map<string, number>): void {
  const httpServer = io.httpServer as http.Server | undefined;
  httpServer?.once('listening', () => {
    const address = httpServer.address();
    opts.sender.push({
      t: 'instance-up',
      pid: process.pid,
      port: typeof address === 'object' && address ? address.port : 0,
      adapter: seenAdapter(io),
      broadcast: opts.broadcast,
    });
    opts.sender.flush();
  });
  // Origins that never acked (no ack function given) must not pile up.
  setInterval(() => published.clear(), 60_000).unref();
}

function registerSamples(io: Server, sender: Sender): void {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  setInterval(() => {
    const { rss, heapUsed } = process.memoryUsage();
    sender.push({
      t: 'sample',
      connections: io.of('/').sockets.size,
      rss,
      heapUsed,
      loopDelayP99Ms: loop.percentile(99) / 1e6,
    });
    loop.reset();
  }, 1000).unref();
}

/**
 * GET /lab/memory[?gc=1] on the instance's own port: heap and RSS, after a
 * full collection when asked (node runs with --expose-gc under the lab). The
 * bench and the capacity check use it; it is the lab's route, not the app's.
 */
export function registerLabRoutes(io: Server): void {
  const server = io.httpServer as http.Server | undefined;
  if (!server) return;
  const previous = server.listeners('request') as http.RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.url === '/lab/memory' || req.url === '/lab/memory?gc=1') {
      if (req.url.endsWith('?gc=1')) (globalThis as { gc?: () => void }).gc?.();
      const { rss, heapUsed } = process.memoryUsage();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ rss, heapUsed, connections: io.of('/').sockets.size }));
      return;
    }
    for (const listener of previous) listener.call(server, req, res);
  });
}
