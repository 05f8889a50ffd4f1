// How a client connects: the options every chat client passes to
// socket.io-client's io(). The lab's simulated users and its chat page both
// read this file, as the clients of a real app would share one module.
//
//   transports   which transports to try, in order. Socket.IO's default starts
//                on HTTP long-polling (works through any proxy) and upgrades
//                to WebSocket. Long-polling is many HTTP requests per session,
//                and every one of them must reach the same instance.
//   reconnection after a lost connection, wait reconnectionDelay, doubling up
//                to reconnectionDelayMax; randomizationFactor spreads each wait.

import type { ManagerOptions, SocketOptions } from 'socket.io-client';

export const clientOptions = {
  transports: ['polling', 'websocket'],
  reconnectionDelay: 500,
  reconnectionDelayMax: 5000,
  randomizationFactor: 0.5,
} satisfies Partial<ManagerOptions & SocketOptions>;
