// The check library. A lesson's checks are data ({ kind, ...params }); each
// kind here is generic, tests behaviour with real clients, and explains a
// failure in one line. Adding a lesson needs no new code here, only when a
// genuinely new behaviour must be observed.

import { io } from 'socket.io-client';
import type { Transport } from '../../app/config.ts';
import type { Fleet, FleetClient, FleetTarget } from '../fleet.ts';
import type { LabStatus } from '../lab.ts';
import type { Stage } from '../stages.ts';
import { describeConnectError } from '../fleet.ts';
import { getHealth } from '../health.ts';

/** What a check may use of the running lab. */
export interface CheckHost {
  stage: Stage;
  status(): LabStatus;
  /** Where clients connect in this stage: nginx, or straight to the instances. */
  target(): FleetTarget;
  /** A fresh set of clients, separate from the learner's fleet. Close it when done. */
  newFleet(opts?: { reconnect?: boolean }): Fleet;
  /** Break something on purpose (the failover check crashes an instance; the drain check stops one, then starts it). */
  fault(req: { target: 'instance'; serverId: string; fault: 'crash' | 'stop' | 'start' }): Promise<string>;
  /** The last lines of nginx's error log (empty without nginx). */
  nginxErrors(): string[];
}

export interface CheckOutcome {
  ok: boolean;
  /** One line: what was seen, and on failure why it matters. */
  detail: string;
}

type Param = { check: (v: unknown) => string | null; fallback: unknown };
const int = (min: number, max: number, fallback: number): Param => ({
  check: (v) => (Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? null : `an integer from ${min} to ${max}`),
  fallback,
});
const oneOf = (values: readonly string[], fallback: string): Param => ({
  check: (v) => (typeof v === 'string' && values.includes(v) ? null : `one of ${values.map((x) => `"${x}"`).join(', ')}`),
  fallback,
});
const transports: Param = {
  check: (v) => (Array.isArray(v) && v.length > 0 && v.every((t) => t === 'polling' || t === 'websocket') ? null : 'a list of "polling" and/or "websocket"'),
  fallback: undefined,
};

export interface CheckKind {
  /** Shown by `lab doctor` and in errors about lesson files. */
  about: string;
  params: Record<string, Param>;
  run(host: CheckHost, params: Record<string, unknown>): Promise<CheckOutcome>;
}

const pass = (detail: string): CheckOutcome => ({ ok: true, detail });
const fail = (detail: string): CheckOutcome => ({ ok: false, detail });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const where = (c: FleetClient): string => `${c.id} on ${c.serverId ?? '?'}`;

async function withFleet<T>(host: CheckHost, fn: (fleet: Fleet) => Promise<T>, opts: { reconnect?: boolean } = {}): Promise<T> {
  const fleet = host.newFleet(opts);
  try {
    return await fn(fleet);
  } finally {
    fleet.close();
  }
}

/** Connect `count` clients; a failure to connect ends the check with its reason. */
async function connectAll(fleet: Fleet, count: number, opts: Parameters<Fleet['add']>[1] = {}): Promise<FleetClient[] | CheckOutcome> {
  const clients = await fleet.add(count, { timeoutMs: 4000, ...opts });
  const down = clients.filter((c) => !c.socket.connected);
  if (down.length === 0) return clients;
  const first = down[0]!;
  return fail(`${down.length} of ${count} clients could not connect; ${first.id}: ${first.lastError ?? 'no answer within 4 s'}${explainConnectError(first.lastError)}`);
}

function explainConnectError(error: string | null): string {
  if (error?.includes('HTTP 400')) return ' — a session\'s requests reached different instances: something in between is not sticky (the load balancer, or PM2 cluster mode)';
  if (error?.includes('ECONNREFUSED') || error?.includes('xhr poll error')) return ' — nothing answered: is the lab up in this stage?';
  return '';
}

async function waitFor(ms: number, done: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await sleep(25);
}

const room = (): string => `check-${Math.random().toString(36).slice(2, 8)}`;

