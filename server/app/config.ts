// Every setting of one chat-server instance, declared ONCE in the table below:
// its type, default, range, environment variable and meaning. The typed config,
// the parsing of the environment, the lab's stage fields (and so the JSON Schema
// of lesson files) all derive from this table.
//
// The defaults are a correctly scaled instance: rooms broadcast over the Redis
// adapter. Run it with no environment at all and it behaves like one member of
// the lab's final stage.

import { ADAPTERS, type AdapterKind, BROADCASTS, type BroadcastKind, TRANSPORTS, type Transport } from './protocol.ts';
import { z } from 'zod';

/** One row of the table: the value's schema (type, range, default, meaning) and its env variable. */
interface Setting<S extends z.ZodType = z.ZodType, P extends boolean = boolean> {
  env: string;
  schema: S;
  /** A stage in a lesson file may set it (the lab passes it to every instance). */
  perStage: P;
}
/** A setting a lesson's stage may change. */
const setting = <E extends string, S extends z.ZodType>(env: E, schema: S) => ({
  env,
  schema,
  perStage: true as const,
});
/** A setting of one instance's wiring (its id, port, Redis URL): never part of a stage. */
const wiring = <E extends string, S extends z.ZodType>(env: E, schema: S) => ({
  env,
  schema,
  perStage: false as const,
});

const ms = (min: number, max: number, fallback: number, about: string): z.ZodDefault<z.ZodNumber> =>
  z.number().int().min(min).max(max).default(fallback).describe(`${about} (milliseconds)`);
const count = (min: number, max: number, fallback: number, about: string): z.ZodDefault<z.ZodNumber> =>
  z.number().int().min(min).max(max).default(fallback).describe(about);

export { TRANSPORTS, type AdapterKind, type BroadcastKind, type Transport };

export const SETTINGS = {
  serverId: wiring(
    'SERVER_ID',
    z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes, starting with a letter')
      .optional()
      .describe('Stable, human-readable id (s1, s2, …), shown to every client; default: from the port, s1 on 3001'),
  ),
  host: wiring('HOST', z.string().min(1).default('127.0.0.1').describe('Address to listen on')),
  port: wiring('PORT', count(1, 65_535, 3001, 'TCP port to listen on')),
  broadcast: setting(
    'BROADCAST',
    z
      .enum(BROADCASTS)
      .default('rooms')
      .describe('How a chat message reaches a room: a Set of sockets in this process (lesson 1), or io.to(room)'),
  ),
  adapter: setting(
    'ADAPTER',
    z
      .enum(ADAPTERS)
      .default('redis')
      .describe('What carries broadcasts to the other instances: nothing, Redis pub/sub, or Redis streams'),
  ),
  redisUrl: wiring('REDIS_URL', z.url().default('redis://127.0.0.1:6390').describe('The Redis the adapter uses')),
  redisKey: wiring('REDIS_KEY', z.string().min(1).default('chat').describe('Prefix of every Redis key and channel')),
  recovery: setting(
    'RECOVERY',
    z.boolean().default(false).describe('Connection state recovery: replay what a client missed during a short cut'),
  ),
  transports: setting(
    'TRANSPORTS',
    z.array(z.enum(TRANSPORTS)).min(1).default(['polling', 'websocket']).describe('Transports the server accepts'),
  ),
  pingIntervalMs: setting('PING_INTERVAL_MS', ms(100, 600_000, 25_000, 'How often the server pings each client')),
  pingTimeoutMs: setting('PING_TIMEOUT_MS', ms(100, 600_000, 20_000, 'How long it waits for the pong')),
  maxConnections: setting('MAX_CONNECTIONS', count(1, 100_000, 20_000, 'Clients this instance admits at most')),
  maxHttpBufferBytes: setting(
    'MAX_HTTP_BUFFER_BYTES',
    count(64, 100_000_000, 16 * 1024, 'Largest packet in bytes; a bigger one closes its connection'),
  ),
  maxTextLength: setting('MAX_TEXT_LENGTH', count(1, 1_000_000, 2_000, 'Longest chat text, in characters')),
  maxMessagesPerSecond: setting(
    'MAX_MESSAGES_PER_SECOND',
    count(1, 1_000_000, 50, 'Per client: chat messages, joins and questions a second'),
  ),
  maxRoomsPerSocket: setting('MAX_ROOMS_PER_SOCKET', count(1, 10_000, 50, 'Rooms one client may be in')),
  drainMs: setting('DRAIN_MS', ms(0, 60_000, 0, 'On SIGINT/SIGTERM: how long to keep serving before closing')),
  corsOrigins: wiring(
    'CORS_ORIGINS',
    z.array(z.string().min(1)).default([]).describe('Web origins whose pages may connect; none: same origin only'),
  ),
} as const satisfies Record<string, Setting>;

type Settings = typeof SETTINGS;
export type SettingName = keyof Settings;
export type AppConfig = { [K in SettingName]: z.output<Settings[K]['schema']> } & { serverId: string };

/** Environment variable of every setting: ENV.pingIntervalMs === 'PING_INTERVAL_MS'. */
export const ENV = Object.fromEntries(Object.entries(SETTINGS).map(([k, s]) => [k, s.env])) as {
  [K in SettingName]: Settings[K]['env'];
};

/** The settings a stage may set, with their schemas (the lab builds its stage schema from these). */
export const PER_STAGE = Object.fromEntries(Object.entries(SETTINGS).filter(([, s]) => s.perStage)) as {
  [K in SettingName as Settings[K]['perStage'] extends true ? K : never]: Settings[K];
};
export type PerStageSetting = keyof typeof PER_STAGE;

/** A settings object as environment variables (lists comma-separated). */
export function toEnv(values: Partial<Record<SettingName, unknown>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined || !Object.hasOwn(SETTINGS, key)) continue;
    env[SETTINGS[key as SettingName].env] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return env;
}

/** Every setting at its default (as an instance with no environment would run). */
export const defaultConfig = (): AppConfig => readConfig({});

/** A bad value: the instance stops before it starts, with this one line. */
export class ConfigError extends Error {}

/** Read the config from the environment. A bad value throws a ConfigError naming the variable. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const values: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(SETTINGS) as [SettingName, Setting][]) {
    const raw = env[s.env];
    const parsed = s.schema.safeParse(raw === undefined || raw === '' ? undefined : fromEnvString(s.schema, raw));
    if (!parsed.success) {
      const why = parsed.error.issues[0]?.message ?? 'invalid';
      throw new ConfigError(`${s.env}="${raw ?? ''}" is not valid: ${why}`);
    }
    values[key] = parsed.data;
  }
  // PM2 cluster mode (lesson 6) gives every worker the same env and numbers them
  // in NODE_APP_INSTANCE (0, 1, …): without a SERVER_ID, worker 0 is s1.
  const port = values.port as number;
  const worker = env.NODE_APP_INSTANCE;
  values.serverId ??= worker !== undefined && worker !== '' ? `s${Number(worker) + 1}` : `s${port - 3000}`;
  return values as AppConfig;
}

/** Environment values are strings: turn one into what the setting's schema expects. */
function fromEnvString(schema: z.ZodType, raw: string): unknown {
  const kind = innerType(schema);
  if (kind === 'number') return raw.trim() === '' ? raw : Number(raw);
  // Only the two words: RECOVERY=yes must be an error, not a silent "false".
  if (kind === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw;
  if (kind === 'array') {
    return raw
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  }
  return raw;
}

function innerType(schema: z.ZodType): string {
  let s: z.ZodType = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
  return s.def.type;
}
