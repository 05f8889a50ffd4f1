// `npm run bench`'s buses section (i), in miniature: every bus the lab runs,
// on the same workload, through the programmatic API on real labs. It checks
// that each figure is a real measurement and that the verdicts follow from
// them ("sustained" means sent, nothing lost, rate kept), never how fast a bus
// was: the machine is shared.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LabSettings } from '../../server/lab/settings.ts';
import { runBench, type BenchReport } from '../bench/bench.ts';
import { BUS_CONFIGS } from '../bench/results.ts';
import { assertLabGone, assertPercentiles } from '../helpers/bench-asserts.ts';
import { testSettings } from '../helpers/lab.ts';

describe('npm run bench: the buses side by side', () => {
  let settings: LabSettings;
  let report: BenchReport;

  before(async () => {
    settings = await testSettings();
    report = await runBench(
      {
        only: ['buses'],
        seconds: 0.4,
        warmupSeconds: 0.4,
        busRates: [100, 300],
        receivers: 2,
        clients: 6,
        window: 4,
      },
      { settings },
    );
  });

  test('every bus is measured, in the table order, each in this run', () => {
    assert.deepEqual(
      report.buses.map((b) => b.config),
      BUS_CONFIGS.map((b) => b.id),
    );
  });

  test('latency is measured from receivers on instances other than the sender’s', () => {
    for (const b of report.buses) {
      assert.equal(b.receiversOn.length, 2, b.bus);
      if (b.config !== 'single')
        for (const on of b.receiversOn)
          assert.notEqual(on, b.senderOn, `${b.bus}: a receiver shares the sender's instance`);
      assert.ok(b.fixedRate.sent > 0, `${b.bus}: nothing sent at the fixed rate`);
      assertPercentiles(b.fixedRate.latencyMs, `${b.bus} latency`);
    }
  });

  test('"sustained" follows from the step’s own figures, and the ramp stops at the first rate not kept', () => {
    for (const b of report.buses) {
      for (const [i, s] of b.steps.entries()) {
        const kept = s.sent > 0 && s.lost === 0 && s.achievedRate >= 0.95 * s.rate;
        assert.equal(s.sustained, kept, `${b.bus} @${s.rate}: ${JSON.stringify(s)}`);
        if (!s.sustained) assert.equal(i, b.steps.length - 1, `${b.bus}: the ramp went on after ${s.rate}/s failed`);
      }
      const best = b.steps.filter((s) => s.sustained).at(-1)?.rate ?? 0;
      assert.equal(b.maxSustainedRate, best, b.bus);
    }
  });

  test('fan-out delivers to every member of the room, on every bus', () => {
    for (const b of report.buses) {
      assert.equal(b.fanout.clients, 6, b.bus);
      assert.ok(b.fanout.deliveries > 0, `${b.bus}: no fan-out deliveries`);
      assert.ok(b.fanout.messages > 0 && b.fanout.deliveriesPerSec > 0, b.bus);
      if (b.config !== 'single') assert.ok(Object.keys(b.fanout.spread).length >= 2, `${b.bus}: room on one instance`);
    }
  });

  after(async () => {
    await assertLabGone(settings);
  });
});
