// Your version of server/app/adapter.ts. `npm run lab -- exercise 5` builds
// the chat server with this file in its place and restarts the instances.

import { createClient } from 'redis';
import { createAdapter as createPubSubAdapter } from '@socket.io/redis-adapter';
import { createAdapter as createStreamsAdapter } from '@socket.io/redis-streams-adapter';
import type { Server } from 'socket.io';
import type { AppConfig } from '../../../server/app/config.ts';

/** Attach the configured adapter; returns a function that closes its Redis connections. */
export async function attachAdapter(io: Server, config: AppConfig): Promise<() => Promise<void>> {
  if (config.adapter === 'none') return async () => {}; // in-memory: this process only

  const client = createClient({ url: config.redisUrl });
  client.on('error', (err: Error) => console.error(`[${config.serverId}] redis: ${err.message}`));
  const clients = [client];

  if (config.adapter === 'redis') {
    // The pub/sub adapter needs two connections: one publishes, and one is
    // kept in subscriber mode (a subscribed Redis connection can do nothing else).
    const subscriber = client.duplicate();
    subscriber.on('error', (err: Error) => console.error(`[${config.serverId}] redis (sub): ${err.message}`));
    clients.push(subscriber);
    await Promise.all([client.connect(), subscriber.connect()]);
    // TODO: both connections are open, yet io.to(room).emit() still reaches
    // only this instance's sockets. Hand them to Socket.IO as its adapter,
    // using config.redisKey as the key prefix.
    void createPubSubAdapter;
  } else {
    await client.connect();
    io.adapter(createStreamsAdapter(client, { streamName: `${config.redisKey}:stream`, sessionKeyPrefix: `${config.redisKey}:session:` }));
  }

  return async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
  };
}
