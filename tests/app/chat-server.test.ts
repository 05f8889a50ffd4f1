// server/app on its own, in this process: a real Socket.IO server and real
// clients on free ports, as Socket.IO's own tests do. No PM2, no nginx, no lab;
// two instances share a real redis-server where the test is about crossing.
// Fast (seconds), and what a learner copying server/app relies on.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { io, type Socket } from 'socket.io-client';
import { type AppConfig, ConfigError, readConfig, toEnv } from '../../server/app/config.ts';
import type { ClientToServerEvents, ServerToClientEvents } from '../../server/app/protocol.ts';
import { type ChatServer, startChatServer } from '../../server/app/server.ts';
import { requireBinary } from '../../server/lab/binaries.ts';
import { findFreePortRange } from '../../server/lab/ports.ts';
import { repoRoot } from '../../server/lab/settings.ts';
import { startRedis, stopRedis } from '../../server/lab/services/redis.ts';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

const configOf = (values: Partial<Record<keyof AppConfig, unknown>>): AppConfig => readConfig(toEnv(values));

const clients: Client[] = [];
function connect(port: number, name: string, opts: { transports?: ('polling' | 'websocket')[] } = {}): Promise<Client> {
  const socket: Client = io(`http://127.0.0.1:${port}`, {
    forceNew: true,
    reconnection: false,
    auth: { name },
    transports: opts.transports ?? ['websocket'],
  });
  clients.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('welcome', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}
const closeClients = (): void => {
  for (const c of clients.splice(0)) c.close();
};

const servers: ChatServer[] = [];
async function start(values: Partial<Record<keyof AppConfig, unknown>>): Promise<ChatServer> {
  const server = await startChatServer(configOf({ drainMs: 0, ...values }));
  servers.push(server);
  return server;
}
async function stopAll(): Promise<void> {
  closeClients();
  await Promise.all(servers.splice(0).map((s) => s.drain()));
}

describe('server/app in process: one instance', () => {
  let port: number;
  before(async () => {
    port = await findFreePortRange(1);
    await start({ serverId: 's1', port, adapter: 'none', maxMessagesPerSecond: 5, maxRoomsPerSocket: 2 });
  });
  after(stopAll);

  test('members of a room get every message; the ack names the instance', async () => {
    const [a, b] = await Promise.all([connect(port, 'a'), connect(port, 'b')]);
    for (const c of [a!, b!])
      assert.deepEqual(await c.emitWithAck('join', 'lobby'), { ok: true, serverId: 's1', room: 'lobby' });
    const got = new Promise((resolve) => b!.once('chat', resolve));
    const ack = await a!.emitWithAck('chat', { room: 'lobby', text: 'hi', msgId: 'm1' });
    assert.deepEqual(ack, { ok: true, msgId: 'm1', serverId: 's1' });
    assert.deepEqual(await got, { msgId: 'm1', room: 'lobby', text: 'hi', from: 'a', serverId: 's1' });
    closeClients();
  });

  test('bad input is refused with a reason, and the connection stays', async () => {
    const a = await connect(port, 'a');
    const chat = a.emitWithAck.bind(a, 'chat') as (input: unknown) => Promise<{ ok: boolean; error?: string }>;
    assert.match((await chat({ room: 'nowhere', text: 'x' })).error ?? '', /unknown room "nowhere": join it first/);
    assert.equal((await chat({ room: 42, text: 'x' })).ok, false);
    assert.equal((await chat('not an object')).ok, false);
    assert.ok(a.connected);
    closeClients();
  });

  test('joins share the rate limit, and a client may be in so many rooms', async () => {
    const a = await connect(port, 'a');
    const replies = [];
    for (const room of ['r1', 'r2', 'r3']) replies.push(await a.emitWithAck('join', room));
    assert.deepEqual(
      replies.map((r) => (r.ok ? 'ok' : r.error)),
      ['ok', 'ok', 'at most 2 rooms per client'],
    );
    const more = [];
    for (let i = 0; i < 4; i++) more.push(await a.emitWithAck('join', 'r1'));
    assert.ok(
      more.some((r) => !r.ok && /rate limit/.test(r.error)),
      JSON.stringify(more),
    );
    closeClients();
  });
});

describe('server/app in process: limits', () => {
  after(stopAll);

  test('a full instance refuses a newcomer with a reason; those in stay', async () => {
    const port = await findFreePortRange(1);
    await start({ serverId: 's1', port, adapter: 'none', maxConnections: 1 });
    const first = await connect(port, 'first');
    await assert.rejects(connect(port, 'second'), (err: Error & { data?: unknown }) => {
      assert.equal(err.message, 's1 is full (1 connections)');
      assert.deepEqual(err.data, { serverId: 's1' });
      return true;
    });
    assert.ok(first.connected);
  });

  test('a packet over maxHttpBufferSize closes its sender only', async () => {
    const port = await findFreePortRange(1);
    await start({ serverId: 's2', port, adapter: 'none', maxHttpBufferBytes: 1024 });
    const [big, other] = await Promise.all([connect(port, 'big'), connect(port, 'other')]);
    const closed = new Promise<string>((resolve) => big.once('disconnect', resolve));
    big.emit('chat', { room: 'lobby', text: 'x'.repeat(1500) });
    assert.equal(await closed, 'transport close');
    assert.ok(other.connected);
  });
});

describe('server/app in process: two instances over a real Redis', () => {
  let redisPid = 0;
  let redisPort = 0;
  let runDir = '';
  let ports: [number, number];
  before(async () => {
    runDir = mkdtempSync(path.join(os.tmpdir(), 'lab-test-app-'));
    const base = await findFreePortRange(3);
    redisPort = base;
    ports = [base + 1, base + 2];
    redisPid = await startRedis(requireBinary('redis-server'), redisPort, runDir);
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    await start({ serverId: 's1', port: ports[0], redisUrl, redisKey: 'app-test' });
    await start({ serverId: 's2', port: ports[1], redisUrl, redisKey: 'app-test' });
  });
  after(async () => {
    await stopAll();
    if (redisPid) await stopRedis(redisPid, redisPort);
    rmSync(runDir, { recursive: true, force: true });
  });

  test('a room spans both instances; presence answers for both', async () => {
    const [a, b] = await Promise.all([connect(ports[0], 'a'), connect(ports[1], 'b')]);
    await Promise.all([a.emitWithAck('join', 'lobby'), b.emitWithAck('join', 'lobby')]);
    const got = new Promise<{ serverId: string }>((resolve) => b.once('chat', resolve));
    await a.emitWithAck('chat', { room: 'lobby', text: 'across' });
    assert.equal((await got).serverId, 's1');
    const who = await b.emitWithAck('who', 'lobby');
    assert.ok(who.ok);
    assert.deepEqual(who.members.map((m) => `${m.name}@${m.serverId}`).sort(), ['a@s1', 'b@s2']);
    const stats = await a.emitWithAck('stats');
    assert.ok(stats.ok);
    assert.deepEqual(stats.servers, { s1: 1, s2: 1 });
    closeClients();
  });

  test("a draining instance tells its own clients, not the other instance's", async () => {
    const [onS1, onS2] = await Promise.all([connect(ports[0], 'stays'), connect(ports[1], 'leaves')]);
    const told: string[] = [];
    onS1.on('draining', ({ serverId }) => told.push(`stays heard ${serverId}`));
    onS2.on('draining', ({ serverId }) => told.push(`leaves heard ${serverId}`));
    const s2 = servers.pop()!;
    await s2.drain();
    await new Promise((r) => setTimeout(r, 300)); // anything sent through Redis has arrived by now
    assert.deepEqual(told, ['leaves heard s2']);
  });
});

describe('server/app: settings and signals', () => {
  test('a bad setting is an error naming the variable, never a silent default', () => {
    assert.throws(
      () => readConfig({ RECOVERY: 'yes' }),
      (err: Error) => err instanceof ConfigError && /RECOVERY/.test(err.message),
    );
    assert.throws(
      () => readConfig({ PORT: 'abc' }),
      (err: Error) => err instanceof ConfigError && /PORT/.test(err.message),
    );
    assert.equal(readConfig({ RECOVERY: 'true' }).recovery, true);
  });

  test('SIGINT drains; a second SIGINT exits at once', async () => {
    const port = await findFreePortRange(1);
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'server/app/main.ts')], {
      cwd: repoRoot,
      env: { ...process.env, ...toEnv({ serverId: 's9', port, adapter: 'none', drainMs: 30_000 }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(`${code ?? signal}`)));
    const waitFor = async (text: string, ms: number): Promise<void> => {
      const deadline = Date.now() + ms;
      while (!out.includes(text) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(out.includes(text), `no "${text}" within ${ms} ms; the instance said: ${out}`);
    };
    try {
      await waitFor('listening', 60_000); // a cold tsx start on a busy machine can take a while
      child.kill('SIGINT');
      await waitFor('draining', 10_000);
      const secondAt = performance.now();
      child.kill('SIGINT');
      assert.equal(await exited, '1');
      assert.ok(performance.now() - secondAt < 5000, 'exited at once, not after the 30 s drain');
      assert.match(out, /SIGINT again: exiting now/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
