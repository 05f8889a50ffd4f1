// The reconciler: none → redis with the fleet connected, and idempotence.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Lab } from '../../server/lab/lab.ts';
import { sleep, startLab, until } from '../helpers/lab.ts';

describe('stage switch with the fleet connected', () => {
  let lab: Lab;
  before(async () => {
    lab = await startLab('ip-hash');
  });
  after(() => lab?.down());

  test('ip-hash (no adapter) → scaled (Redis): the same clients go from split to whole', async () => {
    const clients = await lab.fleet.add(6, { rooms: ['lobby'] });
    await until('all joined', () => lab.hub.snapshot().clients.filter((c) => c.rooms.includes('lobby')).length === 6);
    const before = await lab.fleet.send('c1', 'lobby', 'split?');
    await sleep(300);
    assert.ok(before.ok, before.ok ? '' : before.error);
    const reached = clients.filter((c) => c.received.has(before.msgId)).length;
    assert.ok(reached < 6, `without an adapter only c1's instance delivers (${reached}/6)`);

    const started = performance.now();
    const report = await lab.setStage('scaled');
    const ms = performance.now() - started;
    assert.ok(report.includes('redis: start on ' + lab.settings.ports.redis), report.join('; '));
    for (const id of ['s1', 's2', 's3'])
      assert.ok(
        report.some((l) => l.startsWith(`${id}: restart (`) && l.includes('ADAPTER none → redis')),
        report.join('; '),
      );
    assert.ok(!report.some((l) => l.startsWith('nginx')), 'nginx config did not change, so it was left alone');
    console.log(`  stage switch ip-hash → scaled took ${ms.toFixed(0)} ms`);

    // The clients reconnect on their own and re-join their rooms.
    await until(
      'fleet back and joined',
      () => lab.hub.snapshot().clients.filter((c) => c.rooms.includes('lobby')).length === 6,
      10_000,
    );
    const ack = await lab.fleet.send('c1', 'lobby', 'whole?');
    assert.ok(ack.ok, ack.ok ? '' : ack.error);
    await until('everyone receives', () => clients.every((c) => c.received.has(ack.msgId)));
  });

  test('applying the same stage again changes nothing', async () => {
    const pids = lab.status().instances.map((i) => i.pid);
    const report = await lab.setStage('scaled');
    assert.deepEqual(report, []);
    assert.deepEqual(
      lab.status().instances.map((i) => i.pid),
      pids,
    );
  });

  test('fewer instances: the extra ones are stopped, the rest untouched where unchanged', async () => {
    const report = await lab.setStage('split');
    assert.ok(report.includes('s3: stop'), report.join('; '));
    assert.ok(report.includes('nginx: stop'));
    assert.ok(report.includes('redis: stop'));
    assert.deepEqual(
      lab.status().instances.map((i) => i.serverId),
      ['s1', 's2'],
    );
    assert.equal(lab.status().nginx, null);
  });
});
