// Delivery guarantees, measured with sequence-numbered messages:
//  - Streams adapter + connection state recovery: a client away for 10 s gets
//    every message it missed, exactly once, on whatever instance it returns to;
//    a short Redis outage breaks nothing; a drained instance's clients move
//    and lose nothing.
//  - The classic pub/sub adapter, same absence: the messages are lost.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FleetClient } from '../../server/lab/fleet.ts';
import type { Lab } from '../../server/lab/lab.ts';
import { lessonsWith, sleep, startLab, testSettings, until } from '../helpers/lab.ts';

const stages = [
  { id: 'start', title: 'one', instances: 1, loadBalancer: 'none', adapter: 'none', broadcast: 'naive-set' },
  { id: 'scaled', title: 'classic pub/sub adapter, no recovery', instances: 3 },
  {
    id: 'streams',
    title: 'Streams adapter with connection state recovery; 1 s drain',
    instances: 3,
    adapter: 'redis-streams',
    recovery: true,
    drainMs: 1000,
  },
];

/** Counts every chat event per message (the fleet's own record keeps one per msgId). */
function countDeliveries(clients: FleetClient[]): Map<string, Map<string, number>> {
  const counts = new Map<string, Map<string, number>>();
  for (const c of clients) {
    const mine = new Map<string, number>();
    counts.set(c.id, mine);
    c.socket.on('chat', (m: { msgId: string }) => mine.set(m.msgId, (mine.get(m.msgId) ?? 0) + 1));
  }
  return counts;
}

/** Make a client lose its connection and stay away for `ms` before reconnecting (as after a network cut). */
function cutFor(c: FleetClient, ms: number): Promise<void> {
  const manager = c.socket.io;
  manager.reconnectionDelay(ms).reconnectionDelayMax(ms).randomizationFactor(0);
  const back = new Promise<void>((resolve) => c.socket.once('connect', () => resolve()));
  manager.engine.close(); // the transport closes: to the server this is a lost connection, not a goodbye
  return back;
}

/**
 * `count` clients in lobby, on at least two instances. Right after an instance
 * restarted (the test before, a drain), nginx may still avoid it for its
 * fail_timeout (2 s) and put everyone on the others: then wait and try again.
 */
async function spreadFleet(lab: Lab, count: number): Promise<FleetClient[]> {
  for (let attempt = 1; ; attempt++) {
    const clients = await lab.fleet.add(count, { rooms: ['lobby'], timeoutMs: 10_000 });
    const on = new Set(clients.map((c) => c.serverId));
    if (on.size >= 2) return clients;
    if (attempt === 4) throw new Error(`${count} clients, all on ${[...on].join(', ')} after ${attempt} tries`);
    lab.fleet.remove(clients.map((c) => c.id));
    await sleep(2500);
  }
}

/** Six clients in lobby; one on another instance than the sender is cut off for 10 s while 20 messages go out. */
async function tenSecondsAway(
  lab: Lab,
): Promise<{ clients: FleetClient[]; away: FleetClient; sent: string[]; counts: Map<string, Map<string, number>> }> {
  const clients = await spreadFleet(lab, 6);
  const ids = new Set(clients.map((c) => c.id));
  await until(
    'joined',
    () => lab.hub.snapshot().clients.filter((c) => ids.has(c.clientId) && c.rooms.includes('lobby')).length === 6,
  );
  const [sender, away] = [clients[0]!, clients.find((c) => c.serverId !== clients[0]!.serverId)!];
  const counts = countDeliveries(clients);
  const back = cutFor(away, 10_000);
  const sent = await sendSeries(lab, sender, 'while-away-', 20, 300);
  await back;
  return { clients, away, sent, counts };
}

async function sendSeries(
  lab: Lab,
  from: FleetClient,
  prefix: string,
  count: number,
  gapMs: number,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 1; i <= count; i++) {
    const ack = await lab.fleet.send(from.id, 'lobby', `${prefix}${i}`);
    assert.ok(ack.ok, ack.ok ? '' : ack.error);
    ids.push(ack.msgId);
    await sleep(gapMs);
  }
  return ids;
}

