// Lesson 1: a room is a Set of sockets, kept in THIS process's memory.
//
// It is the first thing anyone writes, and on one instance it is correct. Keep
// every member in the Set while it is connected, remove it when it leaves (or
// the Set grows forever and writes to sockets that are gone), and loop over
// the Set to deliver a message.
//
// With two instances each process has its own Set, and knows nothing of the
// sockets in the other one: the room is split in two (lesson 2).

import type { Broadcast } from './broadcast.ts';
import type { ChatSocket } from './io.ts';

export function createNaiveBroadcast(): Broadcast {
  const rooms = new Map<string, Set<ChatSocket>>();

  return {
    joined(socket, room) {
      let members = rooms.get(room);
      if (!members) {
        members = new Set();
        rooms.set(room, members);
      }
      if (members.has(socket)) return;
      members.add(socket);
      // 'disconnect' fires once, whatever the reason: the only safe moment to forget it.
      socket.once('disconnect', () => {
        members.delete(socket);
        if (members.size === 0 && rooms.get(room) === members) rooms.delete(room);
      });
    },

    send(message) {
      for (const member of rooms.get(message.room) ?? []) member.emit('chat', message);
    },
  };
}
