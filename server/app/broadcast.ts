// How a chat message reaches every member of its room.
//
//   rooms      io.to(room).emit(): Socket.IO's rooms. The adapter (adapter.ts)
//              carries the message to every other instance, which emits it to
//              its own members. Correct on one instance and on a hundred.
//   naive-set  a Set of sockets per room in this process's memory (lesson 1):
//              correct on one instance, silently split on two (lesson 2).

import type { BroadcastKind } from './config.ts';
import type { ChatIO, ChatSocket } from './io.ts';
import { createNaiveBroadcast } from './naive-broadcast.ts';
import type { ChatMessage } from './protocol.ts';

export interface Broadcast {
  /** `socket` has joined `room` (it is already in the Socket.IO room as well). */
  joined(socket: ChatSocket, room: string): void;
  /** Deliver `message` to every member of `message.room`, the sender included. */
  send(message: ChatMessage): void;
}

export function createBroadcast(io: ChatIO, kind: BroadcastKind): Broadcast {
  if (kind === 'naive-set') return createNaiveBroadcast();
  return {
    joined: () => {}, // Socket.IO keeps the room's members itself
    send: (message) => void io.to(message.room).emit('chat', message),
  };
}
