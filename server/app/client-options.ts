// How a client connects: the options every chat client passes to
// socket.io-client's io(). The lab's simulated users and its chat page both
// read this file, as the clients of a real app would share one module.
//
//   transports   polling first, then upgrade to WebSocket (Socket.IO's own
//                default): it works behind proxies that block WebSocket, but
//                every request of a session must reach the same instance, so
//                the load balancer must be sticky (lessons 3 and 4).
//   reconnection after a lost connection, wait reconnectionDelay, doubling up
//                to reconnectionDelayMax; randomizationFactor spreads each
//                wait by ±50 %, so thousands of clients of a dead instance do
//                not all come back in the same instant (lesson 7).

import type { ManagerOptions, SocketOptions } from 'socket.io-client';

export const clientOptions = {
  transports: ['polling', 'websocket'],
  reconnectionDelay: 500,
  reconnectionDelayMax: 5000,
  randomizationFactor: 0.5,
} satisfies Partial<ManagerOptions & SocketOptions>;
