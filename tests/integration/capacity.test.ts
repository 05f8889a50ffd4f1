// Lesson 13's measurement, at a size a test can afford: a crowd of clients in
// worker processes is really connected (each instance counts it), and the
// capacity check's figures (connected, conn/s, KB per connection, the wall)
// are real, non-zero and agree with the instances' own /lab/memory.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CHECK_KINDS } from '../../server/lab/checks/index.ts';
import { getMemory } from '../../server/lab/health.ts';
import type { Lab } from '../../server/lab/lab.ts';
import { startLab, until } from '../helpers/lab.ts';

const N = 600;

describe('capacity: a crowd of clients, and what the check measures of it', () => {
  let lab: Lab;
  before(async () => {
    lab = await startLab('scaled');
  });
  after(() => lab?.down());

  const memories = async () =>
    Promise.all(
      lab.status().instances.map(async (i) => ({ serverId: i.serverId, m: (await getMemory(i.port, { gc: true }))! })),
    );

  let heapPerConnKb = 0;

  test(`a crowd of ${N} connects, spread, and every instance counts exactly the crowd's tally`, async () => {
    const before = await memories();
    const crowd = await lab.checkHost().crowd(N);
    try {
      const t = crowd.totals();
      assert.equal(t.connected, N, JSON.stringify(t.errors));
      assert.equal(t.workers, 1);
      assert.ok(t.seconds > 0 && t.rss > 0, `seconds ${t.seconds}, rss ${t.rss}`);
      const spread = Object.values(t.byServer).filter((n) => n > 0);
      assert.ok(spread.length >= 2, `spread: ${JSON.stringify(t.byServer)}`);
      const after = await memories();
      let heap = 0;
      for (const { serverId, m } of after) {
        const was = before.find((b) => b.serverId === serverId)!.m;
        assert.equal(m.connections - was.connections, t.byServer[serverId] ?? 0, `${serverId}'s own count`);
        heap += m.heapUsed - was.heapUsed;
      }
      heapPerConnKb = heap / N / 1024;
    } finally {
      await crowd.close();
    }
    // Closed means gone: the instances see every client leave.
    await until('every crowd client gone', async () => (await memories()).every((x) => x.m.connections === 0), 10_000);
  });

  test('the capacity check reports connected, conn/s and KB per connection, consistent with /lab/memory', async () => {
    const outcome = await CHECK_KINDS.capacity!.run(lab.checkHost(), { clients: N, maxKb: 50, stopAfterFailures: 500 });
    assert.ok(outcome.ok, outcome.detail);
    const m = outcome.measured!;
    assert.equal(m.connected, N);
    assert.equal(m.wall, 'none');
    assert.ok((m.connPerSec as number) > 0, outcome.detail);
    const kb = m.kbPerConnection as number;
    assert.ok(kb > 1 && kb < 50, `${kb} KB per connection`);
    // The same quantity measured by the test itself above, on another crowd: same order.
    assert.ok(heapPerConnKb > 1, `test's own measurement: ${heapPerConnKb} KB`);
    assert.ok(
      kb / heapPerConnKb < 3 && heapPerConnKb / kb < 3,
      `check ${kb} KB vs test ${heapPerConnKb.toFixed(1)} KB`,
    );
    assert.match(outcome.detail, new RegExp(`^${N} of ${N} clients connected in [\\d.]+ s \\([\\d,]+ conn/s; s\\d`));
  });

  test("with lesson 13's start file (one worker, 256 connections), the check names nginx's worker_connections", async () => {
    await lab.putVersion('13-capacity', 'start');
    const outcome = await CHECK_KINDS.capacity!.run(lab.checkHost(), { clients: N, maxKb: 50, stopAfterFailures: 100 });
    assert.equal(outcome.ok, false, outcome.detail);
    assert.equal(outcome.measured!.wall, 'nginx-worker-connections', outcome.detail);
    const connected = outcome.measured!.connected as number;
    // Two nginx connections per client: 256 hold at most 127 (less the listener).
    assert.ok(connected > 0 && connected <= 128, outcome.detail);
    assert.match(outcome.detail, /"256 worker_connections are not enough"/);
  });
});
