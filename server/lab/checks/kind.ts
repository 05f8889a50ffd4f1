// What a check is, and the helpers checks share. A lesson's checks are data
// ({ kind, ...params } in lesson.json); each kind (one file in kinds/) is
// generic, tests behaviour with real clients, and explains a failure in one
// line. Its params are a zod schema: lesson files are validated against it,
// the JSON Schema for lesson.json includes it, and run() gets them typed.

import { FAIL_TIMEOUT_S } from '../services/nginx.ts';
import { io } from 'socket.io-client';
import { z } from 'zod';
import { TRANSPORTS } from '../../app/config.ts';
import type { ClientToServerEvents, ServerToClientEvents } from '../../app/protocol.ts';
import type { Crowd, CrowdOptions } from '../crowd.ts';
import { describeConnectError, type Fleet, type FleetClient, type FleetTarget } from '../fleet.ts';
import type { LabStatus } from '../lab.ts';
import type { Stage } from '../stages.ts';
import type { MessageView } from '../telemetry/hub.ts';

/** What a check may use of the running lab. */
export interface CheckHost {
  stage: Stage;
  status(): LabStatus;
  /** Where clients connect in this stage: nginx, or straight to the instances. */
  target(): FleetTarget;
  /** A fresh set of clients, separate from the learner's fleet. Close it when done. */
  newFleet(opts?: { reconnect?: boolean }): Promise<Fleet>;
  /** Break something on purpose (the failover check crashes an instance; the drain check stops one, then starts it). */
  fault(req: { target: 'instance'; serverId: string; fault: 'crash' | 'stop' | 'start' }): Promise<string>;
  /** The last lines of nginx's error log (empty without nginx). */
  nginxErrors(): string[];
  /** nginx's error log from now on: the returned function gives the lines written since. */
  nginxErrorsFromNow(): () => string[];
  /** nginx's error log since its config last changed (its start-up warnings about its limits), else its tail. */
  nginxErrorsSinceConfig(): string[];
  /** Many idle clients in worker processes, keeping only counts (capacity checks). Close it when done. */
  crowd(count: number, opts?: Pick<CrowdOptions, 'timeoutMs' | 'stopAfterFailures'>): Promise<Crowd>;
  /** Resolves once nginx routes to every instance again after the last one (re)started. */
  settled(): Promise<void>;
  /** The adapter the instances report running (their telemetry), or null before any reported. */
  adapterSeen(): string | null;
  /** A repo file as the lab uses it now (the learner's, or in tests the committed one). */
  source(rel: string): string;
  /** What the lab's telemetry knows of a message (out of band, from the instances' own reports). */
  message(msgId: string): MessageView | undefined;
  /** Clients (by name) that telemetry says connected since `since` (ms epoch), and where. */
  clientsSeenSince(since: number): { clientId: string; serverId: string }[];
  /** Remove the learner's own fleet clients (checks that need an instance's room); returns how many. */
  clearFleet(): number;
  /** Run the learner's own Playwright tests (tests/learner) against the lab. */
  runLearnerTests(): Promise<LearnerTestRun>;
}

export interface LearnerTestRun {
  /** Tests that ran, with their outcome and first error line. */
  tests: { title: string; ok: boolean; error: string | null }[];
  /** When the run started (ms epoch): telemetry after this is the tests' doing. */
  since: number;
  /** Set when the runner itself could not run (no config, a syntax error…). */
  crashed: string | null;
}

export interface CheckOutcome {
  ok: boolean;
  /** One line: what was seen, and on failure why it matters. */
  detail: string;
  /** Figures this run measured, by name (predictions are graded against them). */
  measured?: Record<string, number | string | boolean>;
}

export interface CheckKind<P extends z.ZodObject = z.ZodObject> {
  /** Shown by `lab doctor` and in the JSON Schema of lesson files. */
  about: string;
  params: P;
  /** The figures a run reports in `measured`, and what each means. */
  measures?: Record<string, string>;
  run(host: CheckHost, params: z.output<P>): Promise<CheckOutcome>;
}

/** Declare a check kind; its params' types flow into run(). */
export const defineCheck = <P extends z.ZodObject>(kind: CheckKind<P>): CheckKind<P> => kind;

// ── Parameter types ─────────────────────────────────────────────────────────
export const int = (min: number, max: number, fallback: number): z.ZodDefault<z.ZodNumber> =>
  z.number().int().min(min).max(max).default(fallback);
export const oneOf = <const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) =>
  z.enum(values).default(fallback as never);
export const transports = z.array(z.enum(TRANSPORTS)).min(1).optional();

// ── Outcomes ────────────────────────────────────────────────────────────────
export const pass = (detail: string, measured?: CheckOutcome['measured']): CheckOutcome => ({
  ok: true,
  detail,
  ...(measured ? { measured } : {}),
});
export const fail = (detail: string, measured?: CheckOutcome['measured']): CheckOutcome => ({
  ok: false,
  detail,
  ...(measured ? { measured } : {}),
});

// ── Helpers ─────────────────────────────────────────────────────────────────
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const where = (c: FleetClient): string => `${c.id} on ${c.serverId ?? '?'}`;
export const newRoom = (): string => `check-${Math.random().toString(36).slice(2, 8)}`;

export async function withFleet<T>(
  host: CheckHost,
  fn: (fleet: Fleet) => Promise<T>,
  opts: { reconnect?: boolean } = {},
): Promise<T> {
  const fleet = await host.newFleet(opts);
  try {
    return await fn(fleet);
  } finally {
    fleet.close();
  }
}