export const CHECK_KINDS: Record<string, CheckKind> = {
  instances: {
    about: 'at least `min` instances are online',
    params: { min: int(1, 9, 2) },
    async run(host, p) {
      const online = host.status().instances.filter((i) => i.online);
      const names = online.map((i) => i.serverId).join(', ') || 'none';
      return online.length >= (p.min as number)
        ? pass(`${online.length} instances online (${names})`)
        : fail(`${online.length} instance(s) online (${names}); this needs ${p.min as number}: switch to a stage with more`);
    },
  },

  connects: {
    about: 'every client connects through the lab\'s entry point (nginx, or the instances)',
    params: { clients: int(1, 50, 6), transports },
    async run(host, p) {
      return withFleet(host, async (fleet) => {
        const clients = await connectAll(fleet, p.clients as number, p.transports ? { transports: p.transports as Transport[] } : {});
        if (!Array.isArray(clients)) return clients;
        return pass(`${clients.length} of ${clients.length} clients connected (${servers(clients)})`);
      });
    },
  },

  'room-delivery': {
    about: 'every member of a room receives every message, whichever instance it is on',
    params: { clients: int(2, 50, 6), senders: int(1, 10, 3) },
    async run(host, p) {
      return withFleet(host, async (fleet) => {
        const name = room();
        const clients = await connectAll(fleet, p.clients as number, { rooms: [name] });
        if (!Array.isArray(clients)) return clients;
        const sent: { msgId: string; from: FleetClient }[] = [];
        for (const from of clients.slice(0, p.senders as number)) {
          const ack = await fleet.send(from.id, name, `check from ${from.id}`);
          if (!ack.ok || !ack.msgId) return fail(`${where(from)} could not send: ${ack.error ?? 'no msgId'}`);
          sent.push({ msgId: ack.msgId, from });
        }
        await waitFor(2000, () => clients.every((c) => sent.every((m) => c.received.has(m.msgId))));
        const missing = sent.flatMap((m) => clients.filter((c) => !c.received.has(m.msgId)).map((c) => ({ c, m })));
        if (missing.length === 0) return pass(`${clients.length} clients on ${servers(clients)} got all ${sent.length} messages`);
        const { c, m } = missing[0]!;
        const crossing = c.serverId !== m.from.serverId;
        const why = crossing && host.stage.adapter === 'none' ? ' — no adapter carries messages between instances' : crossing ? ' — the adapter did not carry it' : '';
        return fail(`${where(c)} did not receive ${m.msgId} sent on ${m.from.serverId}${why}${missing.length > 1 ? ` (${missing.length} deliveries missing in all)` : ''}`);
      });
    },
  },

  'room-split': {
    about: 'with no adapter, a message sent on one instance reaches only the room members on that instance',
    params: { clients: int(4, 50, 6) },
    async run(host, p) {
      return withFleet(host, async (fleet) => {
        const name = room();
        const clients = await connectAll(fleet, p.clients as number, { rooms: [name] });
        if (!Array.isArray(clients)) return clients;
        const [from] = clients as [FleetClient];
        if (new Set(clients.map((c) => c.serverId)).size < 2) {
          return fail(`all ${clients.length} clients are on ${from.serverId}: with one instance there is nothing to split`);
        }
        const ack = await fleet.send(from.id, name, 'can everyone hear me?');
        if (!ack.ok || !ack.msgId) return fail(`${where(from)} could not send: ${ack.error}`);
        await sleep(500); // time enough for any instance that could deliver it
        const local = clients.filter((c) => c.serverId === from.serverId);
        const remote = clients.filter((c) => c.serverId !== from.serverId);
        const heardRemotely = remote.filter((c) => c.received.has(ack.msgId!));
        if (heardRemotely.length > 0) return fail(`${where(heardRemotely[0]!)} received a message sent on ${from.serverId}: an adapter joins the instances, so there is no split`);
        const deafLocally = local.filter((c) => !c.received.has(ack.msgId!));
        if (deafLocally.length > 0) return fail(`${where(deafLocally[0]!)} did not receive a message sent on its own instance`);
        return pass(`sent on ${from.serverId}: reached ${local.map((c) => c.id).join(', ')} (${from.serverId}); never reached ${remote.map(where).join(', ')}`);
      });
    },
  },

  'polling-fails': {
    about: 'through a load balancer that is not sticky, HTTP long-polling handshakes fail with 400 "Session ID unknown"',
    params: { clients: int(2, 20, 4) },
    async run(host, p) {
      const target = host.target();
      if (target.via !== 'nginx') return fail('this stage has no load balancer: clients connect straight to an instance, so every request of a session reaches the same one');
      const n = p.clients as number;
      const results: (string | null)[] = [];
      // One at a time. Other clients' requests may interleave and, now and then,
      // send a session's second request back to the same instance: so the
      // check asks for most handshakes to fail, not all.
      for (let i = 1; i <= n; i++) results.push(await tryPolling(target.urlFor(i), `poll${i}`));
      const other = results.find((r) => r !== null && !r.includes('HTTP 400'));
      if (other) return fail(`a polling handshake failed, but not with HTTP 400: ${other}`);
      const failed = results.filter((r) => r !== null).length;
      if (failed * 2 < n) return fail(`${n - failed} of ${n} polling handshakes connected: the load balancer keeps a session's requests on one instance (sticky)`);
      return pass(`${failed} of ${n} polling handshakes failed with HTTP 400 (Session ID unknown)`);
    },
  },

  spread: {
    about: 'clients land on at least `min` instances; `source`: "distinct" (each from its own /24) or "shared" (all from 127.0.0.1, like an office behind one NAT)',
    params: { clients: int(2, 50, 6), min: int(2, 9, 2), source: oneOf(['distinct', 'shared'], 'distinct') },
    async run(host, p) {
      return withFleet(host, async (fleet) => {
        const source = p.source as 'distinct' | 'shared';
        const clients = await connectAll(fleet, p.clients as number, { source });
        if (!Array.isArray(clients)) return clients;
        const from = source === 'shared' ? 'all from 127.0.0.1' : 'from different /24s';
        const n = new Set(clients.map((c) => c.serverId)).size;
        if (n >= (p.min as number)) return pass(`${clients.length} clients ${from} spread over ${servers(clients)}`);
        const why = source === 'shared' && host.stage.loadBalancer === 'ip-hash' ? ': ip_hash keys on the address, and they share one' : '';
        return fail(`${clients.length} clients ${from} all landed on ${servers(clients)}; expected at least ${p.min as number} instances${why}`);
      });
    },
  },

  'behind-one-nat': {
    about: 'clients sharing one address (one NAT) all land on the same instance under ip_hash',
    params: { clients: int(2, 50, 6) },
    async run(host, p) {
      if (host.status().instances.filter((i) => i.online).length < 2) return fail('only one instance is online: nothing to pile up on');
      return withFleet(host, async (fleet) => {
        const clients = await connectAll(fleet, p.clients as number, { source: 'shared' });
        if (!Array.isArray(clients)) return clients;
        const n = new Set(clients.map((c) => c.serverId)).size;
        return n === 1
          ? pass(`${clients.length} clients all from 127.0.0.1 all landed on ${clients[0]!.serverId}`)
          : fail(`${clients.length} clients from one address were spread over ${servers(clients)}: the balancer does not hash on the address`);
      });
    },
  },

  upgrades: {
    about: 'clients start on HTTP long-polling and upgrade to WebSocket',
    params: { clients: int(1, 50, 4) },
    async run(host, p) {
      return withFleet(host, async (fleet) => {
        const clients = await connectAll(fleet, p.clients as number, { transports: ['polling', 'websocket'] });
        if (!Array.isArray(clients)) return clients;
        await waitFor(2000, () => clients.every((c) => c.transport === 'websocket'));
        const stuck = clients.filter((c) => c.transport !== 'websocket');
        return stuck.length === 0
          ? pass(`${clients.length} of ${clients.length} clients upgraded to websocket`)
          : fail(`${where(stuck[0]!)} stayed on ${stuck[0]!.transport ?? 'nothing'}: does the proxy forward the Upgrade and Connection headers?`);
      });
    },
  },
  'connection-cap': {
    about: 'an instance refuses clients beyond its limit with a clear reason, and those already in are unaffected',
    params: { clients: int(2, 500, 30) },
    async run(host, p) {
      return withFleet(host, async (fleet) => {
        // All from one address: ip_hash puts them on one instance (without nginx, client 1's instance).
        const n = p.clients as number;
        const clients = await fleet.add(n, { source: 'shared', timeoutMs: 4000 });
        const inside = clients.filter((c) => c.socket.connected);
        const refused = clients.filter((c) => !c.socket.connected);
        const where = inside[0]?.serverId ?? '?';
        if (refused.length === 0) return fail(`all ${n} clients were let in by ${where}: nothing limits connections per instance`);
        const unclear = refused.find((c) => !/is full/.test(c.lastError ?? ''));
        if (unclear) return fail(`${unclear.id} was refused without a clear reason: ${unclear.lastError ?? 'no answer'}`);
        await sleep(300);
        const dropped = inside.filter((c) => !c.socket.connected);
        if (dropped.length > 0) return fail(`${dropped[0]!.id} was let in, then dropped when the instance filled up`);
        return pass(`${where} let ${inside.length} in and refused ${refused.length}: "${refused[0]!.lastError}"`);
      });
    },
  },

  'flood-limited': {
    about: 'one client sending as fast as it can is slowed by a per-client rate limit; the others still chat',
    params: { messages: int(10, 1000, 200) },
    async run(host, p) {
      const n = p.messages as number;
      return onlyTheOffenderPays(host, 'the flood', async (fleet, flooder, name) => {
        const acks = await Promise.all(Array.from({ length: n }, (_, i) => fleet.send(flooder.id, name, `flood ${i}`)));
        const limited = acks.filter((a) => !a.ok && /rate limit/.test(a.error ?? '')).length;
        return limited === 0
          ? fail(`${flooder.id} sent ${n} messages at once and every one was accepted: nothing limits a single client`)
          : `${flooder.id} sent ${n} at once: ${n - limited} accepted, ${limited} refused ("rate limit")`;
      });
    },
  },

  'oversized-refused': {
    about: 'a message far over the limits is refused, or costs its sender the connection; the instance and everyone else carry on',
    params: { bytes: int(1000, 10_000_000, 100_000) },
    async run(host, p) {
      const size = `a ${(p.bytes as number).toLocaleString('en')}-character message`;
      return onlyTheOffenderPays(host, 'the big message', async (fleet, big, name) => {
        const closed = new Promise<string>((resolve) => big.socket.once('disconnect', resolve));
        const outcome = await Promise.race([
          fleet.send(big.id, name, 'x'.repeat(p.bytes as number)).then((a) => (a.ok ? 'accepted' : `refused: ${a.error}`)),
          closed.then((reason) => `connection closed (${reason})`),
        ]);
        return outcome === 'accepted' ? fail(`${size} was accepted and broadcast: no size limit`) : `${size}: ${outcome}`;
      });
    },
  },

  failover: {
    about: 'when an instance dies, its clients reconnect to the others within 5 s, at spread-out moments (backoff with jitter), not all at once',
    params: { clients: int(6, 300, 60) },
    async run(host, p) {
      return withFleet(
        host,
        async (fleet) => {
          const clients = await connectAll(fleet, p.clients as number);
          if (!Array.isArray(clients)) return clients;
          const busy = busiest(clients);
          if (!busy) return fail(`all clients are on ${clients[0]!.serverId}: with nowhere to go, failover cannot be seen`);
          const [victim, victims] = busy;
          const lost = new Map<string, number>();
          const back = new Map<string, number>();
          for (const c of victims) {
            c.socket.once('disconnect', () => lost.set(c.id, performance.now()));
            c.socket.once('welcome', () => back.set(c.id, performance.now()));
          }
          await host.fault({ target: 'instance', serverId: victim, fault: 'crash' });
          await waitFor(6000, () => back.size === victims.length);
          const times = [...back].map(([id, at]) => at - (lost.get(id) ?? at)).sort((a, b) => a - b);
          const within = times.filter((t) => t <= 5000).length;
          if (within < victims.length * 0.99) return fail(`only ${within} of ${victims.length} clients of ${victim} were back within 5 s`);
          const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
          const spread = at(0.9) - at(0.1);
          const summary = `${victims.length} clients of ${victim} back within 5 s; reconnect p10 ${at(0.1).toFixed(0)} ms, p90 ${at(0.9).toFixed(0)} ms`;
          // Jitter 0.5 on a 500 ms delay spreads p10–p90 over ≈ 400 ms; a storm under
          // heavy CPU load still stays well under 250.
          return spread >= 250
            ? pass(`${summary}: spread over ${spread.toFixed(0)} ms`)
            : fail(`${summary}: all within ${spread.toFixed(0)} ms of each other — a reconnect storm; give the backoff some jitter`);
        },
        { reconnect: true },
      );
    },
  },

  recovery: {
    about: 'a client that loses its connection for a few seconds gets every message it missed, exactly once (connection state recovery)',
    params: { awaySeconds: int(1, 30, 3), messages: int(1, 50, 10) },
    async run(host, p) {
      return withFleet(
        host,
        async (fleet) => {
          const name = room();
          const clients = await connectAll(fleet, 4, { rooms: [name] });
          if (!Array.isArray(clients)) return clients;
          const sender = clients[0]!;
          const away = clients.find((c) => c.serverId !== sender.serverId) ?? clients[1]!;
          const seen = new Map<string, number>();
          away.socket.on('chat', (m: { msgId: string }) => seen.set(m.msgId, (seen.get(m.msgId) ?? 0) + 1));
          // A network cut, not a goodbye: the transport closes and the client stays away a while.
          const ms = (p.awaySeconds as number) * 1000;
          away.socket.io.reconnectionDelay(ms).reconnectionDelayMax(ms).randomizationFactor(0);
          const returned = new Promise<void>((resolve) => away.socket.once('connect', () => resolve()));
          away.socket.io.engine.close();
          const sent: string[] = [];
          for (let i = 0; i < (p.messages as number); i++) {
            const ack = await fleet.send(sender.id, name, `while ${away.id} is away #${i + 1}`);
            if (ack.ok && ack.msgId) sent.push(ack.msgId);
            await sleep(Math.min(200, ms / ((p.messages as number) + 1)));
          }
          await Promise.race([returned, sleep(ms + 5000)]);
          await waitFor(2000, () => sent.every((m) => seen.has(m)));
          const missed = sent.filter((m) => !seen.has(m)).length;
          const twice = sent.filter((m) => (seen.get(m) ?? 0) > 1).length;
          const recovered = away.socket.recovered === true;
          const what = `${away.id} was away ${p.awaySeconds as number} s while ${sent.length} messages were sent`;
          if (missed > 0) return fail(`${what}: missed ${missed} of them (recovered: ${recovered ? 'yes' : 'no'}) — pub/sub delivers at most once`);
          if (twice > 0) return fail(`${what}: got ${twice} of them twice`);
          return recovered ? pass(`${what}: got all of them, once each, and its session was recovered`) : fail(`${what}: got them, but its session was not recovered`);
        },
        { reconnect: true },
      );
    },
  },

  'graceful-stop': {
    about: 'an instance stopped the way PM2 stops it (SIGINT, then SIGKILL after kill_timeout) drains: its clients move to the others and recover their sessions, with what they missed',
    params: { clients: int(4, 60, 9) },
    async run(host, p) {
      return withFleet(
        host,
        async (fleet) => {
          const name = room();
          const clients = await connectAll(fleet, p.clients as number, { rooms: [name] });
          if (!Array.isArray(clients)) return clients;
          const busy = busiest(clients);
          if (!busy) return fail(`all clients are on ${clients[0]!.serverId}: with nowhere to go, a drain cannot be seen`);
          const [victim, movers] = busy;
          const sender = clients.find((c) => c.serverId !== victim)!;
          const port = host.status().instances.find((i) => i.serverId === victim)!.port;
          const seen = new Map<FleetClient, Map<string, number>>();
          for (const c of movers) {
            const counts = new Map<string, number>();
            seen.set(c, counts);
            c.socket.on('chat', (m: { msgId: string }) => counts.set(m.msgId, (counts.get(m.msgId) ?? 0) + 1));
          }

          // A steady conversation from another instance, all through the stop.
          const sent: string[] = [];
          let talking = true;
          const talk = (async () => {
            for (let i = 1; talking; i++) {
              const ack = await fleet.send(sender.id, name, `during the drain #${i}`);
              if (ack.ok && ack.msgId) sent.push(ack.msgId);
              await sleep(50);
            }
          })();

          // Stop it as PM2 would, and watch: how long does it answer /health as draining?
          const began = performance.now();
          let drainingSeen = 0;
          const stopped = host.fault({ target: 'instance', serverId: victim, fault: 'stop' });
          let stopDone = false;
          void stopped.finally(() => (stopDone = true)).catch(() => {});
          while (!stopDone) {
            const h = await getHealth(port, { timeoutMs: 300 });
            if (h?.serverId === victim && h.draining) drainingSeen = performance.now() - began;
            await sleep(100);
          }
          try {
            await stopped;
            await waitFor(10_000, () => movers.every((c) => c.socket.connected && c.serverId !== null && c.serverId !== victim));
            await sleep(500); // a few more messages after everyone is back
            talking = false;
            await talk;
            await waitFor(2000, () => movers.every((c) => sent.every((m) => seen.get(c)!.has(m))));
            return verdict();
          } finally {
            talking = false;
            await host.fault({ target: 'instance', serverId: victim, fault: 'start' }).catch(() => {});
            // nginx has marked the stopped instance as failed. After fail_timeout (2 s) it
            // sends ONE request there to try it, and meanwhile passes the others by; a
            // polling session started during that try can have its next request land on
            // the other side ("Session ID unknown"). So: wait, then let one client that
            // hashes to it reconnect alone, before the next check connects a crowd.
            await sleep(2500);
            const first = movers[0]!;
            first.socket.disconnect().connect();
            await waitFor(3000, () => first.socket.connected && first.serverId !== null);
          }

          function verdict(): CheckOutcome {
            const { drainMs, killTimeout } = host.stage;
            const drained = `${victim} drained for ${(drainingSeen / 1000).toFixed(1)} s (drainMs ${drainMs}, kill_timeout ${killTimeout})`;
            const away = movers.filter((c) => !c.socket.connected || c.serverId === victim);
            if (away.length > 0) return fail(`${drained}; ${away[0]!.id} did not come back on another instance within 10 s`);
            const missedBy = (c: FleetClient): number => sent.filter((m) => !seen.get(c)!.has(m)).length;
            const moved = `its ${movers.length} clients moved to ${servers(movers)}`;
            const lost = movers.find((c) => !c.socket.recovered);
            if (lost) {
              const cut = killTimeout < drainMs ? ' — PM2 sent SIGKILL before the drain ended, so the sessions were never saved for recovery' : host.stage.recovery ? ' — its session was not found' : ' — without connection state recovery nothing replays the gap';
              return fail(`${drained}; ${moved}, but ${lost.id} started a new session and missed ${missedBy(lost)} of ${sent.length} messages${cut}`);
            }
            const twice = movers.find((c) => [...seen.get(c)!.values()].some((n) => n > 1));
            if (twice) return fail(`${drained}; ${moved}, but ${twice.id} got a message twice`);
            // Recovery replays what the stream holds after the client's last offset. A message
            // broadcast in the instant between that read and the socket rejoining its rooms
            // can still slip through: the maintainers call recovery a best effort, so this is
            // reported, not failed.
            const gap = movers.map((c) => ({ c, n: missedBy(c) })).find((x) => x.n > 0);
            if (gap) return pass(`${drained}; ${moved}, every session recovered; ${gap.c.id} still missed ${gap.n} of ${sent.length}, sent in the instant its session was being restored`);
            return pass(`${drained}; ${moved}, every session recovered, and all ${sent.length} messages arrived, once each`);
          }
        },
        { reconnect: true },
      );
    },
  },

  presence: {
    about: 'asked on any instance, "who is in this room?" names every member, on every instance',
    params: { clients: int(2, 50, 6) },
    async run(host, p) {
      return withFleet(host, async (fleet) => {
        const name = room();
        const clients = await connectAll(fleet, p.clients as number, { rooms: [name] });
        if (!Array.isArray(clients)) return clients;
        const asker = clients[0]!;
        const reply = (await fleet.ask(asker.id, 'who', name)) as { ok: boolean; error?: string; members?: { name: string; serverId: string }[] };
        if (!reply.ok || !reply.members) return fail(`${where(asker)} asked who is in the room: ${reply.error ?? 'no members in the answer'}`);
        const listed = new Map(reply.members.map((m) => [m.name, m.serverId]));
        const absent = clients.filter((c) => !listed.has(c.id));
        const wrong = clients.find((c) => listed.has(c.id) && listed.get(c.id) !== c.serverId);
        if (absent.length > 0) {
          const elsewhere = absent.every((c) => c.serverId !== asker.serverId);
          const why = elsewhere ? ` — the ${absent.length} missing are all on other instances: the answer came from ${asker.serverId}'s memory alone` : '';
          return fail(`${where(asker)} asked who is in the room: ${reply.members.length} of ${clients.length} named; not ${absent.slice(0, 3).map(where).join(', ')}${why}`);
        }
        if (wrong) return fail(`${wrong.id} is on ${wrong.serverId}, but the answer says ${listed.get(wrong.id)}`);
        return pass(`${where(asker)} asked who is in the room: all ${clients.length} named, on ${servers(clients)}`);
      });
    },
  },

  'fleet-count': {
    about: 'asked on any instance, "how many are connected?" counts every instance, and agrees with each instance\'s /health',
    params: { clients: int(2, 50, 6) },
    async run(host, p) {
      return withFleet(host, async (fleet) => {
        const clients = await connectAll(fleet, p.clients as number);
        if (!Array.isArray(clients)) return clients;
        const asker = clients[0]!;
        await sleep(300); // let the instances finish with clients that just left (an earlier check's)
        const reply = (await fleet.ask(asker.id, 'stats')) as { ok: boolean; error?: string; servers?: Record<string, number>; total?: number };
        if (!reply.ok || !reply.servers) return fail(`${where(asker)} asked how many are connected: ${reply.error ?? 'no counts in the answer'}`);
        // The truth, instance by instance, straight from each one's /health.
        const truth = new Map<string, number>();
        for (const i of host.status().instances.filter((i) => i.online)) {
          const h = await getHealth(i.port);
          if (h) truth.set(h.serverId, h.connections);
        }
        const missing = [...truth.keys()].filter((s) => !(s in reply.servers!));
        const said = Object.entries(reply.servers).sort().map(([s, n]) => `${s}: ${n}`).join(', ');
        if (missing.length > 0) return fail(`${where(asker)} was told ${said} (total ${reply.total}); ${missing.join(', ')} not counted, though /health says ${missing.map((s) => `${s} has ${truth.get(s)}`).join(', ')} — the count came from one instance`);
        const off = [...truth].find(([s, n]) => Math.abs(reply.servers![s]! - n) > 0);
        if (off) return fail(`${where(asker)} was told ${off[0]} has ${reply.servers[off[0]]}, but its /health says ${off[1]}`);
        return pass(`${where(asker)} was told ${said}: ${reply.total} in all, as every instance's /health says`);
      });
    },
  },

  capacity: {
    about: 'the stack takes `clients` idle connections, and each costs the instances at most `maxKb` KB of heap (measured after a forced GC)',
    params: { clients: int(10, 3000, 300), maxKb: int(1, 1000, 50) },
    async run(host, p) {
      const n = p.clients as number;
      const instances = host.status().instances.filter((i) => i.online);
      // Heap after a full GC, per instance: live data only. In PM2 cluster mode
      // the workers share a port and cannot be asked one by one: not measured there.
      const heaps = async (): Promise<Map<string, { heap: number; connections: number }>> => {
        const out = new Map<string, { heap: number; connections: number }>();
        for (const i of instances) {
          const h = await getHealth(i.port, { gc: true, timeoutMs: 3000 });
          if (h?.memory && h.serverId === i.serverId) out.set(i.serverId, { heap: h.memory.heapUsed, connections: h.connections });
        }
        return out;
      };
      return withFleet(host, async (fleet) => {
        const before = await heaps();
        const clients = await fleet.add(n, { timeoutMs: 8000 });
        const down = clients.filter((c) => !c.socket.connected);
        if (down.length > 0) {
          const nginxSays = host.nginxErrors().reverse().find((l) => /worker_connections are not enough/.test(l));
          const why = nginxSays
            ? ` — nginx: "${nginxSays.replace(/^.*?\] \d+#\d+: (\*\d+ )?/, '').replace(/,? (while|reusing) .*$/, '')}": every proxied client uses two of them`
            : ` (${down[0]!.id}: ${down[0]!.lastError ?? 'no answer within 8 s'})`;
          return fail(`${n - down.length} of ${n} clients connected${why}`);
        }
        await sleep(500); // let upgrades finish and polling buffers go
        const after = await heaps();
        const perConn: number[] = [];
        for (const [id, a] of after) {
          const b = before.get(id);
          const added = b ? a.connections - b.connections : 0;
          if (!b || added < 10) continue; // too few on this instance to say anything
          perConn.push((a.heap - b.heap) / added);
        }
        const spreadOver = `${n} of ${n} clients connected (${servers(clients)})`;
        if (perConn.length === 0) return pass(`${spreadOver}; memory per connection not measured (instances could not be asked one by one)`);
        const kb = perConn.reduce((x, y) => x + y, 0) / perConn.length / 1024;
        const perGb = Math.floor((1024 * 1024) / Math.max(kb, 0.1));
        // Heap only: RSS also holds memory the GC has freed but not returned (npm run bench reports both).
        const measured = `${kb.toFixed(1)} KB of heap per idle connection`;
        return kb <= (p.maxKb as number)
          ? pass(`${spreadOver}; ${measured}: at that rate 1 GB of heap holds ≈ ${perGb.toLocaleString('en')} connections`)
          : fail(`${spreadOver}; ${measured}, more than ${p.maxKb as number} KB: something keeps data per connection`);
      });
    },
  },

  'idle-survives': {
    about: 'connected clients that say nothing stay connected (heartbeats keep the proxy from cutting them)',
    params: { clients: int(1, 20, 3), seconds: int(1, 120, 8) },
    async run(host, p) {
      return withFleet(host, async (fleet) => {
        const clients = await connectAll(fleet, p.clients as number);
        if (!Array.isArray(clients)) return clients;
        const start = performance.now();
        const drops: { c: FleetClient; after: number; reason: string }[] = [];
        for (const c of clients) c.socket.once('disconnect', (reason) => drops.push({ c, after: performance.now() - start, reason }));
        await sleep((p.seconds as number) * 1000);
        if (drops.length === 0) return pass(`${clients.length} idle clients stayed connected for ${p.seconds as number} s`);
        const first = drops.sort((a, b) => a.after - b.after)[0]!;
        return fail(`${first.c.id} lost its connection after ${(first.after / 1000).toFixed(1)} s idle (${first.reason}): something between client and server gave up before the next heartbeat`);
      });
    },
  },
};

