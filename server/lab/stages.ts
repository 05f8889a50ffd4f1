// Stages are data. Each lesson's lesson.json lists the stages it defines; a
// stage says only what differs from the defaults below. The reconciler turns a
// stage into running processes; nothing in the engine knows about any lesson.

import type { AdapterKind, Broadcast, PresenceScope, Transport } from '../app/config.ts';
import { LabError } from './errors.ts';

export const LOAD_BALANCERS = ['none', 'round-robin', 'ip-hash', 'hash-consistent', 'cookie'] as const;
export type LoadBalancer = (typeof LOAD_BALANCERS)[number];

export interface Stage {
  id: string;
  title: string;
  /** The lesson folder that defines this stage. */
  lesson: string;
  instances: number;
  /**
   * How PM2 runs the instances. fork: one process per instance, each on its
   * own port (nginx balances). cluster: PM2's cluster mode, every worker on
   * one shared port, PM2 itself handing out connections (lesson 6).
   */
  pm2Mode: 'fork' | 'cluster';
  loadBalancer: LoadBalancer;
  adapter: AdapterKind;
  broadcast: Broadcast;
  /** Who answers "who is here?" and "how many?": this instance ('local') or all ('fleet'). */
  presence: PresenceScope;
  /** Run Redis even without an adapter (presence, or to show it idle). */
  redis: boolean;
  recovery: boolean;
  /** Transports the servers accept. */
  transports: Transport[];
  /** Transports the lab's fleet clients try, in order. */
  clientTransports: Transport[];
  /** The fleet's reconnection backoff: first delay, and its cap (ms). */
  clientReconnectDelay: number;
  clientReconnectDelayMax: number;
  /** Randomization of each delay, 0–1 (socket.io-client's randomizationFactor). 0: a reconnect storm. */
  clientJitter: number;
  pingInterval: number;
  pingTimeout: number;
  /** nginx proxy_read_timeout, seconds. Must exceed pingInterval + pingTimeout. */
  proxyReadTimeout: number;
  /** Whether nginx forwards Upgrade/Connection (without them: no websocket). */
  websocketHeaders: boolean;
  /** nginx's worker_connections: each proxied client uses two (lesson 13). */
  nginxWorkerConnections: number;
  maxConnections: number;
  maxHttpBufferSize: number;
  maxTextLength: number;
  maxMessagesPerSecond: number;
  drainMs: number;
  /**
   * PM2's kill_timeout: how long PM2 waits after its SIGINT before it sends
   * SIGKILL. Shorter than drainMs, and the drain is cut off (lesson 11).
   * PM2's own default is 1600 ms.
   */
  killTimeout: number;
}

/** The aliases every lab has (LAB-DESIGN §2). */
export const ALIASES = { start: 'start', scaled: 'scaled' } as const;

const DEFAULTS: Omit<Stage, 'id' | 'title' | 'lesson'> = {
  instances: 3,
  pm2Mode: 'fork',
  loadBalancer: 'ip-hash',
  adapter: 'redis',
  broadcast: 'rooms',
  presence: 'fleet',
  redis: false,
  recovery: false,
  transports: ['polling', 'websocket'],
  clientTransports: ['polling', 'websocket'],
  clientReconnectDelay: 500,
  clientReconnectDelayMax: 5000,
  clientJitter: 0.5,
  pingInterval: 25_000,
  pingTimeout: 20_000,
  proxyReadTimeout: 60,
  websocketHeaders: true,
  nginxWorkerConnections: 8192,
  maxConnections: 10_000,
  maxHttpBufferSize: 16 * 1024,
  maxTextLength: 2_000,
  maxMessagesPerSecond: 50,
  drainMs: 0,
  killTimeout: 5000,
};

type FieldCheck = (value: unknown) => string | null;
const int = (min: number, max: number): FieldCheck => (v) =>
  Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? null : `an integer from ${min} to ${max}`;
const oneOf = (values: readonly string[]): FieldCheck => (v) =>
  typeof v === 'string' && values.includes(v) ? null : `one of ${values.join(', ')}`;
const bool: FieldCheck = (v) => (typeof v === 'boolean' ? null : 'true or false');
const transports: FieldCheck = (v) =>
  Array.isArray(v) && v.length > 0 && v.every((t) => t === 'polling' || t === 'websocket') ? null : 'a non-empty list of "polling" and/or "websocket"';

const FIELDS: Record<keyof typeof DEFAULTS, FieldCheck> = {
  instances: int(1, 9),
  pm2Mode: oneOf(['fork', 'cluster']),
  loadBalancer: oneOf(LOAD_BALANCERS),
  adapter: oneOf(['none', 'redis', 'redis-streams']),
  broadcast: oneOf(['naive-set', 'rooms']),
  presence: oneOf(['local', 'fleet']),
  redis: bool,
  recovery: bool,
  transports,
  clientTransports: transports,
  // socket.io-client takes 0 as "not set" (and uses its own defaults), so the least is 1 ms.
  clientReconnectDelay: int(1, 60_000),
  clientReconnectDelayMax: int(1, 600_000),
  clientJitter: (v) => (typeof v === 'number' && v >= 0 && v <= 1 ? null : 'a number from 0 to 1'),
  pingInterval: int(100, 600_000),
  pingTimeout: int(100, 600_000),
  proxyReadTimeout: int(1, 3600),
  websocketHeaders: bool,
  // The open-files limit (worker_rlimit_nofile 20000) caps it.
  nginxWorkerConnections: int(16, 20_000),
  maxConnections: int(1, 100_000),
  maxHttpBufferSize: int(64, 100_000_000),
  maxTextLength: int(1, 1_000_000),
  maxMessagesPerSecond: int(1, 1_000_000),
  drainMs: int(0, 60_000),
  killTimeout: int(100, 120_000),
};

/** Validate one stage as written in a lesson file; every problem names the file and field. */
export function parseStage(raw: unknown, lesson: string, where: string): Stage {
  const fail = (what: string): never => {
    throw new LabError(`${where}: ${what}`, 'fix the lesson file; `npm run lab -- doctor` lists every problem');
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('a stage must be an object');
  const obj = raw as Record<string, unknown>;
  if (typeof obj.id !== 'string' || !/^[a-z0-9][a-z0-9-]{0,40}$/.test(obj.id)) fail('stage "id" must be lower-case letters, digits and dashes');
  if (typeof obj.title !== 'string' || obj.title.length === 0) fail(`stage "${String(obj.id)}" needs a "title"`);

  const stage: Record<string, unknown> = { ...DEFAULTS, id: obj.id, title: obj.title, lesson };
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'id' || key === 'title') continue;
    const check = FIELDS[key as keyof typeof FIELDS];
    if (!check) fail(`stage "${String(obj.id)}" has an unknown field "${key}" (known: ${Object.keys(FIELDS).join(', ')})`);
    const problem = check(value);
    if (problem) fail(`stage "${String(obj.id)}" field "${key}" must be ${problem}, got ${JSON.stringify(value)}`);
    stage[key] = value;
  }
  const s = stage as unknown as Stage;
  if (s.adapter !== 'none') s.redis = true;
  return s;
}
