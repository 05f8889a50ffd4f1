// The bench's baseline, on its own: a stage with `server: "bare"` runs the
// bare server (tests/bench/bare/server.ts) under PM2, with no lab code in its
// processes, and it answers what the bench asks of it. bench-smoke.test.ts
// checks that the bench measures it and compares every figure with it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { io, type Socket } from 'socket.io-client';
import { describe, test } from 'node:test';
import { Lab } from '../../server/lab/lab.ts';
import { removeDir, writeBenchLessons } from '../bench/context.ts';
import { testSettings } from '../helpers/lab.ts';

describe('the bare server', () => {
  test('a "bare" stage runs the bare server under PM2 with no lab code, answering /health, /lab/memory and the chat protocol itself', async () => {
    const settings = await testSettings();
    const lessonsDir = writeBenchLessons();
    const lab = await Lab.up({ ...settings, lessonsDir }, 'bare');
    try {
      const pids = Object.values(lab.state.instancePids);
      assert.equal(pids.length, 3);
      for (const pid of pids) {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        assert.ok(
          cmdline.some((a) => a.includes('/.lab/build/server-bare-')),
          `not the bare server: ${cmdline.join(' ')}`,
        );
        assert.ok(!cmdline.includes('--import'), `a preload (the lab probe?) in ${cmdline.join(' ')}`);
      }
      // Its /health is its own, not the app's (the app also reports its broadcast kind).
      const health = JSON.parse(await get(settings.ports.instanceBase, '/health')) as Record<string, unknown>;
      assert.equal(health.serverId, 's1');
      assert.equal(health.adapter, 'redis');
      assert.ok(!('broadcast' in health), JSON.stringify(health));
      const memory = JSON.parse(await get(settings.ports.instanceBase, '/lab/memory?gc=1')) as Record<string, number>;
      assert.ok(memory.heapUsed! > 0 && memory.rss! > 0 && memory.connections === 0, JSON.stringify(memory));
      // The bench's protocol, across instances (the Redis adapter): s1's member gets what s3's sends.
      const [a, b] = await Promise.all(
        [0, 2].map((i) => connect(`http://127.0.0.1:${settings.ports.instanceBase + i}`, `c${i}`)),
      );
      try {
        assert.deepEqual([a!.welcome.serverId, b!.welcome.serverId], ['s1', 's3']);
        for (const c of [a!, b!])
          assert.deepEqual(await c.socket.timeout(5000).emitWithAck('join', 'room'), {
            ok: true,
            serverId: c.welcome.serverId,
            room: 'room',
          });
        const delivered = new Promise((resolve) => a!.socket.once('chat', resolve));
        const ack = (await b!.socket.timeout(5000).emitWithAck('chat', { room: 'room', text: 'hi', msgId: 'm1' })) as {
          ok: boolean;
        };
        assert.equal(ack.ok, true);
        assert.deepEqual(await delivered, { msgId: 'm1', room: 'room', text: 'hi', from: 'c2', serverId: 's3' });
      } finally {
        for (const c of [a, b]) c?.socket.close();
      }
    } finally {
      await lab.down();
      removeDir(lessonsDir);
    }
  });
});

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

async function connect(url: string, name: string): Promise<{ socket: Socket; welcome: { serverId: string } }> {
  const socket = io(url, { forceNew: true, reconnection: false, transports: ['websocket'], auth: { name } });
  const welcome = await new Promise<{ serverId: string }>((resolve, reject) => {
    socket.once('welcome', resolve);
    socket.once('connect_error', reject);
  });
  return { socket, welcome };
}
