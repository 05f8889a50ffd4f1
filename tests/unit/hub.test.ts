import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { InstanceEvent } from '../../server/lab/telemetry/events.ts';
import { TelemetryHub } from '../../server/lab/telemetry/hub.ts';

const at = 1;
const connect = (serverId: string, socketId: string, clientId: string): InstanceEvent => ({
  t: 'connected',
  serverId,
  at,
  socketId,
  clientId,
  transport: 'polling',
  address: '127.0.0.1',
  recovered: false,
});
const join = (serverId: string, socketId: string, room: string, when = at): InstanceEvent => ({
  t: 'joined',
  serverId,
  at: when,
  socketId,
  room,
});

function twoInstances(): TelemetryHub {
  const hub = new TelemetryHub();
  hub.publish({ t: 'instance-up', serverId: 's1', at, pid: 10, port: 3001, adapter: 'none', broadcast: 'rooms' });
  hub.publish({ t: 'instance-up', serverId: 's2', at, pid: 20, port: 3002, adapter: 'none', broadcast: 'rooms' });
  for (const [s, sock, name] of [
    ['s1', 'a', 'alice'],
    ['s2', 'b', 'bob'],
    ['s2', 'c', 'carol'],
  ] as const) {
    hub.publish(connect(s, sock, name));
    hub.publish(join(s, sock, 'lobby'));
  }
  return hub;
}

