// `npm run bench`, in miniature: every workload through the programmatic API
// with tiny counts, on real labs. It checks the shape of the results and that
// every figure is a real measurement (finite, positive where it must be,
// percentiles in order), never how fast anything was: the machine is shared.
// The bare server is the baseline of every figure: the bench must really run
// it (no lab code in its instances), measure it in the same run, and compare.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LabSettings } from '../../server/lab/settings.ts';
import { runBench, type BenchReport } from '../bench/bench.ts';
import { Histogram } from '../bench/histogram.ts';
import { writeReport } from '../bench/report.ts';
import type { MemoryResult } from '../bench/results.ts';
import { assertAllFinite, assertCpu, assertLabGone, assertPercentiles } from '../helpers/bench-asserts.ts';
import { testSettings } from '../helpers/lab.ts';

describe('the latency histogram', () => {
  test('percentiles match the exact ones within the histogram precision', () => {
    const h = new Histogram();
    const values: number[] = [];
    let seed = 7;
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const ms = 0.05 + (seed / 2 ** 31) ** 4 * 400; // long-tailed, 50 µs to 400 ms
      values.push(ms);
      h.recordMs(ms);
    }
    values.sort((a, b) => a - b);
    const s = h.summaryMs();
    for (const [p, got] of [
      [50, s.p50],
      [90, s.p90],
      [99, s.p99],
    ] as const) {
      const exact = values[Math.ceil((p / 100) * values.length) - 1]!;
      assert.ok(Math.abs(got - exact) <= exact * 0.002 + 0.002, `p${p}: ${got} vs ${exact}`);
    }
    assert.equal(s.count, values.length);
    assert.ok(Math.abs(s.max - values.at(-1)!) < 0.001);
    assertPercentiles(s, 'histogram');
  });
});

