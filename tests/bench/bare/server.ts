// The bench's baseline: a bare Socket.IO chat server with no lab code, no
// validation, no limits and no telemetry. The lab runs it under PM2, behind
// the same nginx and Redis, when a stage says `"server": "bare"`, so the
// bench measures the lab against it in the same run. It speaks only what the
// bench's clients use: `welcome` on connect, `join` and `chat` with acks,
// room delivery as `chat`, GET /health, and GET /lab/memory[?gc=1].

import http from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';
import { Server } from 'socket.io';

const { SERVER_ID: serverId = 's1', HOST: host = '127.0.0.1', ADAPTER: adapter = 'none' } = process.env;
const port = Number(process.env.PORT ?? 3001);
type Ack = (reply: object) => void;

const httpServer = http.createServer((req, res) => {
  const json = (body: object): void => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const connections = io.of('/').sockets.size;
  if (req.url === '/health') json({ serverId, pid: process.pid, port, connections, adapter, draining: false });
  else if (req.url === '/lab/memory' || req.url === '/lab/memory?gc=1') {
    // node runs with --expose-gc: the bench reads live data only.
    if (req.url.endsWith('?gc=1')) (globalThis as { gc?: () => void }).gc?.();
    const { rss, heapUsed } = process.memoryUsage();
    json({ rss, heapUsed, connections });
  } else if (!req.url?.startsWith('/socket.io/')) res.writeHead(404).end();
});

const io = new Server(httpServer);
if (adapter === 'redis') {
  const pub = createClient({ url: process.env.REDIS_URL });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on('error', (err: Error) => console.error(`[${serverId}] redis: ${err.message}`));
  await Promise.all([pub.connect(), sub.connect()]);
  // The lab's key, so the reconciler's "every instance subscribed" wait applies here too.
  io.adapter(createAdapter(pub, sub, { key: process.env.REDIS_KEY ?? 'chat' }));
}

io.on('connection', (socket) => {
  const from = String(socket.handshake.auth.name ?? socket.id);
  let sent = 0;
  socket.emit('welcome', { serverId, pid: process.pid, port, transport: socket.conn.transport.name });
  socket.on('join', (room: string, ack?: Ack) => {
    void socket.join(room);
    ack?.({ ok: true, serverId, room });
  });
  socket.on('chat', ({ room, text, msgId }: { room: string; text: string; msgId?: string }, ack?: Ack) => {
    const id = msgId ?? `${serverId}-${socket.id}-${++sent}`;
    io.to(room).emit('chat', { msgId: id, room, text, from, serverId });
    ack?.({ ok: true, msgId: id, serverId });
  });
});

httpServer.listen(port, host, () => console.log(`[${serverId}] bare server on ${host}:${port} (adapter ${adapter})`));