describe('telemetry hub', () => {
  test("a message's expected recipients are its room's members now: not those who left, were dropped or joined elsewhere", () => {
    const hub = twoInstances();
    hub.publish(connect('s1', 'd', 'dave'));
    hub.publish(join('s1', 'd', 'kitchen'));
    hub.publish({ t: 'disconnected', serverId: 's2', at, socketId: 'c', reason: 'client namespace disconnect' });
    // bob's socket id comes back (a recovered session) with no rooms yet: not a member of #lobby any more.
    hub.publish(connect('s1', 'b', 'bob'));
    const send = (msgId: string): void =>
      hub.publish({
        t: 'received',
        serverId: 's1',
        at: 2,
        msgId,
        room: 'lobby',
        from: 'alice',
        socketId: 'a',
        publishedAt: null,
      });
    send('m1');
    assert.deepEqual(hub.message('m1')!.expected, ['alice']);
    hub.publish(join('s1', 'b', 'lobby'));
    // An instance restarted under the same id: whoever it held is gone, from every room.
    hub.publish({ t: 'instance-up', serverId: 's1', at, pid: 11, port: 3001, adapter: 'none', broadcast: 'rooms' });
    send('m2');
    assert.deepEqual(hub.message('m2')!.expected, []);
    // The index survives a round trip through a snapshot (the UI rebuilds its hub from one).
    const copy = TelemetryHub.fromSnapshot(twoInstances().snapshot());
    copy.publish({
      t: 'received',
      serverId: 's1',
      at: 2,
      msgId: 'm3',
      room: 'lobby',
      from: 'alice',
      socketId: 'a',
      publishedAt: null,
    });
    assert.deepEqual(copy.message('m3')!.expected.sort(), ['alice', 'bob', 'carol']);
  });

  test("a write to a socket that already left is still the departed client's (lesson 1's leak shows)", () => {
    const hub = twoInstances();
    hub.publish({ t: 'disconnected', serverId: 's2', at, socketId: 'c', reason: 'client namespace disconnect' });
    hub.publish({ t: 'delivered', serverId: 's2', at, deliveries: [{ msgId: 'm9', socketIds: ['c'], at }] });
    assert.deepEqual(hub.message('m9')!.delivered, { carol: 's2' });
  });

  test('expected vs delivered, whichever report arrives first', () => {
    const hub = twoInstances();
    hub.publish({ t: 'delivered', serverId: 's2', at, deliveries: [{ msgId: 'm1', socketIds: ['b'], at }] }); // before 'received'
    hub.publish({
      t: 'received',
      serverId: 's1',
      at,
      msgId: 'm1',
      room: 'lobby',
      from: 'alice',
      socketId: 'a',
      publishedAt: null,
    });
    hub.publish({ t: 'delivered', serverId: 's1', at, deliveries: [{ msgId: 'm1', socketIds: ['a'], at }] });
    const m = hub.message('m1')!;
    assert.equal(m.origin, 's1');
    assert.deepEqual(m.expected.sort(), ['alice', 'bob', 'carol']);
    assert.deepEqual(m.delivered, { bob: 's2', alice: 's1' });
  });

  test('expected recipients are judged by event time, not by the order reports arrive in', () => {
    const hub = twoInstances();
    hub.publish(connect('s2', 'd', 'dave'));
    // s1 reports a message sent at t=100 before s2 reports that dave joined at t=50:
    hub.publish({
      t: 'received',
      serverId: 's1',
      at: 100,
      msgId: 'm',
      room: 'lobby',
      from: 'alice',
      socketId: 'a',
      publishedAt: null,
    });
    hub.publish(join('s2', 'd', 'lobby', 50));
    // ...and erin, who joined after the message, is not expected to have it.
    hub.publish(connect('s2', 'e', 'erin'));
    hub.publish(join('s2', 'e', 'lobby', 150));
    assert.deepEqual(hub.message('m')!.expected.sort(), ['alice', 'bob', 'carol', 'dave']);
    // A delivery proves membership even if the join report never came.
    hub.publish(connect('s1', 'f', 'frank'));
    hub.publish({ t: 'delivered', serverId: 's1', at: 101, deliveries: [{ msgId: 'm', socketIds: ['f'], at }] });
    assert.ok(hub.message('m')!.expected.includes('frank'));
  });

  test("a recovered session on a new instance survives the old instance's late goodbye", () => {
    const hub = twoInstances();
    hub.publish(connect('s2', 'a', 'alice')); // alice's session "a" recovered on s2
    hub.publish({ t: 'disconnected', serverId: 's1', at, socketId: 'a', reason: 'transport close' });
    assert.equal(hub.snapshot().clients.find((c) => c.socketId === 'a')?.serverId, 's2');
  });

  test('the reason for a missing delivery is what the lab knows', () => {
    const hub = twoInstances();
    hub.publish({
      t: 'received',
      serverId: 's1',
      at: 5,
      msgId: 'm',
      room: 'lobby',
      from: 'alice',
      socketId: 'a',
      publishedAt: null,
    });
    assert.equal(hub.missingReason(hub.message('m')!, 'bob'), 'no adapter: s1 cannot reach s2');
    hub.publish({ t: 'instance-up', serverId: 's1', at, pid: 10, port: 3001, adapter: 'redis', broadcast: 'rooms' });
    hub.lab({ t: 'redis', port: 6390, running: false });
    assert.equal(hub.missingReason(hub.message('m')!, 'bob'), 'Redis is down');
    hub.publish({ t: 'instance-state', serverId: 's2', at, port: 3002, pid: null, online: false });
    assert.equal(hub.missingReason(hub.message('m')!, 'bob'), 'disconnected');
  });

  test('history is history: once settled, a row keeps its route and its reasons, whatever happens later', () => {
    const hub = twoInstances();
    hub.publish({
      t: 'received',
      serverId: 's1',
      at: 1000,
      msgId: 'old',
      room: 'lobby',
      from: 'alice',
      socketId: 'a',
      publishedAt: null,
    });
    hub.publish({
      t: 'delivered',
      serverId: 's1',
      at: 1001,
      deliveries: [{ msgId: 'old', socketIds: ['a'], at: 1001 }],
    });
    assert.equal(hub.message('old')!.settled, null, 'not settled while deliveries may still arrive');
    hub.publish({ t: 'sample', serverId: 's1', at: 2600, loopDelayP99Ms: 1, rss: 1, heapUsed: 1, connections: 1 });
    const settled = hub.message('old')!.settled;
    assert.deepEqual(settled?.missing, {
      bob: 'no adapter: s1 cannot reach s2',
      carol: 'no adapter: s1 cannot reach s2',
    });
    // Later: nginx comes up, s2 goes down. The row says what was true when the message travelled.
    hub.lab({ t: 'nginx', port: 8080, mode: 'ip-hash' });
    hub.publish({ t: 'instance-state', serverId: 's2', at: 3000, port: 3002, pid: null, online: false });
    assert.deepEqual(hub.message('old')!.settled, settled);
    assert.equal(hub.message('old')!.viaNginx, false);
  });

  test('connection counts follow connects, disconnects and instance restarts', () => {
    const hub = twoInstances();
    assert.equal(hub.connectionsOf('s2'), 2);
    hub.publish({ t: 'disconnected', serverId: 's2', at, socketId: 'b', reason: 'client namespace disconnect' });
    assert.equal(hub.connectionsOf('s2'), 1);
    // s2 restarted under a new pid: its old sockets are gone with the old process.
    hub.publish({ t: 'instance-up', serverId: 's2', at, pid: 21, port: 3002, adapter: 'redis', broadcast: 'rooms' });
    assert.equal(hub.connectionsOf('s2'), 0);
    assert.equal(hub.connectionsOf('s1'), 1);
    hub.publish({ t: 'instance-state', serverId: 's1', at, port: 3001, pid: null, online: false });
    assert.equal(hub.connectionsOf('s1'), 0);
    hub.publish({ t: 'instance-removed', serverId: 's1', at });
    assert.deepEqual(
      hub.snapshot().instances.map((i) => i.serverId),
      ['s2'],
    );
  });

  test('a hub rebuilt from a snapshot (as the UI does) folds further events the same way', () => {
    const hub = twoInstances();
    const copy = TelemetryHub.fromSnapshot(JSON.parse(JSON.stringify(hub.snapshot())));
    const more: InstanceEvent[] = [
      { t: 'upgraded', serverId: 's1', at, socketId: 'a', transport: 'websocket' },
      { t: 'received', serverId: 's2', at, msgId: 'm2', room: 'lobby', from: 'bob', socketId: 'b', publishedAt: null },
      { t: 'delivered', serverId: 's2', at, deliveries: [{ msgId: 'm2', socketIds: ['b', 'c'], at }] },
    ];
    for (const e of more) {
      hub.publish(e);
      copy.publish(e);
    }
    assert.deepEqual(copy.snapshot(), hub.snapshot());
  });

  test('subscribers see every event; recent events are bounded', () => {
    const hub = new TelemetryHub();
    const seen: string[] = [];
    const stop = hub.subscribe((e) => seen.push(e.t));
    hub.lab({ t: 'progress', step: 'x' });
    stop();
    hub.lab({ t: 'progress', step: 'y' });
    assert.deepEqual(seen, ['progress']);
    for (let i = 0; i < 12_000; i++) hub.lab({ t: 'progress', step: String(i) });
    assert.ok(hub.recent.length >= 5000 && hub.recent.length <= 10_000, String(hub.recent.length));
    assert.deepEqual(
      hub.recent.at(-1),
      { t: 'progress', step: '11999', at: hub.recent.at(-1)!.at },
      'the newest is kept',
    );
  });
});
