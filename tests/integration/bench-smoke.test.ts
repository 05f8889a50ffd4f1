// `npm run bench`, in miniature: every workload through the programmatic API
// with tiny counts, on real labs. It checks the shape of the results and that
// every figure is a real measurement (finite, positive where it must be,
// percentiles in order), never how fast anything was: the machine is shared.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isPortFree } from '../../server/lab/ports.ts';
import type { LabSettings } from '../../server/lab/settings.ts';
import { Aborted, runBench, type BenchReport } from '../bench/bench.ts';
import type { CpuUse } from '../bench/cpu.ts';
import { Histogram, type Percentiles } from '../bench/histogram.ts';
import { writeReport } from '../bench/report.ts';
import { WORKLOADS } from '../bench/results.ts';
import { testSettings } from '../helpers/lab.ts';

function assertPercentiles(p: Percentiles, what: string): void {
  assert.ok(p.count > 0, `${what}: no samples`);
  for (const key of ['min', 'mean', 'p50', 'p90', 'p99', 'max'] as const) {
    assert.ok(Number.isFinite(p[key]) && p[key] >= 0, `${what}.${key} = ${p[key]}`);
  }
  assert.ok(
    p.min <= p.p50 && p.p50 <= p.p90 && p.p90 <= p.p99 && p.p99 <= p.max,
    `${what}: out of order ${JSON.stringify(p)}`,
  );
  assert.ok(p.max > 0, `${what}: max is 0`);
}

function assertCpu(cpu: CpuUse[], what: string, labels: string[]): void {
  for (const c of cpu) assert.ok(Number.isFinite(c.percent) && c.percent >= 0, `${what}: ${c.label} ${c.percent}`);
  for (const label of labels)
    assert.ok(
      cpu.some((c) => c.label === label),
      `${what}: no CPU figure for ${label} (${cpu.map((c) => c.label).join(', ')})`,
    );
}

/** Every number anywhere in the report is finite (NaN would become null in the JSON). */
function assertAllFinite(value: unknown, where: string): void {
  if (typeof value === 'number') assert.ok(Number.isFinite(value), `${where} = ${value}`);
  else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) assertAllFinite(v, `${where}[${i}]`);
  } else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) assertAllFinite(v, `${where}.${k}`);
}

async function assertLabGone(settings: LabSettings): Promise<void> {
  const { ports } = settings;
  for (const port of [
    ports.ui,
    ports.nginx,
    ports.redis,
    ports.instanceBase,
    ports.instanceBase + 1,
    ports.instanceBase + 2,
  ]) {
    assert.ok(await isPortFree(port), `port ${port} is still taken after the bench`);
  }
}

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
        seconds: 0.3,
        warmupSeconds: 0.1,
        rates: [200],
        receivers: 2,
        clients: 6,
        window: 4,
        connections: [30, 60],
        coldStarts: 1,
        switches: 1,
        rounds: 1,
        telemetryRate: 200,
        // Capacity has a file of its own (bench-capacity.test.ts): a test file has one time limit.
        only: WORKLOADS.filter((w) => w !== 'capacity'),
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
      ['single', 'direct-redis', 'nginx-redis', 'streams'],
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
        ...(l.config === 'nginx-redis' ? ['nginx'] : []),
      ]);
    }
  });

  test('fan-out: deliveries counted, clients spread over the instances', () => {
    assert.equal(report.fanout.length, 1);
    const f = report.fanout[0]!;
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
    assertCpu(f.cpu, 'fan-out', ['s1', 's2', 's3', 'redis', 'nginx', 'bench']);
  });

  test('memory: heap and RSS per instance at 0 and at each level', () => {
    const m = report.memory!;
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
    assertCpu(m.cpuWhileConnecting, 'memory', ['s1', 's2', 's3', 'bench']);
  });

  test('start-up: a cold start, both switch directions, a teardown', () => {
    const s = report.startup!;
    assert.equal(s.coldStartMs.length, 1);
    assert.deepEqual(
      s.switches.map((x) => `${x.from}>${x.to}`),
      ['scaled>ip-hash', 'ip-hash>scaled'],
    );
    for (const v of [...s.coldStartMs, ...s.switches.map((x) => x.ms), ...s.downMs])
      assert.ok(Number.isFinite(v) && v > 0, String(v));
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
    assert.ok((html.match(/<svg /g) ?? []).length >= 5, 'charts for latency, fan-out, memory, start-up and telemetry');
    assert.ok(!html.includes('NaN') && !html.includes('undefined'));
  });
});

describe('an interrupted bench', () => {
  test('aborting stops the run, rejects with Aborted, and brings the lab down', async () => {
    const settings = await testSettings();
    const controller = new AbortController();
    const run = runBench(
      { only: ['latency'], configs: ['single'], rates: [200], seconds: 30 },
      {
        settings,
        signal: controller.signal,
        onProgress: (line) => line.includes('sender on') && setTimeout(() => controller.abort(), 200),
      },
    );
    await assert.rejects(run, Aborted);
    await assertLabGone(settings);
  });
});