/**
 * An offender and a bystander share a room. `misbehave` makes the offender do
 * its worst and says what the server did about it (or fails the check); then
 * the bystander must still be able to chat: only the offender pays.
 */
async function onlyTheOffenderPays(
  host: CheckHost,
  what: string,
  misbehave: (fleet: Fleet, offender: FleetClient, room: string) => Promise<string | CheckOutcome>,
): Promise<CheckOutcome> {
  return withFleet(host, async (fleet) => {
    const name = room();
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
function busiest(clients: FleetClient[]): [string, FleetClient[]] | null {
  const byServer = new Map<string, FleetClient[]>();
  for (const c of clients) byServer.set(c.serverId!, [...(byServer.get(c.serverId!) ?? []), c]);
  if (byServer.size < 2) return null;
  return [...byServer].sort((a, b) => b[1].length - a[1].length)[0]!;
}

function servers(clients: FleetClient[]): string {
  const counts = new Map<string, number>();
  for (const c of clients) counts.set(c.serverId ?? '?', (counts.get(c.serverId ?? '?') ?? 0) + 1);
  return [...counts].sort().map(([s, n]) => `${s}×${n}`).join(', ');
}

/** One polling handshake with no retries; resolves null if it connected, else the error. */
function tryPolling(url: string, name: string): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = io(url, { forceNew: true, reconnection: false, transports: ['polling'], auth: { name } });
    const finish = (result: string | null): void => {
      clearTimeout(timer);
      socket.close();
      resolve(result);
    };
    const timer = setTimeout(() => finish('no answer within 4 s'), 4000);
    socket.once('welcome', () => finish(null));
    socket.once('connect_error', (err) => finish(describeConnectError(err)));
  });
}
