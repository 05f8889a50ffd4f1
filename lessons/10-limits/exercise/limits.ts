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
  // TODO: Socket.IO's own default is 1 MB per packet. Use config.maxHttpBufferBytes.
  void config;
  return {};
}

/** Refuse clients this instance cannot take. `isDraining` is asked on every handshake. */
export function admitClients(io: ChatIO, config: AppConfig, isDraining: () => boolean): void {
  io.use((_socket, next) => {
    const refuse = (message: string): void =>
      next(Object.assign(new Error(message), { data: { serverId: config.serverId } }));
    if (isDraining()) return refuse(`${config.serverId} is draining; reconnect to another instance`);
    // TODO: refuse a client when this instance already holds config.maxConnections,
    // saying so: "<serverId> is full (<n> connections)". (io.of('/').sockets: this instance's clients.)
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
    // TODO: refill `tokens` for the time since `last` (perSecond a second, never
    // above perSecond), then take one if there is one.
    void this.last;
    return true;
  }

  get refusal(): string {
    return `rate limit: at most ${this.perSecond} messages per second`;
  }
}
