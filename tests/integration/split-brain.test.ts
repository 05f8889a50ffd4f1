// Lesson 2's failure, for real: two instances, no adapter, one room split in two.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Lab } from '../../server/lab/lab.ts';
import { sleep, startLab, until } from '../helpers/lab.ts';

describe('stage "split": two instances, no adapter', () => {
  let lab: Lab;
  before(async () => {
    lab = await startLab('split');
  });
  after(() => lab?.down());

  test('clients on different instances do not hear each other', async () => {
    const clients = await lab.fleet.add(4, { rooms: ['lobby'] });
    await until('all joined', () => lab.hub.snapshot().clients.filter((c) => c.rooms.includes('lobby')).length === 4);
    const where = Object.fromEntries(clients.map((c) => [c.id, c.serverId]));
    // With no load balancer the fleet spreads clients straight over the instances.
    assert.deepEqual(where, { c1: 's1', c2: 's2', c3: 's1', c4: 's2' });

    const ack = await lab.fleet.send('c1', 'lobby', 'anyone there?');
    assert.equal(ack.ok, true);
    await until('c3 (same instance) receives', () => lab.fleet.get('c3').received.has(ack.msgId!));
    await sleep(300); // give the other instance every chance: nothing can carry it there

    const got = clients.filter((c) => c.received.has(ack.msgId!)).map((c) => `${c.id}@${c.serverId}`);
    assert.deepEqual(got, ['c1@s1', 'c3@s1'], `who got the message sent on s1: ${got.join(', ')}`);

    // The lab knows what was expected and what was delivered.
    await until('telemetry', () => Object.keys(lab.hub.message(ack.msgId!)?.delivered ?? {}).length === 2);
    const m = lab.hub.message(ack.msgId!)!;
    assert.deepEqual([...m.expected].sort(), ['c1', 'c2', 'c3', 'c4']);
    assert.deepEqual(Object.keys(m.delivered).sort(), ['c1', 'c3']);
  });
});
