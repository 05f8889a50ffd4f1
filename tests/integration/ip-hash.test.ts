// Lesson 4: ip_hash makes sessions sticky; the NAT trap puts one /24 on one instance.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Lab } from '../../server/lab/lab.ts';
import { startLab, testSettings, until } from '../helpers/lab.ts';

describe('stage "ip-hash": sticky sessions by client address', () => {
  let lab: Lab;
  before(async () => {
    lab = await startLab('ip-hash');
  });
  after(() => lab?.down());

  test('clients from distinct /24 sources spread over the instances, handshake by polling, upgrade to websocket', async () => {
    const clients = await lab.fleet.add(6, { source: 'distinct' });
    assert.ok(
      clients.every((c) => c.socket.connected),
      clients.map((c) => `${c.id}: ${c.lastError}`).join('; '),
    );
    const servers = new Set(clients.map((c) => c.serverId));
    assert.ok(servers.size >= 2, `spread over ${[...servers].join(', ')}`);

    await until('every client upgraded', () => clients.every((c) => c.transport === 'websocket'));
    // Each started on polling (which needs stickiness) and was upgraded on the same instance.
    for (const c of clients) {
      const connected = lab.hub.recent.find((e) => e.t === 'connected' && e.clientId === c.id);
      assert.ok(connected && connected.t === 'connected');
      assert.equal(connected.transport, 'polling');
      assert.equal(connected.serverId, c.serverId, `${c.id}: the lab's view matches the client's welcome`);
    }
    await until(
      'upgrade telemetry',
      () => lab.hub.snapshot().clients.filter((c) => c.transport === 'websocket').length === 6,
    );
  });

  test('clients that all come from 127.0.0.1 (one NAT) all land on one instance', async () => {
    const clients = await lab.fleet.add(6, { source: 'shared' });
    assert.ok(clients.every((c) => c.socket.connected));
    assert.equal(
      new Set(clients.map((c) => c.serverId)).size,
      1,
      clients.map((c) => `${c.id}@${c.serverId}`).join(' '),
    );
  });

  test('status and the hub agree on connection counts per instance', async () => {
    await until('telemetry settled', () => lab.hub.snapshot().clients.length === 12);
    const counts: Record<string, number> = {};
    for (const c of lab.fleet.list()) counts[c.serverId!] = (counts[c.serverId!] ?? 0) + 1;
    for (const i of lab.status().instances) assert.equal(i.connections, counts[i.serverId] ?? 0, i.serverId);
  });
});

describe('ip_hash without loopback aliases (as on macOS): X-Forwarded-For through nginx realip', () => {
  let lab: Lab;
  before(async () => {
    lab = await startLab('ip-hash', { ...(await testSettings()), fleetSources: 'header' });
  });
  after(() => lab?.down());

  test('clients still spread over the instances, stick, and upgrade: the hash follows the header', async () => {
    const clients = await lab.fleet.add(6);
    assert.ok(clients.every((c) => c.socket.connected));
    assert.ok(new Set(clients.map((c) => c.serverId)).size >= 2);
    await until('every client upgraded', () => clients.every((c) => c.transport === 'websocket'));
    await until('telemetry', () => lab.hub.snapshot().clients.length === 6);
    // Every TCP connection comes from 127.0.0.1; only the header differs. The lab agrees on who is where.
    for (const c of clients) {
      const view = lab.hub.snapshot().clients.find((v) => v.clientId === c.id)!;
      assert.equal(view.serverId, c.serverId);
    }
  });
});
