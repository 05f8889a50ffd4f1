// `npm run bench`'s start-up workload, in miniature, and an interrupted bench
// (a file of their own: with the other workloads they would not fit the
// runner's 180 s on a busy machine).
// Cold starts and switches of the lab and of the bare server are measured in
// the same run, and the goals are judged from exactly those figures. How fast
// anything was is never checked here: the machine is shared.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { LabSettings } from '../../server/lab/settings.ts';
import { Aborted, runBench, type BenchReport } from '../bench/bench.ts';
import { assertLabGone } from '../helpers/bench-asserts.ts';
import { testSettings } from '../helpers/lab.ts';

describe('npm run bench -- --only startup, in miniature', () => {
  let settings: LabSettings;
  let report: BenchReport;

  before(async () => {
    settings = await testSettings();
    report = await runBench({ only: ['startup'], coldStarts: 1, switches: 1 }, { settings });
  });

  test('every lab is down afterwards', async () => {
    await assertLabGone(settings);
  });

  test('start-up: a cold start, both switch directions, a teardown, for the lab and the bare server', () => {
    for (const [s, stage, other] of [
      [report.startup!, 'scaled', 'ip-hash'],
      [report.bareStartup!, 'bare', 'bare-ip-hash'],
    ] as const) {
      assert.equal(s.stage, stage);
      assert.equal(s.coldStartMs.length, 1);
      assert.deepEqual(
        s.switches.map((x) => `${x.from}>${x.to}`),
        [`${stage}>${other}`, `${other}>${stage}`],
      );
      for (const v of [...s.coldStartMs, ...s.switches.map((x) => x.ms), ...s.downMs])
        assert.ok(Number.isFinite(v) && v > 0, String(v));
    }
  });

  test('cold start and stage switch are compared with the bare server, from these very figures', () => {
    const find = (what: string): BenchReport['vsBare'][number] => {
      const row = report.vsBare.find((v) => v.what.startsWith(what));
      assert.ok(row, `no comparison "${what}" in ${report.vsBare.map((v) => v.what).join('; ')}`);
      return row;
    };
    assert.equal(report.vsBare.length, 2);
    const cold = find('cold start');
    assert.equal(cold.bare, report.bareStartup!.coldStartMs[0]);
    assert.equal(cold.lab, report.startup!.coldStartMs[0]);
    assert.equal(cold.ratio, cold.lab / cold.bare);
    assert.equal(cold.goal?.met, cold.ratio <= report.goals.coldStartMaxRatio);
    const sw = find('stage switch');
    assert.equal(sw.lab, Math.max(...report.startup!.switches.map((x) => x.ms)));
    assert.equal(sw.bare, Math.max(...report.bareStartup!.switches.map((x) => x.ms)));
    assert.equal(sw.goal?.met, sw.lab <= report.goals.switchMaxMs);
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