describe('delivery guarantees across a 10 s absence, a Redis outage and a drain', () => {
  let lab: Lab;
  before(async () => {
    lab = await startLab('streams', { ...(await testSettings()), lessonsDir: lessonsWith(stages) });
  });
  after(() => lab?.down());

  test('Streams adapter + recovery: 10 s away, then every missed message exactly once, and socket.recovered', async () => {
    const { clients, away, sent, counts } = await tenSecondsAway(lab);
    assert.equal(away.socket.recovered, true, 'the session was recovered');
    await until('replayed', () => sent.every((m) => counts.get(away.id)!.has(m)), 5000);
    await sleep(300);
    for (const c of clients) {
      const mine = counts.get(c.id)!;
      assert.deepEqual(
        sent.filter((m) => mine.get(m) !== 1),
        [],
        `${c.id}: every message exactly once`,
      );
    }
    console.log(
      `  ${away.id} was away 10 s: ${sent.length} messages sent meanwhile, 0 lost, 0 duplicated, recovered = true`,
    );
  });

  test('a short Redis outage: sessions survive, and delivery across instances resumes', async () => {
    const clients = lab.fleet.list();
    await lab.fault({ target: 'redis', fault: 'stop' });
    await sleep(1000);
    await lab.fault({ target: 'redis', fault: 'start' });
    const counts = countDeliveries(clients);
    await until(
      'cross-instance delivery resumes',
      async () => {
        const ack = await lab.fleet.send(clients[0]!.id, 'lobby', 'probe');
        await sleep(200);
        return ack.ok && clients.every((c) => counts.get(c.id)!.has(ack.msgId));
      },
      15_000,
    );
    const sent = await sendSeries(lab, clients[1]!, 'after-outage-', 10, 50);
    await until('all delivered', () => clients.every((c) => sent.every((m) => counts.get(c.id)!.has(m))), 5000);
    for (const c of clients)
      assert.deepEqual(
        sent.filter((m) => counts.get(c.id)!.get(m) !== 1),
        [],
        `${c.id}: exactly once`,
      );
    assert.ok(
      clients.every((c) => c.socket.connected),
      'no client lost its connection for good',
    );
  });

  test("SIGTERM drain: the instance's clients are told, move to other instances, and lose nothing", async () => {
    lab.fleet.remove();
    const clients = await spreadFleet(lab, 6);
    const victim = clients[0]!.serverId!;
    const leaving = clients.filter((c) => c.serverId === victim);
    const sender = clients.find((c) => c.serverId !== victim)!;
    const told = new Set<string>();
    for (const c of leaving) c.socket.once('draining', () => told.add(c.id));
    const counts = countDeliveries(clients);
    const stopping = lab.fault({ target: 'instance', serverId: victim, fault: 'stop' }); // SIGINT → drain
    const sent = await sendSeries(lab, sender, 'during-drain-', 30, 100);
    await stopping;
    await until(
      'all moved',
      () => leaving.every((c) => c.socket.connected && c.serverId !== null && c.serverId !== victim),
      10_000,
    );
    await until('all delivered', () => clients.every((c) => sent.every((m) => counts.get(c.id)!.has(m))), 5000);
    assert.deepEqual(
      [...told].sort(),
      leaving.map((c) => c.id).sort(),
      'every client of the drained instance was told',
    );
    for (const c of clients)
      assert.deepEqual(
        sent.filter((m) => counts.get(c.id)!.get(m) !== 1),
        [],
        `${c.id}: exactly once`,
      );
    console.log(
      `  drained ${victim}: ${leaving.length} clients told and moved (${leaving.map((c) => `${c.id}→${c.serverId}`).join(', ')}), ${sent.length} messages, 0 lost, 0 duplicated`,
    );
    await lab.fault({ target: 'instance', serverId: victim, fault: 'start' });
  });

  test('the same 10 s absence under the classic pub/sub adapter: the messages are lost', async () => {
    await lab.setStage('scaled');
    lab.fleet.remove();
    const { away, sent, counts } = await tenSecondsAway(lab);
    await sleep(500);
    assert.notEqual(away.socket.recovered, true, 'no recovery without it');
    const missed = sent.filter((m) => !counts.get(away.id)!.has(m));
    assert.equal(missed.length, sent.length, `${away.id} missed everything sent while it was away`);
    console.log(`  classic adapter: ${away.id} away 10 s, ${missed.length} of ${sent.length} messages lost`);
  });
});
