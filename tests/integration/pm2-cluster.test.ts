// Lesson 6's start state: ecosystem.config.js asks PM2 for cluster mode, three
// workers sharing one port behind nginx. What the lesson claims must hold on
// the real stack: the workers are s1–s3 on one port, WebSocket clients connect
// (one connection, one worker), polling sessions break, a crashed worker comes
// back, and the learner's fix (fork mode) leaves exactly the right PM2 apps.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Lab } from '../../server/lab/lab.ts';
import { describeConnectError } from '../../server/lab/fleet.ts';
import { isAlive } from '../../server/lab/processes.ts';
import { repoRoot } from '../../server/lab/settings.ts';
import { connectClient, startLab, until } from '../helpers/lab.ts';

const clusterMode = readFileSync(path.join(repoRoot, 'lessons/06-pm2-cluster/exercise/ecosystem.config.js'), 'utf8');

describe('PM2 cluster mode (lesson 6)', () => {
  let lab: Lab;
  before(async () => {
    lab = await startLab('scaled');
    lab.sources.overlay('ecosystem.config.js', clusterMode);
    await lab.applyEdits({ rolling: false });
  });
  after(() => lab?.down());
  const nginx = (): string => `http://127.0.0.1:${lab.settings.ports.nginx}`;
  const instance = (id: string) => lab.status().instances.find((i) => i.serverId === id)!;

  test('three workers, s1–s3, all on the first instance port, each its own process', () => {
    const { instances } = lab.status();
    assert.deepEqual(
      instances.map((i) => i.serverId),
      ['s1', 's2', 's3'],
    );
    assert.ok(instances.every((i) => i.online && i.port === lab.settings.ports.instanceBase));
    assert.equal(new Set(instances.map((i) => i.pid)).size, 3);
  });

  test('WebSocket clients connect and PM2 spreads their connections over the workers', async () => {
    const clients = await Promise.all(
      Array.from({ length: 6 }, (_, i) => connectClient(nginx(), `ws${i}`, { transports: ['websocket'] })),
    );
    try {
      assert.ok(new Set(clients.map((c) => c.serverId)).size >= 2, `all on ${clients[0]!.serverId}`);
    } finally {
      for (const c of clients) c.socket.close();
    }
  });

  test('polling sessions fail with HTTP 400, though nginx is sticky', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        connectClient(nginx(), `poll${i}`, { transports: ['polling'] }).then(
          (c) => (c.socket.close(), 'connected'),
          (err: Error) => describeConnectError(err),
        ),
      ),
    );
    // HTTP 400 is Socket.IO's "Session ID unknown" (the body is not always read by the client).
    const unknown = outcomes.filter((o) => o.includes('HTTP 400')).length;
    assert.ok(unknown >= 2, `expected most handshakes to fail: ${outcomes.join(' | ')}`);
  });

  test('a crashed worker is restarted by PM2 under the same serverId', async () => {
    const pid = instance('s2').pid!;
    assert.match(await lab.fault({ target: 'instance', serverId: 's2', fault: 'crash' }), /s2: killed/);
    await until('the old worker gone', () => !isAlive(pid));
    await until('s2 back under a new pid', () => instance('s2').online && instance('s2').pid !== pid, 10_000);
  });

  test("the learner's fix (fork mode) replaces the cluster app with one app per port, and back", async () => {
    lab.sources.overlay('ecosystem.config.js', null); // the committed file: fork mode
    const toFork = await lab.applyEdits({ rolling: false });
    assert.ok(
      toFork.some((line) => /: stop$/.test(line)),
      toFork.join('; '),
    );
    const base = lab.settings.ports.instanceBase;
    assert.deepEqual(
      lab.status().instances.map((i) => [i.serverId, i.port]),
      [
        ['s1', base],
        ['s2', base + 1],
        ['s3', base + 2],
      ],
    );
    lab.sources.overlay('ecosystem.config.js', clusterMode);
    const toCluster = await lab.applyEdits({ rolling: false });
    assert.ok(
      toCluster.some((line) => /start 3 workers in cluster mode, all on \d+/.test(line)),
      toCluster.join('; '),
    );
    assert.deepEqual(
      lab.status().instances.map((i) => [i.serverId, i.port]),
      [
        ['s1', base],
        ['s2', base],
        ['s3', base],
      ],
    );
  });
});
