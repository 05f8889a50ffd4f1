// Bad input gets { ok: false, error }, the instance stays up, other clients are unaffected.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Socket } from 'socket.io-client';
import type { Lab } from '../../server/lab/lab.ts';
import { connectClient, startLab, until } from '../helpers/lab.ts';

describe('bad input on join, chat, who and stats', () => {
  let lab: Lab;
  let url: string;
  let bystander: Socket;
  let bad: Socket;
  before(async () => {
    lab = await startLab('start');
    url = `http://127.0.0.1:${lab.settings.ports.instanceBase}`;
    bystander = (await connectClient(url, 'bystander')).socket;
    bad = (await connectClient(url, 'mallory')).socket;
    assert.equal((await bystander.emitWithAck('join', 'lobby')).ok, true);
  });
  after(async () => {
    bystander?.close();
    bad?.close();
    await lab?.down();
  });

  test('join: wrong types and bad room names', async () => {
    for (const room of [5, null, {}, ['lobby'], '', 'has space', '<b>x</b>', 'x'.repeat(200), { toString: 'lobby' }]) {
      const ack = await bad.emitWithAck('join', room);
      assert.equal(ack.ok, false, JSON.stringify(room));
      assert.equal(typeof ack.error, 'string');
    }
  });

  test('chat: wrong types, huge text, unknown room, missing ack', async () => {
    const cases: [unknown, RegExp][] = [
      ['just a string', /payload must be an object/],
      [null, /payload must be an object/],
      [[1, 2], /payload must be an object/],
      [{ room: 'lobby', text: 42 }, /text must be a string/],
      [{ room: 'lobby' }, /text must be a string/],
      [{ room: 'lobby', text: 'x'.repeat(2001) }, /text is 2001 characters; the limit is 2000/],
      [{ room: 'lobby', text: 'hi', msgId: { $gt: '' } }, /msgId/],
      [{ room: 'lobby', text: 'hi' }, /unknown room "lobby": join it first/],
      [{ room: 'nowhere', text: 'hi' }, /unknown room "nowhere"/],
      [JSON.parse('{"room":"lobby","text":"hi","__proto__":{"admin":true}}'), /unknown room/],
    ];
    for (const [payload, error] of cases) {
      const ack = await bad.emitWithAck('chat', payload);
      assert.equal(ack.ok, false, JSON.stringify(payload));
      assert.match(ack.error, error);
    }
    bad.emit('chat', { room: 5 }); // no ack function at all
    bad.emit('chat'); // no arguments at all
  });

  test('who and stats: bad rooms and missing acks are refused or ignored; good questions answered', async () => {
    for (const room of [5, null, {}, '', 'x'.repeat(200)]) {
      const ack = await bad.emitWithAck('who', room);
      assert.equal(ack.ok, false, JSON.stringify(room));
      assert.equal(typeof ack.error, 'string');
    }
    bad.emit('who', 'lobby'); // no ack function
    bad.emit('stats', 'not a function');
    const who = await bystander.emitWithAck('who', 'lobby');
    assert.deepEqual(who, { ok: true, room: 'lobby', members: [{ name: 'bystander', serverId: 's1' }] });
    const stats = await bystander.emitWithAck('stats');
    assert.equal(stats.ok, true);
    assert.equal(stats.total, 2);
  });

  test('a flood is rate-limited per socket, not per instance', async () => {
    assert.equal((await bad.emitWithAck('join', 'flood')).ok, true);
    const acks = await Promise.all(
      Array.from({ length: 120 }, (_, i) => bad.emitWithAck('chat', { room: 'flood', text: `#${i}` })),
    );
    const limited = acks.filter((a) => !a.ok);
    assert.ok(limited.length >= 60, `${limited.length} of 120 refused`);
    assert.match(limited[0].error, /rate limit/);
    // The bystander's own messages still go through.
    assert.equal((await bystander.emitWithAck('chat', { room: 'lobby', text: 'still fine' })).ok, true);
  });

  test('a packet over maxHttpBufferSize closes only that connection', async () => {
    const { socket: big } = await connectClient(url, 'big', { transports: ['websocket'] });
    const reason = new Promise<string>((r) => big.once('disconnect', r));
    big.emit('chat', { room: 'lobby', text: 'x'.repeat(64 * 1024) });
    assert.equal(await reason, 'transport close');
    big.close();
    const health = await fetch(`${url}/health`);
    assert.equal(health.status, 200);
    assert.equal(bystander.connected, true);
    assert.equal((await bystander.emitWithAck('chat', { room: 'lobby', text: 'after the big one' })).ok, true);
  });

  test('the instance is still the same process, and healthy', async () => {
    const status = lab.status();
    const health = (await (await fetch(`${url}/health`)).json()) as { pid: number; serverId: string };
    assert.equal(health.serverId, 's1');
    assert.equal(health.pid, status.instances[0]!.pid, 'never crashed or restarted');
    await until('bystander still listed', () => lab.hub.snapshot().clients.some((c) => c.clientId === 'bystander'));
  });
});
