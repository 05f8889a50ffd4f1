// Lesson 1's starting point really works: one process, an in-memory Set per room.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Lab } from '../../server/lab/lab.ts';
import { startLab, until } from '../helpers/lab.ts';

describe('stage "start": one instance, naive Set broadcast', () => {
  let lab: Lab;
  before(async () => {
    lab = await startLab('start');
  });
  after(() => lab?.down());

  test('runs exactly one instance, no nginx, no Redis', () => {
    const status = lab.status();
    assert.equal(status.stage, 'start');
    assert.deepEqual(
      status.instances.map((i) => [i.serverId, i.online]),
      [['s1', true]],
    );
    assert.equal(status.nginx, null);
    assert.equal(status.redis, null);
  });

  test('every client gets every message', async () => {
    const clients = await lab.fleet.add(5, { rooms: ['lobby'] });
    await until('all joined', () => lab.hub.snapshot().clients.filter((c) => c.rooms.includes('lobby')).length === 5);
    const sent: string[] = [];
    for (const c of clients.slice(0, 3)) {
      const ack = await lab.fleet.send(c.id, 'lobby', `hello from ${c.id}`);
      assert.ok(ack.ok, ack.ok ? '' : ack.error);
      assert.equal(ack.serverId, 's1');
      sent.push(ack.msgId);
    }
    await until('every delivery', () => clients.every((c) => sent.every((m) => c.received.has(m))));
    for (const c of clients)
      assert.deepEqual([...c.received.keys()].sort(), [...sent].sort(), `${c.id} got every message`);
    // The lab's own view agrees: each message expected by 5, delivered to 5.
    await until('telemetry', () => sent.every((m) => Object.keys(lab.hub.message(m)?.delivered ?? {}).length === 5));
    for (const m of sent) assert.equal(lab.hub.message(m)!.expected.length, 5);
  });
});
