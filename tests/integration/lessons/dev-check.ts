// The lessons' dev check, in the spirit of rustlings' `dev check`: for every
// lesson, on a real stack, with the lab as committed (pristine sources):
//   - in its begin stage, with its start files, every check marked
//     failsAtBegin fails;
//   - in its target stage, with its start files still in place, the exercise
//     is not done: some check fails;
//   - with its solution files, every check passes.
// The lessons are shared out over a few test files (part-N.test.ts), so they
// run side by side and a new lesson is covered without a new file.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CheckResult } from '../../../server/lab/checks/runner.ts';
import type { Lab } from '../../../server/lab/lab.ts';
import { LessonCatalog } from '../../../server/lab/lessons.ts';
import { repoRoot } from '../../../server/lab/settings.ts';
import { startLab } from '../../helpers/lab.ts';

export const PARTS = 5;

const summary = (results: CheckResult[]): string =>
  results.map((r) => `${r.ok ? '✓' : '✗'} ${r.id}: ${r.detail}`).join('\n');

export function devCheck(part: number): void {
  const catalog = LessonCatalog.load(path.join(repoRoot, 'lessons'));
  const only = process.env.LESSONS?.split(',');
  const lessons = catalog.lessons.filter((l, i) => i % PARTS === part && (!only || only.includes(l.number)));

  describe(`lessons' dev check (part ${part + 1} of ${PARTS}): start files fail, solutions pass`, () => {
    let lab: Lab;
    before(async () => {
      lab = await startLab('start');
    });
    after(() => lab?.down());

    for (const lesson of lessons) {
      test(lesson.id, async () => {
        lab.sources.clearOverlays();
        await lab.openLesson(lesson.id);
        assert.equal(lab.status().stage, lesson.begin);
        const atBegin = (await lab.check(lesson.id)).results;
        for (const r of atBegin.filter((r) => r.failsAtBegin)) {
          assert.equal(
            r.verdict,
            'fail',
            `in "${lesson.begin}" with the start files, "${r.id}" must fail:\n${summary(atBegin)}`,
          );
        }

        await lab.setStage(lesson.target);
        const started = (await lab.check(lesson.id)).results;
        assert.ok(
          started.some((r) => r.verdict === 'fail'),
          `in "${lesson.target}" with the start files, the exercise must still fail a check:\n${summary(started)}`,
        );

        await lab.putVersion(lesson.id, 'solution');
        const solved = (await lab.check(lesson.id)).results;
        assert.ok(
          solved.every((r) => r.ok),
          `with the solution every check must pass:\n${summary(solved)}`,
        );
      });
    }
  });
}
