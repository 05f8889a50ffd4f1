// `npm run bench`'s capacity workload in miniature: 150 clients instead of
// 10,000, on a real lab. It checks that every figure is a real measurement
// (the instances counted the connections, Redis counted the publishes, every
// killed client came back), never how fast: the machine is shared.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { LabSettings } from '../../server/lab/settings.ts';
import { runBench, type BenchReport } from '../bench/bench.ts';
import { renderHtml } from '../bench/html.ts';
import { formatReport } from '../bench/table.ts';
import { assertAllFinite, assertCpu, assertLabGone, assertPercentiles } from '../helpers/bench-asserts.ts';
import { testSettings } from '../helpers/lab.ts';

describe('npm run bench, capacity in miniature', () => {
  let settings: LabSettings;
  let report: BenchReport;

  before(async () => {
    settings = await testSettings();
    report = await runBench({ only: ['capacity'], capacity: 150, pollingClients: 20, seconds: 0.3 }, { settings });
  });

  test('capacity: every client connected and spread, memory per connection, chat through Redis, two kills', () => {
    assert.deepEqual(
      report.capacity.map((c) => c.config),
      ['nginx-redis', 'bare'],
    );
    for (const c of report.capacity) assertCapacity(c);
  });

  test('the lab against the bare server: capacity figures side by side, each ratio lab ÷ bare', () => {
    const [lab, bare] = report.capacity;
    const row = report.vsBare.find((v) => v.what.startsWith('capacity: heap per connection'));
    assert.ok(row, report.vsBare.map((v) => v.what).join('\n'));
    assert.equal(row.lab, lab!.meanKB.heap);
    assert.equal(row.bare, bare!.meanKB.heap);
    assert.equal(row.ratio, lab!.meanKB.heap / bare!.meanKB.heap);
    assert.ok(report.vsBare.some((v) => v.what.startsWith('capacity: kill -9, 99 % back')));
  });

  test('its report has the ramp, memory and reconnect charts, every number finite', async () => {
    assertAllFinite(report, 'report');
    const html = renderHtml(report);
    assert.ok(html.includes('g. Capacity'));
    assert.ok(
      (html.match(/<svg /g) ?? []).length >= 6,
      'for the lab and the bare server: connections over time, memory per connection, reconnects',
    );
    assert.ok(!html.includes('NaN') && !html.includes('undefined'));
    assert.ok(formatReport(report).includes('kill -9'));
    await assertLabGone(settings);
  });
});

/** One capacity result (the lab's or the bare server's): every figure a real measurement. */
function assertCapacity(c: BenchReport['capacity'][number]): void {
  assert.equal(c.ramps.length, 3, 'the measured ramp, then one before each kill');
  for (const ramp of c.ramps) {
    assert.equal(ramp.connected, 150, `${ramp.failed} failed: ${ramp.errors.join('; ')}`);
    assert.ok(
      Object.keys(ramp.spread).length > 1,
      `ip_hash put everyone on one instance: ${JSON.stringify(ramp.spread)}`,
    );
    assert.equal(ramp.timeline.at(-1)!.connected, 150);
    assert.ok(ramp.perSecond > 0);
  }
  assert.equal(c.polling?.connected, 20, `long-polling clients: ${JSON.stringify(c.polling)}`);
  // The instances counted every connection the bench made, and each gained memory for them.
  const gained =
    c.memoryAfter.reduce((a, s) => a + s.connections, 0) - c.memoryBefore.reduce((a, s) => a + s.connections, 0);
  assert.equal(gained, 150);
  for (const p of c.perConnection.filter((x) => x.connections > 0))
    assert.ok(p.heapKB > 0 && Number.isFinite(p.rssKB), JSON.stringify(p));
  assert.ok(c.meanKB.heap > 0 && (c.clientKB === null || c.clientKB > 0));

  const chat = c.chat!;
  assert.equal(chat.rooms, 3);
  assert.ok(chat.sent > 0);
  assert.equal(chat.expected, chat.sent * 50);
  assert.equal(chat.lost, chat.expected - chat.received);
  assert.ok(chat.received > 0);
  assertPercentiles(chat.latencyMs, 'capacity chat latency');
  // Rooms span instances (ip_hash), so some deliveries crossed Redis, and Redis's own counter saw the publishes.
  assertPercentiles(chat.crossInstanceMs, 'capacity cross-instance latency');
  assert.ok(chat.redisPublishPerMessage >= 1, `PUBLISH per chat message: ${chat.redisPublishPerMessage}`);
  assertCpu(chat.cpu, 'capacity chat', ['s1', 's2', 's3', 'redis', 'nginx', 'bench']);

  assert.deepEqual(
    c.kills.map((k) => k.jitter),
    [0.5, 0],
  );
  for (const k of c.kills) {
    assert.ok(k.clients > 0, 'the killed instance had clients');
    assert.equal(k.reconnected, k.clients, `${k.clients - k.reconnected} never came back`);
    assert.ok(k.msTo99 !== null && k.firstMs !== null && k.lastMs !== null);
    assert.equal(
      k.histogram.reduce((a, b) => a + b.count, 0),
      k.reconnected,
    );
    assert.equal(
      Object.values(k.landedOn).reduce((a, b) => a + b, 0),
      k.reconnected,
    );
  }
  // Without jitter every client waits exactly reconnectionDelay (1 s) before its first attempt.
  assert.ok(c.kills[1]!.firstMs! >= 990, `jitter 0, yet a client was back after ${c.kills[1]!.firstMs} ms`);
}
