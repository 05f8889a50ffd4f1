// Runs a lesson's checks, one after another, against the live lab.

import type { Lesson } from '../lessons.ts';
import { CHECK_KINDS, type CheckHost } from './kinds.ts';

export interface CheckResult {
  id: string;
  title: string;
  ok: boolean;
  detail: string;
  failsAtBegin: boolean;
}

export async function runChecks(lesson: Lesson, host: CheckHost): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of lesson.checks) {
    let outcome;
    try {
      outcome = await CHECK_KINDS[check.kind]!.run(host, check.params);
    } catch (err) {
      outcome = { ok: false, detail: `the check itself failed: ${(err as Error).message}` };
    }
    results.push({ id: check.id, title: check.title, failsAtBegin: check.failsAtBegin, ...outcome });
  }
  return results;
}

export function formatResults(lesson: Lesson, results: CheckResult[]): string {
  const lines = [`Lesson ${lesson.number}: ${lesson.title}`];
  for (const r of results) lines.push(`  ${r.ok ? '✓' : '✗'} ${r.title}\n      ${r.detail}`);
  const passed = results.filter((r) => r.ok).length;
  lines.push(passed === results.length ? `\nAll ${passed} checks pass.` : `\n${passed} of ${results.length} checks pass.`);
  return lines.join('\n');
}
