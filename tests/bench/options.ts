// What a bench run does, and the command line that sets it:
//
//   npm run bench -- --only latency,fanout --seconds 5 --quick

import path from 'node:path';
import { repoRoot } from '../../server/lab/settings.ts';
import { BUS_CONFIGS, CONFIG_IDS, WORKLOADS, type ConfigId, type WorkloadId } from './results.ts';

export interface BenchOptions {
  only: WorkloadId[];
  /** Measured seconds of each latency run, fan-out run and telemetry phase. */
  seconds: number;
  /** Unmeasured seconds before each of those. */
  warmupSeconds: number;
  /** Latency: intended send rates, messages/s. */
  rates: number[];
  configs: ConfigId[];
  /** Latency: receivers per run (on instances other than the sender's). */
  receivers: number;
  /** Fan-out: clients in the room, messages in flight. */
  clients: number;
  window: number;
  /** Memory: total idle connections at each level (0 is always measured first). */
  connections: number[];
  /** Startup: cold starts, and ip-hash ⇄ scaled round trips. */
  coldStarts: number;
  switches: number;
  /** Telemetry: on/off pairs, and the latency rate used in each phase. */
  rounds: number;
  telemetryRate: number;
  /** Capacity: live WebSocket clients to ramp to through nginx, and whether to kill -9 the busiest instance then. */
  capacity: number;
  /** Capacity: long-polling clients on top of those, held through the chat phase. */
  pollingClients: number;
  kill: boolean;
  /** View: fleet clients connected while the UI is measured. */
  viewClients: number;
  /** Buses: which, and the ramp's rates (the first is the fixed rate every bus's latency is compared at). */
  buses: ConfigId[];
  busRates: number[];
  /** Where the JSON and HTML reports go. */
  outDir: string;
}

export const DEFAULTS: BenchOptions = {
  only: [...WORKLOADS],
  seconds: 3,
  // Each phase starts on freshly (re)started instances: give their JIT time to warm up.
  warmupSeconds: 1.5,
  rates: [500, 2000, 4000],
  configs: [...CONFIG_IDS],
  receivers: 2,
  clients: 30,
  window: 20,
  connections: [1000, 5000],
  coldStarts: 2,
  switches: 2,
  rounds: 2,
  telemetryRate: 500,
  capacity: 10_000,
  pollingClients: 2000,
  kill: true,
  viewClients: 5000,
  buses: BUS_CONFIGS.map((b) => b.id),
  busRates: [1000, 2000, 4000, 8000, 16000],
  outDir: path.join(repoRoot, '.lab', 'bench'),
};

/** --quick: every workload, in about a minute. */
const QUICK: Partial<BenchOptions> = {
  seconds: 1,
  warmupSeconds: 0.3,
  rates: [500, 2000],
  connections: [1000],
  coldStarts: 1,
  switches: 1,
  rounds: 1,
  capacity: 2000,
  pollingClients: 200,
  busRates: [1000, 4000],
};

/** Idle connections are real sockets in this process: stay well under the open-files limit (20,000 here). */
export const MAX_CONNECTIONS = 15_000;

export const USAGE = `npm run bench -- [options]

  --only LIST         workloads to run, of: ${WORKLOADS.join(', ')} (default: all)
  --seconds N         measured seconds per latency run, fan-out run and telemetry phase (default ${DEFAULTS.seconds})
  --warmup N          unmeasured seconds before each (default ${DEFAULTS.warmupSeconds})
  --quick             shorter runs, fewer rates and levels (about a minute in all)
  --rates LIST        latency: send rates in messages/s (default ${DEFAULTS.rates.join(',')})
  --configs LIST      latency: configurations, of: ${CONFIG_IDS.join(', ')} (default: all)
  --receivers N       latency: receivers per run (default ${DEFAULTS.receivers})
  --clients N         fan-out and telemetry: clients in the room (default ${DEFAULTS.clients})
  --window N          fan-out and telemetry: messages in flight (default ${DEFAULTS.window})
  --connections LIST  memory: idle connections per level, all instances together (default ${DEFAULTS.connections.join(',')})
  --cold-starts N     startup: cold starts of the "scaled" stage (default ${DEFAULTS.coldStarts})
  --switches N        startup: ip-hash ⇄ scaled round trips (default ${DEFAULTS.switches})
  --rounds N          telemetry: on/off pairs (default ${DEFAULTS.rounds})
  --telemetry-rate N  telemetry: latency send rate in each phase (default ${DEFAULTS.telemetryRate})
  --capacity N        capacity: live WebSocket clients to ramp to through nginx (default ${DEFAULTS.capacity.toLocaleString('en')})
  --polling N         capacity: long-polling clients on top, held through the chat (default ${DEFAULTS.pollingClients.toLocaleString('en')})
  --no-kill           capacity: skip the kill -9 of the busiest instance
  --view-clients N    view: fleet clients while the UI is measured (default ${DEFAULTS.viewClients})
  --buses LIST        buses: which, of: ${BUS_CONFIGS.map((b) => b.id).join(', ')} (default: all)
  --bus-rates LIST    buses: the ramp's rates, msg/s; the first is the fixed-rate latency (default ${DEFAULTS.busRates.join(',')})
  --out DIR           where the JSON and HTML reports go (default .lab/bench)
  --help              this text
`;

