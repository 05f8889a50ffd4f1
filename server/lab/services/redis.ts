// The lab's private Redis: its own port, bound to loopback, nothing saved to disk.

import net from 'node:net';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { LabError } from '../errors.ts';
import { assertPortFree } from '../ports.ts';
import { isAlive, isOurs, spawnService, stopProcess, waitFor } from '../processes.ts';

/** redis-server rewrites its process title to this, which identifies it by PID later. */
export const redisMarker = (port: number): string => `redis-server 127.0.0.1:${port}`;

export async function startRedis(bin: string, port: number, runDir: string): Promise<number> {
  await assertPortFree(port, 'Redis', 'LAB_REDIS_PORT');
  const log = path.join(runDir, 'redis.log');
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    runDir,
    '--daemonize',
    'no',
  ];
  const pid = await spawnService(bin, args, log, 'Redis');
  await waitFor(`Redis to answer PING on port ${port}`, 5000, async () => {
    if (!isAlive(pid)) throw new LabError(`redis-server exited at start:\n${tail(log)}`);
    return (await redisPing(port)) ? true : undefined;
  });
  return pid;
}

export async function stopRedis(pid: number, port: number): Promise<void> {
  await stopProcess(pid, redisMarker(port));
}

export const isOurRedis = (pid: number, port: number): boolean => isOurs(pid, redisMarker(port));

/** A bare PING over TCP: enough to know Redis is ready, without a client library. */
export function redisPing(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

/**
 * How many connections subscribe to `channel` (PUBSUB NUMSUB), over a bare
 * TCP connection; null when Redis does not answer.
 */
export function redisNumSub(port: number, channel: string, host = '127.0.0.1'): Promise<number | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    let reply = '';
    const done = (n: number | null): void => {
      socket.destroy();
      resolve(n);
    };
    socket.setTimeout(500, () => done(null));
    socket.once('error', () => done(null));
    // A RESP array, so the channel name may hold any character.
    const args = ['PUBSUB', 'NUMSUB', channel];
    socket.once('connect', () =>
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`),
    );
    socket.on('data', (data) => {
      reply += data.toString();
      // *2 $len channel :count
      const m = /:(\d+)\r\n$/.exec(reply);
      if (m) done(Number(m[1]));
      else if (reply.startsWith('-')) done(null);
    });
  });
}

function tail(file: string, lines = 8): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