describe('npm run bench, in miniature', () => {
  let settings: LabSettings;
  let report: BenchReport;
  const progress: string[] = [];

  before(async () => {
    settings = await testSettings();
    report = await runBench(
      {
        // Start-up and capacity have files of their own (bench-startup, bench-capacity): one file, one time limit.
        only: ['latency', 'fanout', 'memory', 'telemetry', 'view'],
        seconds: 0.3,
        // Instances come fresh from a restart: on a busy machine a shorter warm-up can leave a
        // fan-out window with no message completed at all.
        warmupSeconds: 0.5,
        rates: [200],
        // Two of the lab's configurations (one instance; the bare server's
        // counterpart) and the bare server, which always runs: the whole file
        // must fit the runner's 180 s on a busy machine.
        configs: ['single', 'nginx-redis'],
        receivers: 2,
        clients: 6,
        window: 4,
        connections: [30, 60],
        rounds: 1,
        telemetryRate: 200,
        viewClients: 40,
      },
      { settings, onProgress: (line) => progress.push(line) },
    );
  });

  test('it reports progress and brings every lab down', async () => {
    assert.ok(progress.length > 5, progress.join('\n'));
    assert.ok(progress.at(-1)!.includes('lab down'), progress.at(-1));
    await assertLabGone(settings);
  });

  test('latency: every configuration, receivers away from the sender, percentiles in order', () => {
    assert.deepEqual(
      report.latency.map((l) => l.config),
      ['single', 'nginx-redis', 'bare'],
    );
    for (const l of report.latency) {
      const what = `latency ${l.config}`;
      assert.equal(l.rate, 200);
      assert.ok(l.sent > 0, what);
      assert.equal(l.expected, l.sent * l.receiversOn.length);
      assert.equal(l.receiversOn.length, 2);
      assert.ok(l.received > 0 && l.received <= l.expected, `${what}: received ${l.received} of ${l.expected}`);
      assert.equal(l.lost, l.expected - l.received);
      assert.equal(l.latencyMs.count, l.received);
      assert.ok(l.achievedRate > 0, what);
      if (l.config !== 'single')
        assert.ok(!l.receiversOn.includes(l.senderOn), `${what}: a receiver is on the sender's instance ${l.senderOn}`);
      assertPercentiles(l.latencyMs, `${what} latency`);
      assert.equal(l.sendLagMs.count, l.sent);
      assert.ok(l.sendLagMs.p50 <= l.sendLagMs.p99 && l.sendLagMs.p99 <= l.sendLagMs.max);
      const instances = l.config === 'single' ? ['s1'] : ['s1', 's2', 's3'];
      assertCpu(l.cpu, what, [
        ...instances,
        'bench',
        ...(l.config === 'single' ? [] : ['redis']),
        ...(l.config === 'nginx-redis' || l.config === 'bare' ? ['nginx'] : []),
      ]);
    }
  });

  test('fan-out: deliveries counted, clients spread over the instances, on the bare server and the lab', () => {
    assert.deepEqual(
      report.fanout.map((f) => f.config),
      ['bare', 'nginx-redis'],
    );
    for (const f of report.fanout) assertFanout(f);
  });

  function assertFanout(f: BenchReport['fanout'][number]): void {
    assert.equal(f.clients, 6);
    assert.equal(
      Object.values(f.spread).reduce((a, b) => a + b, 0),
      6,
    );
    assert.ok(Object.keys(f.spread).length > 1, `ip_hash put everyone on one instance: ${JSON.stringify(f.spread)}`);
    assert.ok(f.messages > 0 && f.deliveries > 0, JSON.stringify(f));
    assert.ok(f.deliveriesPerSec > 0 && f.messagesPerSec > 0);
    assert.ok(f.lost >= 0);
    assertPercentiles(f.latencyMs, 'fan-out latency');
    assertPercentiles(f.completionMs, 'fan-out completion');
    assertCpu(f.cpu, `fan-out ${f.config}`, ['s1', 's2', 's3', 'redis', 'nginx', 'bench']);
  }

  test('memory: heap and RSS per instance at 0 and at each level, for the lab and the bare server', () => {
    assert.equal(report.memory?.config, 'direct-redis');
    assert.equal(report.bareMemory?.config, 'bare');
    assertMemory(report.memory!);
    assertMemory(report.bareMemory!);
  });

  function assertMemory(m: MemoryResult): void {
    assert.equal(m.gcAvailable, true);
    assert.deepEqual(
      m.levels.map((l) => l.target),
      [0, 30, 60],
    );
    for (const level of m.levels) {
      assert.equal(level.connected, level.target);
      assert.equal(level.failed, 0);
      assert.deepEqual(
        level.instances.map((s) => s.serverId),
        ['s1', 's2', 's3'],
      );
      assert.equal(
        level.instances.reduce((a, s) => a + s.connections, 0),
        level.target,
        'the instances count every connection',
      );
      for (const s of level.instances) assert.ok(s.heapUsed > 0 && s.rss > 0 && s.pid > 0, JSON.stringify(s));
    }
    assert.equal(m.perConnection.length, 3);
    for (const p of m.perConnection)
      assert.ok(p.connections > 0 && Number.isFinite(p.heapKB) && Number.isFinite(p.rssKB), JSON.stringify(p));
    assert.ok(m.marginalKB && Number.isFinite(m.marginalKB.heap) && Number.isFinite(m.marginalKB.rss));
    assertCpu(m.cpuWhileConnecting, `memory ${m.config}`, ['s1', 's2', 's3', 'bench']);
  }

  test('every comparison is lab ÷ bare, from figures of this very run, with the goals judged', () => {
    const rows = report.vsBare;
    const find = (what: string): BenchReport['vsBare'][number] => {
      const row = rows.find((v) => v.what.startsWith(what));
      assert.ok(row, `no comparison "${what}" in ${rows.map((v) => v.what).join('; ')}`);
      return row;
    };
    assert.equal(rows.length, 2 * 2 + 1 + 2, rows.map((v) => v.what).join('; '));
    for (const v of rows) {
      // RSS per connection may be negative with a few dozen connections (V8 returns pages): finite is enough there.
      if (!v.what.includes('RSS')) assert.ok(v.lab > 0 && v.bare > 0, `${v.what}: lab ${v.lab}, bare ${v.bare}`);
      assert.equal(v.ratio, v.lab / v.bare, v.what);
    }
    // Latency: p50 and p99 of each lab configuration, against the bare run at the same rate.
    const bareLatency = report.latency.find((l) => l.config === 'bare')!;
    assert.equal(rows.filter((v) => v.what.startsWith('latency')).length, 2 * 2);
    assert.equal(find('latency p99, nginx ip_hash + Redis, 200/s').bare, bareLatency.latencyMs.p99);
    const bareFanout = report.fanout.find((f) => f.config === 'bare')!;
    const fanout = find('fan-out, nginx ip_hash + Redis');
    assert.equal(fanout.bare, bareFanout.deliveriesPerSec);
    assert.equal(fanout.goal?.met, fanout.ratio >= report.goals.fanoutMinRatio);
    assert.equal(find('memory per idle connection, heap').bare, report.bareMemory!.meanKB.heap);
    assert.equal(find('memory per idle connection, RSS').bare, report.bareMemory!.meanKB.rss);
  });

  test('view: the UI in Chromium under load, its frames counted and its search right', () => {
    const v = report.view!;
    assert.equal(v.connected, 40, 'every fleet client connected');
    assert.ok(Object.values(v.spread).filter((n) => n > 0).length >= 2, 'clients spread over instances');
    assert.ok(v.deliveriesPerSec > 0, 'messages were delivered while measuring');
    assert.ok(v.fps > 0 && v.worstFrameMs > 0, `frames measured: ${v.fps} fps, worst ${v.worstFrameMs} ms`);
    assert.equal(v.search.shown, v.search.expected, "the search names the client's instance");
    assert.ok(v.streamBytesPerSec > 0);
  });

  test('telemetry: on and off alternated, ratios of real figures', () => {
    const t = report.telemetry!;
    assert.deepEqual(
      t.phases.map((p) => p.telemetry),
      [true, false],
    );
    for (const p of t.phases) {
      assertPercentiles(p.latencyMs, `telemetry ${p.telemetry} latency`);
      assertPercentiles(p.fanoutLatencyMs, `telemetry ${p.telemetry} fan-out`);
      assert.ok(p.deliveriesPerSec > 0);
    }
    for (const [k, v] of Object.entries(t.ratios)) assert.ok(Number.isFinite(v) && v > 0, `${k} = ${v}`);
  });

  test('the JSON and HTML reports are written, and every number is finite', () => {
    assertAllFinite(report, 'report');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-report-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const files = writeReport(report, dir);
    assert.ok(existsSync(files.json) && existsSync(files.html));
    const json = JSON.parse(readFileSync(files.json, 'utf8')) as BenchReport;
    assert.equal(json.version, 1);
    assert.deepEqual(Object.keys(json).sort(), Object.keys(report).sort());
    const html = readFileSync(files.html, 'utf8');
    assert.ok(html.startsWith('<!doctype html>'));
    assert.ok(
      (html.match(/<svg /g) ?? []).length >= 6,
      'charts for latency, fan-out (lab and bare), memory, telemetry and the comparison with bare',
    );
    assert.ok(html.includes('f. The lab against the bare server'));
    assert.ok(!html.includes('NaN') && !html.includes('undefined'));
  });
});
