// Stage options of server/app that the first lessons do not use yet, each on
// a real stack: the Streams adapter, the connection limit, the SIGTERM drain.
// The stages come from a lesson folder written here: stages are only data.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Lab } from '../../server/lab/lab.ts';
import { connectClient, lessonsWith, startLab, testSettings, until } from '../helpers/lab.ts';

describe('server options on a real stack', () => {
  let lab: Lab;
  before(async () => {
    const lessonsDir = lessonsWith([
      { id: 'start', title: 'one', instances: 1, loadBalancer: 'none', adapter: 'none', broadcast: 'naive-set' },
      { id: 'scaled', title: 'three', instances: 3 },
      { id: 'streams', title: 'streams', instances: 2, loadBalancer: 'none', adapter: 'redis-streams', recovery: true },
      { id: 'tiny', title: 'two seats', instances: 1, loadBalancer: 'none', adapter: 'none', maxConnections: 2 },
    ]);
    lab = await startLab('streams', { ...(await testSettings()), lessonsDir });
  });
  after(() => lab?.down());

  test('the Streams adapter carries a room across instances', async () => {
    const health = await (await fetch(`http://127.0.0.1:${lab.settings.ports.instanceBase}/health`)).json();
    assert.equal(health.adapter, 'redis-streams');
    const clients = await lab.fleet.add(4, { rooms: ['lobby'] });
    assert.deepEqual(
      clients.map((c) => c.serverId),
      ['s1', 's2', 's1', 's2'],
    );
    const ack = await lab.fleet.send('c1', 'lobby', 'via a Redis stream');
    assert.ok(ack.ok, ack.ok ? '' : ack.error);
    await until('everyone receives', () => clients.every((c) => c.received.has(ack.msgId)));
  });

  test('SIGTERM drains: clients are told, the connection closes, and they come back on their own', async () => {
    const c = lab.fleet.get('c1');
    const told = new Promise<{ serverId: string }>((r) => c.socket.once('draining', r));
    const dropped = new Promise<string>((r) => c.socket.once('disconnect', r));
    const pid = lab.status().instances.find((i) => i.serverId === 's1')!.pid!;
    process.kill(pid, 'SIGTERM');
    assert.deepEqual(await told, { serverId: 's1' });
    assert.equal(await dropped, 'transport close', 'a closed transport, which the client answers by reconnecting');
    // PM2 restarts s1; the client reconnects to it and re-joins its room.
    await until('c1 back', () => c.socket.connected && c.serverId !== null, 10_000);
    await until('new s1 reported', () => lab.status().instances.find((i) => i.serverId === 's1')!.pid !== pid, 10_000);
  });

  test('a full instance refuses new clients clearly; those already in are unaffected', async () => {
    await lab.setStage('tiny');
    lab.fleet.remove();
    const url = `http://127.0.0.1:${lab.settings.ports.instanceBase}`;
    const seated = await Promise.all([connectClient(url, 'a'), connectClient(url, 'b')]);
    await assert.rejects(connectClient(url, 'c'), (err: Error & { data?: unknown }) => {
      assert.equal(err.message, 's1 is full (2 connections)');
      assert.deepEqual(err.data, { serverId: 's1' });
      return true;
    });
    assert.ok(seated.every((s) => s.socket.connected));
    await until('refusal reported', () => lab.hub.recent.some((e) => e.t === 'refused' && e.reason.includes('full')));
    for (const s of seated) s.socket.close();
  });
});
