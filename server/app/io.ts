// The Socket.IO server and socket types of this app, with the protocol's four
// event maps filled in: every module that touches `io` or a socket uses these.

import type { Server, Socket } from 'socket.io';
import type { InterServerEvents, ServerToClientEvents, SocketData, UntrustedClientEvents } from './protocol.ts';

export type ChatIO = Server<UntrustedClientEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type ChatSocket = Socket<UntrustedClientEvents, ServerToClientEvents, InterServerEvents, SocketData>;