export class UsageError extends Error {}

/** Parse argv (without node and the script). Later options win; --quick applies first wherever it is. */
export function parseArgs(argv: string[]): BenchOptions | 'help' {
  const opts: BenchOptions = { ...DEFAULTS };
  if (argv.includes('--quick')) Object.assign(opts, QUICK);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return 'help';
    if (arg === '--quick') continue;
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--only':
        opts.only = list(flag, value(), WORKLOADS);
        break;
      case '--configs':
        opts.configs = list(flag, value(), CONFIG_IDS);
        break;
      case '--seconds':
        opts.seconds = num(flag, value(), 0.2, 600);
        break;
      case '--warmup':
        opts.warmupSeconds = num(flag, value(), 0, 60);
        break;
      case '--rates':
        opts.rates = value()
          .split(',')
          .map((v) => num(flag, v, 1, 50_000));
        break;
      case '--receivers':
        opts.receivers = int(flag, value(), 1, 50);
        break;
      case '--clients':
        opts.clients = int(flag, value(), 2, 1000);
        break;
      case '--window':
        opts.window = int(flag, value(), 1, 1000);
        break;
      case '--connections':
        opts.connections = value()
          .split(',')
          .map((v) => int(flag, v, 1, MAX_CONNECTIONS));
        break;
      case '--cold-starts':
        opts.coldStarts = int(flag, value(), 1, 10);
        break;
      case '--switches':
        opts.switches = int(flag, value(), 0, 10);
        break;
      case '--rounds':
        opts.rounds = int(flag, value(), 1, 10);
        break;
      case '--telemetry-rate':
        opts.telemetryRate = num(flag, value(), 1, 50_000);
        break;
      case '--capacity':
        opts.capacity = int(flag, value(), 50, MAX_CONNECTIONS);
        break;
      case '--polling':
        opts.pollingClients = int(flag, value(), 0, MAX_CONNECTIONS);
        break;
      case '--no-kill':
        opts.kill = false;
        break;
      case '--view-clients':
        opts.viewClients = int(flag, value(), 10, 10_000);
        break;
      case '--buses':
        opts.buses = list(
          flag,
          value(),
          BUS_CONFIGS.map((b) => b.id),
        );
        break;
      case '--bus-rates':
        opts.busRates = value()
          .split(',')
          .map((v) => num(flag, v, 1, 100_000))
          .sort((a, b) => a - b);
        break;
      case '--out':
        opts.outDir = path.resolve(value());
        break;
      default:
        throw new UsageError(`unknown option ${arg}`);
    }
  }
  opts.connections = [...new Set(opts.connections)].sort((a, b) => a - b);
  return opts;
}

function list<T extends string>(flag: string, raw: string, allowed: readonly T[]): T[] {
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items)
    if (!allowed.includes(item as T)) throw new UsageError(`${flag}: unknown "${item}" (known: ${allowed.join(', ')})`);
  if (items.length === 0) throw new UsageError(`${flag} needs at least one of: ${allowed.join(', ')}`);
  return [...new Set(items)] as T[];
}

function num(flag: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`${flag} must be a number from ${min} to ${max}, got "${raw}"`);
  return n;
}

function int(flag: string, raw: string, min: number, max: number): number {
  const n = num(flag, raw, min, max);
  if (!Number.isInteger(n)) throw new UsageError(`${flag} must be a whole number, got "${raw}"`);
  return n;
}
