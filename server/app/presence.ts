// Lesson 12: questions about the whole fleet. "Who is in this room?" and "how
// many clients are connected?" must count every instance, not only this one.
//
//   io.in(room).fetchSockets()   asks every instance, through the adapter, for
//                                its members of the room (with their socket.data)
//   io.serverSideEmitWithAck()   asks every OTHER instance a question and
//                                waits for each answer (or the adapter's
//                                requestsTimeout, 5 s)
//
// Nothing is stored, so nothing goes stale: an instance that dies takes its
// users with it, and the next question no longer hears from it.

import type { ChatIO } from './io.ts';
import type { Member } from './protocol.ts';

export interface Presence {
  /** The members of `room`, on every instance. */
  who(room: string): Promise<Member[]>;
  /** Connections per instance, e.g. { s1: 4, s2: 3, s3: 5 }. */
  counts(): Promise<Record<string, number>>;
}

export function createPresence(io: ChatIO, serverId: string, hasAdapter: boolean): Presence {
  const own = (): number => io.of('/').sockets.size;

  // Every instance answers the others' "how many clients have you?".
  io.on('count', (reply) => reply({ serverId, connections: own() }));

  return {
    async who(room) {
      const sockets = await io.in(room).fetchSockets();
      return sockets.map((s) => s.data);
    },

    async counts() {
      const counts: Record<string, number> = { [serverId]: own() };
      // The in-memory adapter has no one to ask (and says so by throwing).
      if (!hasAdapter) return counts;
      for (const answer of await io.serverSideEmitWithAck('count')) counts[answer.serverId] = answer.connections;
      return counts;
    },
  };
}
