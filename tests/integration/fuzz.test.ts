// Thousands of malformed Socket.IO packets at one instance: it answers or
// drops each, never crashes, and a bystander's chat goes on untouched.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import type { Socket } from 'socket.io-client';
import type { Lab } from '../../server/lab/lab.ts';
import { connectClient, startLab } from '../helpers/lab.ts';

/** A small deterministic PRNG, so a failure can be replayed with the same seed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 0x100000000;
  };
}

const junkValues = (r: () => number): unknown[] => [
  null,
  true,
  0,
  -1,
  1e308,
  Number.MAX_SAFE_INTEGER,
  '',
  'x'.repeat(Math.floor(r() * 3000)),
  '<script>',
  '__proto__',
  [],
  [[[[[]]]]],
  {},
  { room: 5 },
  { room: 'lobby', text: { nested: [1, 2] } },
  { __proto__: { admin: true } },
  { constructor: { prototype: { x: 1 } } },
  { room: 'lobby', text: 'ok', msgId: '../../etc' },
  'lobby',
];

/** One Socket.IO-level packet, mostly well-framed but with hostile content, sometimes not framed at all. */
function fuzzPacket(r: () => number): string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const values = junkValues(r);
  const kind = r();
  if (kind < 0.15)
    return pick([
      '',
      '4',
      '42',
      '42[',
      '42]',
      '4{}',
      '9',
      '2probe',
      '6',
      '1',
      '42["chat"',
      'ÿÿ',
      '42[null]',
      '43',
      '4-1',
      '451-[]',
    ]);
  if (kind < 0.3) return `4${Math.floor(r() * 10)}${Math.floor(r() * 10)}${JSON.stringify(pick(values))}`;
  const event = pick(['chat', 'join', 'welcome', 'disconnect', '__proto__', 'constructor', '', 'x'.repeat(500)]);
  const args = Array.from({ length: Math.floor(r() * 3) }, () => pick(values));
  const ackId = r() < 0.5 ? String(Math.floor(r() * 1e6)) : '';
  return `42${ackId}${JSON.stringify([event, ...args])}`;
}

describe('fuzz: malformed packets at an instance', () => {
  let lab: Lab;
  let bystander: Socket;
  let url: string;
  before(async () => {
    lab = await startLab('start');
    url = `127.0.0.1:${lab.settings.ports.instanceBase}`;
    bystander = (await connectClient(`http://${url}`, 'bystander')).socket;
    assert.equal((await bystander.emitWithAck('join', 'lobby')).ok, true);
  });
  after(async () => {
    bystander?.close();
    await lab?.down();
  });

  test('4,000 hostile packets, then the instance is the same process, healthy, and serving', async () => {
    const pid = lab.status().instances[0]!.pid;
    const r = prng(20261123);
    let sent = 0;
    let connections = 0;
    let closedByServer = 0;
    const total = 4000;
    while (sent < total) {
      // A fresh raw connection: the parser may close it on garbage, which is its right.
      const ws = new WebSocket(`ws://${url}/socket.io/?EIO=4&transport=websocket`);
      connections++;
      let closingOurselves = false;
      await new Promise<void>((resolve) => {
        ws.on('error', () => resolve());
        ws.on('close', () => {
          if (!closingOurselves) closedByServer++;
          resolve();
        });
        ws.on('message', (data) => {
          const text = String(data);
          if (text.startsWith('0'))
            ws.send('40'); // open → connect to the main namespace
          else if (text.startsWith('40')) {
            // Small bursts: after a packet it cannot parse, the server closes the connection.
            for (let i = 0; i < 25 && sent < total; i++, sent++) ws.send(fuzzPacket(r));
            setTimeout(() => {
              closingOurselves = true;
              ws.close();
            }, 30);
          } else if (text === '2') ws.send('3'); // ping → pong
        });
        setTimeout(() => resolve(), 3000);
      });
      ws.terminate();
    }
    const health = await fetch(`http://${url}/health`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { pid: number }).pid, pid, 'never crashed or restarted');
    assert.equal(bystander.connected, true);
    const ack = await bystander.emitWithAck('chat', { room: 'lobby', text: 'still fine' });
    assert.equal(ack.ok, true);
    console.log(
      `  ${sent} fuzz packets over ${connections} connections (${closedByServer} closed by the server on a bad packet); instance pid unchanged, bystander unaffected`,
    );
  });
});
