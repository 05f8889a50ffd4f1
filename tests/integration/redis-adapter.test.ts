// Lesson 5: the Redis adapter makes one room span every instance,
// in the lab and with the plain `pm2 start ecosystem.config.js`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { Lab } from '../../server/lab/lab.ts';
import { requireBinary } from '../../server/lab/binaries.ts';
import { findFreePortRange } from '../../server/lab/ports.ts';
import { isAlive } from '../../server/lab/processes.ts';
import { startRedis, stopRedis } from '../../server/lab/services/redis.ts';
import { repoRoot } from '../../server/lab/settings.ts';
import { connectClient, startLab, until } from '../helpers/lab.ts';

const run = promisify(execFile);

describe('stage "scaled": three instances, ip_hash, Redis adapter', () => {
  let lab: Lab;
  before(async () => {
    lab = await startLab('scaled');
  });
  after(() => lab?.down());

  test('a message sent on one instance reaches room members on every instance', async () => {
    const clients = await lab.fleet.add(6, { rooms: ['lobby'] });
    await until('all joined', () => lab.hub.snapshot().clients.filter((c) => c.rooms.includes('lobby')).length === 6);
    const servers = new Set(clients.map((c) => c.serverId));
    assert.equal(servers.size, 3, 'the fleet spans all three instances');

    for (const sender of clients.slice(0, 3)) {
      const ack = await lab.fleet.send(sender.id, 'lobby', `from ${sender.id}`);
      assert.ok(ack.ok, ack.ok ? '' : ack.error);
      await until(`everyone receives ${ack.msgId}`, () => clients.every((c) => c.received.has(ack.msgId)));
      for (const c of clients)
        assert.equal(c.received.get(ack.msgId)!.serverId, sender.serverId, 'serverId names the origin instance');
      // The lab saw the hop: delivered by instances other than the origin.
      await until('delivery telemetry', () => Object.keys(lab.hub.message(ack.msgId)?.delivered ?? {}).length === 6);
      const deliverers = new Set(Object.values(lab.hub.message(ack.msgId)!.delivered));
      assert.equal(deliverers.size, 3);
    }
  });
});

describe('pm2 start ecosystem.config.js, outside the lab', () => {
  const pm2Home = mkdtempSync(path.join(os.tmpdir(), 'lab-eco-'));
  const pm2 = path.join(repoRoot, 'node_modules', '.bin', 'pm2');
  let base = 0;
  let redisPort = 0;
  let redisPid = 0;
  const env = (): NodeJS.ProcessEnv => ({
    ...process.env,
    PM2_HOME: pm2Home,
    BASE_PORT: String(base),
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
  });

  before(async () => {
    base = await findFreePortRange(4);
    redisPort = base + 3;
    redisPid = await startRedis(requireBinary('redis-server'), redisPort, pm2Home);
  });
  after(async () => {
    await run(pm2, ['kill'], { env: env() }).catch(() => {});
    await stopRedis(redisPid, redisPort);
  });

  test('runs three fork-mode instances on distinct ports that share rooms through Redis', async () => {
    await run(pm2, ['start', 'ecosystem.config.js'], { env: env(), cwd: repoRoot });
    const { stdout } = await run(pm2, ['jlist'], { env: env() });
    const apps = JSON.parse(stdout) as { name: string; pid: number; pm2_env: { status: string; exec_mode: string } }[];
    assert.deepEqual(apps.map((a) => [a.name, a.pm2_env.exec_mode]).sort(), [
      ['s1', 'fork_mode'],
      ['s2', 'fork_mode'],
      ['s3', 'fork_mode'],
    ]);
    assert.ok(apps.every((a) => isAlive(a.pid)));

    const ports = [base, base + 1, base + 2];
    await until(
      'instances healthy',
      async () => {
        const ok = await Promise.all(
          ports.map((p) =>
            fetch(`http://127.0.0.1:${p}/health`).then(
              (r) => r.ok,
              () => false,
            ),
          ),
        );
        return ok.every(Boolean);
      },
      15_000,
    );
    const health = await Promise.all(ports.map(async (p) => (await fetch(`http://127.0.0.1:${p}/health`)).json()));
    assert.deepEqual(
      health.map((h) => [h.serverId, h.adapter]),
      [
        ['s1', 'redis'],
        ['s2', 'redis'],
        ['s3', 'redis'],
      ],
    );

    const clients = await Promise.all(ports.map((p, i) => connectClient(`http://127.0.0.1:${p}`, `u${i + 1}`)));
    for (const c of clients) assert.equal((await c.socket.emitWithAck('join', 'lobby')).ok, true);
    const got = new Set<string>();
    for (const c of clients) c.socket.on('chat', () => got.add(c.serverId));
    assert.equal((await clients[0]!.socket.emitWithAck('chat', { room: 'lobby', text: 'across' })).ok, true);
    await until('delivered on all three', () => got.size === 3);
    for (const c of clients) c.socket.close();
  });
});
