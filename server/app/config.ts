// How one chat-server instance behaves. Every lesson stage is just a different
// set of these values, passed in as environment variables (by the lab, or by
// ecosystem.config.js when you run `pm2 start` yourself).
//
// The defaults below are the lab's end state ("scaled"): rooms broadcast over
// the Redis adapter, so running this file with no environment at all behaves
// like one instance of a correctly scaled cluster.

/** How a chat message reaches the members of a room. */
export type Broadcast =
  /** Lesson 1: this process keeps its own `Set` of sockets per room and loops over it. */
  | 'naive-set'
  /** `io.to(room).emit(...)`: Socket.IO rooms, which an adapter can share between instances. */
  | 'rooms';

/** What carries a broadcast to the other instances. */
export type AdapterKind = 'none' | 'redis' | 'redis-streams';

export type Transport = 'polling' | 'websocket';

/** Who answers "who is here?" and "how many?" (lesson 12): this instance alone, or every instance. */
export type PresenceScope = 'local' | 'fleet';

export interface AppConfig {
  /** Stable, human-readable id: s1, s2, … Shown to every client in `welcome`. */
  serverId: string;
  host: string;
  port: number;
  broadcast: Broadcast;
  adapter: AdapterKind;
  redisUrl: string;
  /** Prefix of every Redis key/channel, so two labs never hear each other. */
  redisKey: string;
  /** Connection state recovery: replay missed packets after a short disconnect. */
  recovery: boolean;
  transports: Transport[];
  pingInterval: number;
  pingTimeout: number;
  /** Refuse new clients beyond this many on this instance. */
  maxConnections: number;
  /** Largest packet in bytes; bigger ones close the connection (Socket.IO's own limit). */
  maxHttpBufferSize: number;
  maxTextLength: number;
  /** Per-socket chat rate limit. */
  maxMessagesPerSecond: number;
  /** On SIGTERM/SIGINT: how long to keep serving after telling clients we are leaving. */
  drainMs: number;
  presence: PresenceScope;
  /** Web origins whose pages may connect (CORS); none: same origin only. */
  corsOrigins: string[];
}

export const defaults: Omit<AppConfig, 'serverId' | 'port'> = {
  host: '127.0.0.1',
  broadcast: 'rooms',
  adapter: 'redis',
  redisUrl: 'redis://127.0.0.1:6390',
  redisKey: 'lab',
  recovery: false,
  transports: ['polling', 'websocket'],
  pingInterval: 25_000,
  pingTimeout: 20_000,
  maxConnections: 10_000,
  maxHttpBufferSize: 16 * 1024,
  maxTextLength: 2_000,
  maxMessagesPerSecond: 50,
  drainMs: 0,
  presence: 'fleet',
  corsOrigins: [],
};

/** Environment variable names, shared with ecosystem.config.js and the lab. */
export const ENV = {
  serverId: 'SERVER_ID',
  host: 'HOST',
  port: 'PORT',
  broadcast: 'BROADCAST',
  adapter: 'ADAPTER',
  redisUrl: 'REDIS_URL',
  redisKey: 'REDIS_KEY',
  recovery: 'RECOVERY',
  transports: 'TRANSPORTS',
  pingInterval: 'PING_INTERVAL',
  pingTimeout: 'PING_TIMEOUT',
  maxConnections: 'MAX_CONNECTIONS',
  maxHttpBufferSize: 'MAX_HTTP_BUFFER_SIZE',
  maxTextLength: 'MAX_TEXT_LENGTH',
  maxMessagesPerSecond: 'MAX_MESSAGES_PER_SECOND',
  drainMs: 'DRAIN_MS',
  presence: 'PRESENCE',
  corsOrigins: 'CORS_ORIGINS',
} as const satisfies Record<keyof AppConfig, string>;

/** Read the config from the environment; a bad value stops the instance with a clear message. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const get = (key: keyof AppConfig): string | undefined => env[ENV[key]] || undefined;
  const int = (key: keyof AppConfig, fallback: number, min = 0): number => {
    const raw = get(key);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`${ENV[key]} must be an integer ≥ ${min}, got "${raw}"`);
    return n;
  };
  const oneOf = <T extends string>(key: keyof AppConfig, allowed: readonly T[], fallback: T): T => {
    const raw = get(key) ?? fallback;
    if (!allowed.includes(raw as T)) throw new Error(`${ENV[key]} must be one of ${allowed.join(', ')}, got "${raw}"`);
    return raw as T;
  };

  const port = int('port', 3001, 1);
  const transports = (get('transports') ?? defaults.transports.join(','))
    .split(',')
    .map((t) => t.trim()) as Transport[];
  if (transports.length === 0 || transports.some((t) => t !== 'polling' && t !== 'websocket')) {
    throw new Error(`${ENV.transports} must list polling and/or websocket, got "${get('transports')}"`);
  }

  return {
    // PM2 cluster mode (lesson 6) starts every worker with the same env and
    // numbers them in NODE_APP_INSTANCE (0, 1, …): worker 0 is s1.
    serverId: get('serverId') ?? (env.NODE_APP_INSTANCE ? `s${Number(env.NODE_APP_INSTANCE) + 1}` : `s${port - 3000}`),
    host: get('host') ?? defaults.host,
    port,
    broadcast: oneOf('broadcast', ['naive-set', 'rooms'], defaults.broadcast),
    adapter: oneOf('adapter', ['none', 'redis', 'redis-streams'], defaults.adapter),
    redisUrl: get('redisUrl') ?? defaults.redisUrl,
    redisKey: get('redisKey') ?? defaults.redisKey,
    recovery: (get('recovery') ?? String(defaults.recovery)) === 'true',
    transports,
    pingInterval: int('pingInterval', defaults.pingInterval, 1),
    pingTimeout: int('pingTimeout', defaults.pingTimeout, 1),
    maxConnections: int('maxConnections', defaults.maxConnections, 1),
    maxHttpBufferSize: int('maxHttpBufferSize', defaults.maxHttpBufferSize, 64),
    maxTextLength: int('maxTextLength', defaults.maxTextLength, 1),
    maxMessagesPerSecond: int('maxMessagesPerSecond', defaults.maxMessagesPerSecond, 1),
    drainMs: int('drainMs', defaults.drainMs),
    presence: oneOf('presence', ['local', 'fleet'], defaults.presence),
    corsOrigins: (get('corsOrigins') ?? '').split(',').map((o) => o.trim()).filter(Boolean),
  };
}
