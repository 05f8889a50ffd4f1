// Lessons 5 and 8. The adapter is the only piece that makes several instances
// act as one: `io.to(room).emit(...)` on s1 is published to Redis, and every
// other instance emits it to its own members of that room.

import { createAdapter as createPubSubAdapter } from '@socket.io/redis-adapter';
import { createAdapter as createStreamsAdapter } from '@socket.io/redis-streams-adapter';
import { createClient } from 'redis';
import type { AppConfig } from './config.ts';
import type { ChatIO } from './io.ts';

/** Attach the configured adapter; returns a function that closes its Redis connections. */
export async function attachAdapter(io: ChatIO, config: AppConfig): Promise<() => Promise<void>> {
  if (config.adapter === 'none') return async () => {}; // in-memory: this process only

  const client = createClient({ url: config.redisUrl });
  // Without an 'error' listener node-redis reports every failed reconnect as an
  // unhandled error. It reconnects (and the adapter re-subscribes) on its own.
  client.on('error', (err: Error) => console.error(`[${config.serverId}] redis: ${err.message}`));
  const clients = [client];

  if (config.adapter === 'redis') {
    // Classic pub/sub: fire and forget. A message published while Redis is
    // down, or while an instance is disconnected from it, is simply lost.
    // node-redis 6 speaks RESP3, where one connection may subscribe and still
    // run commands; a second one keeps publishing off the subscriber's path.
    const subscriber = client.duplicate();
    subscriber.on('error', (err: Error) => console.error(`[${config.serverId}] redis (sub): ${err.message}`));
    clients.push(subscriber);
    await Promise.all([client.connect(), subscriber.connect()]);
    io.adapter(createPubSubAdapter(client, subscriber, { key: config.redisKey }));
  } else {
    // TODO (lesson 8): 'redis-streams' should append every broadcast to a
    // Redis stream (createStreamsAdapter(client, { streamName, sessionKeyPrefix }),
    // one connection), so an instance and, with connection state recovery, a
    // client can catch up on what it missed. For now it is pub/sub again.
    void createStreamsAdapter;
    const subscriber = client.duplicate();
    subscriber.on('error', (err: Error) => console.error(`[${config.serverId}] redis (sub): ${err.message}`));
    clients.push(subscriber);
    await Promise.all([client.connect(), subscriber.connect()]);
    io.adapter(createPubSubAdapter(client, subscriber, { key: config.redisKey }));
  }

  return async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
  };
}
