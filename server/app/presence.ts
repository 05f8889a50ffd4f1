// Questions about the whole fleet: who is in this room, and how many clients
// are connected to each instance? Lesson 12.
//
//   'local'  each instance answers from what it alone holds in memory. Easy to
//            write, and wrong as soon as there are two instances: a user on s2
//            is invisible to a question asked on s1. (Socket.IO's own chat demo
//            counts users this way, per process.)
//   'fleet'  the instance asks every other instance, through the adapter:
//            fetchSockets() collects the room's members from all of them, and
//            serverSideEmitWithAck() asks each for its connection count.
//
// Neither is stored anywhere, so neither can go stale: an instance that dies
// takes its users with it, and the next question no longer hears from it.

import type { Server } from 'socket.io';
import type { AppConfig } from './config.ts';

/** What every socket carries in `socket.data`; fetchSockets() returns it from every instance. */
export interface Member {
  name: string;
  serverId: string;
}

export interface Presence {
  /** The members of `room`: on this instance ('local'), or on every instance ('fleet'). */
  who(room: string): Promise<Member[]>;
  /** Connections per instance, e.g. { s1: 4, s2: 3, s3: 5 }. */
  counts(): Promise<Record<string, number>>;
}

export function createPresence(io: Server, config: AppConfig): Presence {
  const { serverId } = config;
  const fleetWide = config.presence === 'fleet' && config.adapter !== 'none';

  // Every instance answers the others' "how many clients have you?".
  io.on('count', (reply: (answer: { serverId: string; connections: number }) => void) => {
    reply({ serverId, connections: io.of('/').sockets.size });
  });

  return {
    async who(room) {
      // io.in(room) goes through the adapter; io.local.in(room) never leaves this process.
      const sockets = fleetWide ? await io.in(room).fetchSockets() : await io.local.in(room).fetchSockets();
      return sockets.map((s) => s.data as Member);
    },

    async counts() {
      const counts: Record<string, number> = { [serverId]: io.of('/').sockets.size };
      // The in-memory adapter (adapter: none) cannot ask anyone: it would never answer.
      if (!fleetWide) return counts;
      // One reply per other instance. The adapter knows how many to wait for, and
      // gives up after its requestsTimeout (5 s) if one of them does not answer.
      const replies = (await io.serverSideEmitWithAck('count')) as { serverId: string; connections: number }[];
      for (const r of replies) counts[r.serverId] = r.connections;
      return counts;
    },
  };
}
