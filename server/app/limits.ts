// Lesson 10: every instance has finite memory, sockets and CPU. Limits turn
// overload into clear refusals instead of a slow death:
//
//   admission    refuse a new client when this instance is full or draining,
//                with a reason the client can read (connect_error)
//   rate limit   each client gets a budget of messages (and joins, and
//                questions) per second; beyond it, the request is refused
//   packet size  Socket.IO's maxHttpBufferSize: a bigger packet closes the
//                sender's connection before it is even parsed
//   rooms        a client may be in so many rooms, no more

import type { ServerOptions } from 'socket.io';
import type { AppConfig } from './config.ts';
import type { ChatIO, ChatSocket } from './io.ts';

/** Options for `new Server()`: the largest packet a client may send. */
export function packetLimits(config: AppConfig): Partial<ServerOptions> {
  return { maxHttpBufferSize: config.maxHttpBufferBytes };
}

/** Refuse clients this instance cannot take. `isDraining` is asked on every handshake. */
export function admitClients(io: ChatIO, config: AppConfig, isDraining: () => boolean): void {
  io.use((_socket, next) => {
    const refuse = (message: string): void =>
      next(Object.assign(new Error(message), { data: { serverId: config.serverId } }));
    if (isDraining()) return refuse(`${config.serverId} is draining; reconnect to another instance`);
    // io.of('/').sockets: the clients connected to THIS instance only.
    if (io.of('/').sockets.size >= config.maxConnections) {
      return refuse(`${config.serverId} is full (${config.maxConnections} connections)`);
    }
    next();
  });
}

/** The error a client gets when it may not join one more room, or null when it may. */
export function roomLimit(socket: ChatSocket, config: AppConfig): string | null {
  // socket.rooms always holds the socket's own id as well.
  const joined = socket.rooms.size - 1;
  return joined >= config.maxRoomsPerSocket ? `at most ${config.maxRoomsPerSocket} rooms per client` : null;
}

/** A token bucket: `perSecond` requests a second, with bursts of the same size. */
export class RateLimit {
  private tokens: number;
  private last = Date.now();

  constructor(private readonly perSecond: number) {
    this.tokens = perSecond;
  }

  /** Take one token; false when the budget is spent. */
  allow(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  get refusal(): string {
    return `rate limit: at most ${this.perSecond} messages per second`;
  }
}
