// Lesson 3's failure: round robin without stickiness breaks the polling handshake.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Lab } from '../../server/lab/lab.ts';
import { repoRoot } from '../../server/lab/settings.ts';
import { connectClient, startLab, until } from '../helpers/lab.ts';

const websocketOnly = readFileSync(
  path.join(repoRoot, 'lessons/03-round-robin/exercise/client-options.solution.ts'),
  'utf8',
);

describe('stage "round-robin": nginx round robin, no stickiness', () => {
  let lab: Lab;
  let url: string;
  before(async () => {
    lab = await startLab('round-robin');
    url = `http://127.0.0.1:${lab.settings.ports.nginx}`;
  });
  after(() => lab?.down());

  test('default transports: the handshake fails with HTTP 400 "Session ID unknown"', async () => {
    // One at a time, so each client's next request deterministically lands on another instance.
    for (let i = 1; i <= 6; i++) {
      const err = await connectClient(url, `rr${i}`).then(
        () => null,
        (e: Error & { description?: unknown; context?: { status?: number; responseText?: string } }) => e,
      );
      assert.ok(err, `rr${i} should not connect through round robin with polling`);
      // After the handshake the client sends its CONNECT (a POST) and opens a poll (a GET) at
      // once: whichever reaches another instance first fails.
      assert.match(err.message, /^xhr (post|poll) error$/);
      assert.equal(err.context?.status, 400);
    }
  });

  test('the same failure, request by request: the second request meets an instance that never saw the session', async () => {
    const handshake = await fetch(`${url}/socket.io/?EIO=4&transport=polling`);
    const first = handshake.headers.get('x-upstream');
    const sid = (JSON.parse((await handshake.text()).slice(1)) as { sid: string }).sid;
    const poll = await fetch(`${url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: '40' });
    assert.notEqual(poll.headers.get('x-upstream'), first, 'round robin sent the second request elsewhere');
    assert.equal(poll.status, 400);
    assert.deepEqual(await poll.json(), { code: 1, message: 'Session ID unknown' });
  });

  test('the lab records the failed handshakes of its own clients', async () => {
    await lab.fleet.add(2, { timeoutMs: 1500 });
    const failures = await until('handshake-failed events', () => {
      const f = lab.hub.recent.filter((e) => e.t === 'handshake-failed');
      return f.length >= 2 ? f : undefined;
    });
    assert.match(JSON.stringify(failures), /HTTP 400/);
    assert.ok(lab.fleet.list().every((c) => !c.socket.connected));
    lab.fleet.remove();
  });

  test('websocket-only clients connect, spread round robin, and are still split', async () => {
    const clients = await Promise.all(
      [1, 2, 3].map((i) => connectClient(url, `ws${i}`, { transports: ['websocket'] })),
    );
    assert.deepEqual(new Set(clients.map((c) => c.serverId)).size, 3, 'one client on each instance');
    for (const c of clients) assert.equal((await c.socket.emitWithAck('join', 'lobby')).ok, true);
    const received: string[] = [];
    for (const c of clients) c.socket.on('chat', () => received.push(c.serverId));
    const ack = await clients[0]!.socket.emitWithAck('chat', { room: 'lobby', text: 'hi' });
    assert.equal(ack.ok, true);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(received, [clients[0]!.serverId], "only the sender's instance delivers: no adapter");
    for (const c of clients) c.socket.close();
  });

  test("lesson 3's fix: with websocket-only client options the fleet reconnects, and connects", async () => {
    await lab.fleet.add(3, { timeoutMs: 1000 });
    // Round robin breaks polling sessions (one may be lucky: all its requests on one instance).
    assert.ok(
      lab.fleet.list().some((c) => !c.socket.connected),
      'polling first cannot connect through round robin',
    );
    lab.sources.overlay('server/app/client-options.ts', websocketOnly);
    const report = await lab.applyEdits({ rolling: true });
    assert.match(report.join('; '), /fleet: 3 clients reconnected \(new client options\)/);
    await until('fleet connected', () => lab.fleet.list().every((c) => c.socket.connected), 8000);
    assert.ok(lab.fleet.list().every((c) => c.transport === 'websocket'));
    lab.fleet.remove();
  });

  test('new clients take the current client options even when the fleet was empty when they changed', async () => {
    lab.sources.overlay('server/app/client-options.ts', null); // polling first again
    await lab.applyEdits({ rolling: true });
    lab.sources.overlay('server/app/client-options.ts', websocketOnly);
    await lab.applyEdits({ rolling: true }); // nobody to reconnect
    const added = await lab.fleet.add(3, { timeoutMs: 4000 });
    assert.ok(
      added.every((c) => c.socket.connected && c.transport === 'websocket'),
      added.map((c) => c.lastError).join('; '),
    );
    lab.fleet.remove();
  });
});
