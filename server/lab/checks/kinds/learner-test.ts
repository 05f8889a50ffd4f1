import { z } from 'zod';
import { defineCheck, fail, pass } from '../kind.ts';

export default defineCheck({
  about:
    "runs the learner's own Playwright tests (tests/learner) against the lab: `expect: catches-split` wants them to " +
    'FAIL because a message did not cross instances; `expect: passes` wants them all to pass. Either way the lab ' +
    "checks, from its telemetry, that the tests' tabs really were on two instances",
  params: z.object({ expect: z.enum(['catches-split', 'passes']).default('passes') }),
  measures: { tabsOnInstances: "how many instances the tests' browser tabs were on" },
  async run(host, p) {
    const run = await host.runLearnerTests();
    if (run.crashed) return fail(`your tests did not run: ${run.crashed}`);
    if (run.tests.length === 0) return fail('no test ran: write one in tests/learner/*.spec.ts');
    const tabs = host.clientsSeenSince(run.since).filter((c) => !/^(c|check)\d/.test(c.clientId));
    const instances = new Set(tabs.map((t) => t.serverId));
    const on = tabs.map((t) => `${t.clientId} on ${t.serverId}`).join(', ') || 'no tab at all';
    const measured = { tabsOnInstances: instances.size };
    const failed = run.tests.filter((t) => !t.ok);
    if (p.expect === 'passes') {
      if (failed.length > 0) return fail(`your test "${failed[0]!.title}" failed: ${failed[0]!.error}`, measured);
      if (instances.size < 2) {
        return fail(
          `your tests passed, but the lab saw ${on}: a cross-instance test needs tabs on two instances`,
          measured,
        );
      }
      return pass(`your ${run.tests.length} test(s) passed, with tabs ${on}`, measured);
    }
    if (failed.length === 0) {
      const why = instances.size < 2 ? ` (the lab saw ${on}: both ends on one instance cannot show a split)` : '';
      return fail(`your test passed in a stage with no adapter: it does not catch the split brain${why}`, measured);
    }
    if (instances.size < 2)
      return fail(`your test failed (${failed[0]!.error}), but the lab saw ${on}: not on two instances`, measured);
    if (!/expect|toContain|toHave|toBe/i.test(failed[0]!.error ?? '')) {
      return fail(`your test failed before its assertion: ${failed[0]!.error}`, measured);
    }
    return pass(`your test caught it: tabs ${on}; "${failed[0]!.error}"`, measured);
  },
});