/** Connect `count` clients; a failure to connect ends the check with its reason. */
export async function connectAll(
  fleet: Fleet,
  count: number,
  opts: Parameters<Fleet['add']>[1] = {},
): Promise<FleetClient[] | CheckOutcome> {
  const clients = await fleet.add(count, { timeoutMs: 6000, ...opts });
  const down = clients.filter((c) => !c.socket.connected);
  if (down.length === 0) return clients;
  const first = down[0]!;
  const why = first.lastError ?? 'no answer within 6 s';
  return fail(
    `${down.length} of ${count} clients could not connect; ${first.id}: ${why}${explainConnectError(first.lastError)}`,
    { connected: count - down.length },
  );
}

export function explainConnectError(error: string | null): string {
  if (error?.includes('HTTP 400')) {
    return " — a session's requests reached different instances: something in between is not sticky (the load balancer, or PM2 cluster mode)";
  }
  if (error?.includes('ECONNREFUSED') || error?.includes('xhr poll error')) {
    return ' — nothing answered: is the lab up in this stage?';
  }
  return '';
}

/** Wait until `done()` or `ms` pass, whichever comes first. */
export async function waitFor(ms: number, done: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await sleep(25);
}

/**
 * An offender and a bystander share a room. `misbehave` makes the offender do
 * its worst and says what the server did about it (or fails the check); then
 * the bystander must still be able to chat: only the offender pays.
 */
export async function onlyTheOffenderPays(
  host: CheckHost,
  what: string,
  misbehave: (fleet: Fleet, offender: FleetClient, room: string) => Promise<string | CheckOutcome>,
): Promise<CheckOutcome> {
  return withFleet(host, async (fleet) => {
    const name = newRoom();
    const clients = await connectAll(fleet, 2, { rooms: [name] });
    if (!Array.isArray(clients)) return clients;
    const [offender, bystander] = clients as [FleetClient, FleetClient];
    const result = await misbehave(fleet, offender, name);
    if (typeof result !== 'string') return result;
    const after = await fleet.send(bystander.id, name, 'still here');
    if (!after.ok) return fail(`after ${what}, ${bystander.id} could not send: ${after.error}`);
    return pass(`${result}; ${bystander.id} still chats`);
  });
}

/** The instance holding most of `clients`, and those clients; null if they are all on one (nowhere to move). */
/** nginx's fail_timeout, and a margin: by then it routes to a restarted instance again. */
const NGINX_RETRY_MS = FAIL_TIMEOUT_S * 1000 + 500;

/**
 * Connect `count` clients spread over at least two instances. nginx marks an
 * instance failed for fail_timeout (2 s) after one refused connection (a
 * restart, an earlier check's crash), and sends its clients elsewhere
 * meanwhile: when every client lands on one instance while others are
 * online, or some could not connect, wait that out and connect afresh, twice
 * at most. The precondition is established,
 * not assumed; if it still cannot be, the check says so.
 */
export async function connectSpread(
  host: CheckHost,
  fleet: Fleet,
  count: number,
  opts: Parameters<Fleet['add']>[1] = {},
): Promise<{ clients: FleetClient[]; busy: [string, FleetClient[]] } | CheckOutcome> {
  // An instance crashed by an earlier check may still be restarting.
  await waitFor(10_000, () => host.status().instances.every((i) => i.online));
  for (let attempt = 0; ; attempt++) {
    const clients = await connectAll(fleet, count, opts);
    if (!Array.isArray(clients)) {
      // Right after an instance came back, nginx's passive health check may
      // still route some of its requests elsewhere for fail_timeout, which
      // breaks polling sessions begun in that window: start afresh once that passed.
      if (attempt === 2) return clients;
      fleet.remove();
      await sleep(NGINX_RETRY_MS);
      continue;
    }
    const busy = busiest(clients);
    if (busy) return { clients, busy };
    const online = host.status().instances.filter((i) => i.online).length;
    if (online < 2 || attempt === 2) {
      return fail(
        `all clients are on ${clients[0]!.serverId} (${online} instance${online === 1 ? '' : 's'} online): with nowhere to go, nothing can move`,
      );
    }
    fleet.remove();
    await sleep(NGINX_RETRY_MS);
  }
}

export function busiest(clients: FleetClient[]): [string, FleetClient[]] | null {
  const byServer = new Map<string, FleetClient[]>();
  for (const c of clients) byServer.set(c.serverId!, [...(byServer.get(c.serverId!) ?? []), c]);
  if (byServer.size < 2) return null;
  return [...byServer].sort((a, b) => b[1].length - a[1].length)[0]!;
}

/** "s1×2, s2×3": how `clients` are spread. */
export function servers(clients: FleetClient[]): string {
  const counts = new Map<string, number>();
  for (const c of clients) counts.set(c.serverId ?? '?', (counts.get(c.serverId ?? '?') ?? 0) + 1);
  return [...counts]
    .sort()
    .map(([s, n]) => `${s}×${n}`)
    .join(', ');
}

/** One polling handshake with no retries; resolves null if it connected, else the error. */
export function tryPolling(url: string, name: string): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = io(url, { forceNew: true, reconnection: false, transports: ['polling'], auth: { name } });
    const typed = socket as unknown as import('socket.io-client').Socket<ServerToClientEvents, ClientToServerEvents>;
    const finish = (result: string | null): void => {
      clearTimeout(timer);
      socket.close();
      resolve(result);
    };
    const timer = setTimeout(() => finish('no answer within 4 s'), 4000);
    typed.once('welcome', () => finish(null));
    typed.once('connect_error', (err) => finish(describeConnectError(err)));
  });
}
