// Faults on purpose, through the reconciler: the next stage apply heals them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Lab } from '../../server/lab/lab.ts';
import { isAlive } from '../../server/lab/processes.ts';
import { startLab, until } from '../helpers/lab.ts';

describe('faults: crash, stop and start instances and Redis', () => {
  let lab: Lab;
  before(async () => {
    lab = await startLab('scaled');
  });
  after(() => lab?.down());
  const instance = (id: string) => lab.status().instances.find((i) => i.serverId === id)!;

  test('a crashed instance is restarted by PM2 under a new pid; its clients come back', async () => {
    await lab.fleet.add(6, { rooms: ['lobby'] });
    const pid = instance('s2').pid!;
    const onS2 = lab.fleet.list().filter((c) => c.serverId === 's2').length;
    assert.ok(onS2 > 0);
    assert.match(
      await lab.fault({ target: 'instance', serverId: 's2', fault: 'crash' }),
      /s2: killed \(pid \d+\); PM2 restarts it/,
    );
    await until('the old process gone', () => !isAlive(pid));
    await until('s2 back under a new pid', () => instance('s2').online && instance('s2').pid !== pid, 10_000);
    await until(
      'all clients connected again',
      () => lab.fleet.list().every((c) => c.socket.connected && c.serverId),
      10_000,
    );
  });

  test('a stopped instance stays down, and its clients move to the others; start brings it back', async () => {
    assert.equal(await lab.fault({ target: 'instance', serverId: 's1', fault: 'stop' }), 's1: stopped');
    assert.equal(instance('s1').online, false);
    await until(
      'every client on s2 or s3',
      () => lab.fleet.list().every((c) => c.socket.connected && (c.serverId === 's2' || c.serverId === 's3')),
      15_000,
    );
    const ack = await lab.fleet.send(lab.fleet.list()[0]!.id, 'lobby', 'still here');
    assert.equal(ack.ok, true);
    assert.match(await lab.fault({ target: 'instance', serverId: 's1', fault: 'start' }), /s1: started \(pid \d+\)/);
    assert.equal(instance('s1').online, true);
  });

  test('Redis stopped and started: the stage apply would heal it too', async () => {
    assert.equal(await lab.fault({ target: 'redis', fault: 'stop' }), 'redis: stop');
    assert.deepEqual(lab.status().redis, { port: lab.settings.ports.redis, running: false });
    assert.equal(await lab.fault({ target: 'redis', fault: 'stop' }), 'redis: already stopped');
    assert.match((await lab.setStage('scaled')).join(), /redis: start/);
    assert.equal(lab.status().redis!.running, true);
  });

  test('unknown instances are clear errors', async () => {
    await assert.rejects(
      lab.fault({ target: 'instance', serverId: 's9', fault: 'crash' }),
      /no instance "s9" in this stage/,
    );
  });
});
