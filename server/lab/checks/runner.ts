// Runs a lesson's checks, one after another, against the live lab.
//
// Three outcomes, as Maelstrom has them: a check passes, fails (the lab saw
// the behaviour and it is wrong), or could not tell (the check itself broke,
// e.g. the lab went down mid-run): that is not the learner's failure.

import type { Lesson } from '../lessons.ts';
import { CHECK_KINDS } from './index.ts';
import type { CheckHost, CheckOutcome } from './kind.ts';

export type Verdict = 'pass' | 'fail' | 'unknown';

export interface CheckResult extends CheckOutcome {
  id: string;
  title: string;
  verdict: Verdict;
  failsAtBegin: boolean;
}

export async function runChecks(lesson: Pick<Lesson, 'checks'>, host: CheckHost): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of lesson.checks) {
    let outcome: CheckOutcome;
    let verdict: Verdict;
    try {
      // Each check starts from a settled lab, whatever the one before did to it (a crash, a drain).
      await host.settled();
      outcome = await CHECK_KINDS[check.kind]!.run(host, check.params);
      verdict = outcome.ok ? 'pass' : 'fail';
    } catch (err) {
      outcome = { ok: false, detail: `could not tell: the check itself failed (${(err as Error).message})` };
      verdict = 'unknown';
    }
    results.push({ id: check.id, title: check.title, failsAtBegin: check.failsAtBegin, verdict, ...outcome });
  }
  return results;
}

export function formatResults(lesson: Lesson, results: CheckResult[]): string {
  const mark = { pass: '✓', fail: '✗', unknown: '?' } as const;
  const lines = [`Lesson ${lesson.number}: ${lesson.title}`];
  for (const r of results) lines.push(`  ${mark[r.verdict]} ${r.title}\n      ${r.detail}`);
  const passed = results.filter((r) => r.ok).length;
  lines.push(
    passed === results.length ? `\nAll ${passed} checks pass.` : `\n${passed} of ${results.length} checks pass.`,
  );
  return lines.join('\n');
}
