// The lessons' dev check, in the spirit of rustlings' `dev check`: for every
// lesson, on a real stack, the begin stage fails the checks it says it fails,
// the target stage passes every check, and an exercise's start file fails
// where the solution (the repo's own file) passes. Also: each README exists
// and every file it names exists.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Lab } from '../../server/lab/lab.ts';
import { LessonCatalog } from '../../server/lab/lessons.ts';
import { repoRoot } from '../../server/lab/settings.ts';
import { startLab } from '../helpers/lab.ts';

const catalog = LessonCatalog.load(path.join(repoRoot, 'lessons'));
const only = process.env.LESSONS?.split(',');
const lessons = catalog.lessons.filter((l) => !only || only.includes(l.number));

describe('lessons: prose', () => {
  for (const lesson of lessons) {
    test(`${lesson.id}: README.md exists, and every file it names exists`, () => {
      const readme = path.join(lesson.dir, 'README.md');
      assert.ok(existsSync(readme), `${readme} is missing`);
      const text = readFileSync(readme, 'utf8');
      // `server/app/adapter.ts`, `nginx/upstream/ip-hash.conf`, `lessons/05-…/exercise/adapter.ts`…
      const named = [...text.matchAll(/`((?:server|nginx|lessons|web|tests)\/[\w./-]+\.\w+)`/g)].map((m) => m[1]!);
      for (const file of named) assert.ok(existsSync(path.join(repoRoot, file)), `${lesson.id}/README.md names ${file}, which does not exist`);
    });
  }
});

describe('lessons: begin fails, target passes, exercise start fails', () => {
  let lab: Lab;
  before(async () => {
    lab = await startLab('start');
  });
  after(() => lab?.down());

  for (const lesson of lessons) {
    test(`${lesson.id}`, async () => {
      const summary = (results: { ok: boolean; title: string; detail: string }[]): string =>
        results.map((r) => `${r.ok ? '✓' : '✗'} ${r.title}: ${r.detail}`).join('\n');

      await lab.openLesson(lesson.id);
      assert.equal(lab.status().stage, lesson.begin);
      const atBegin = (await lab.check(lesson.id)).results;
      for (const r of atBegin.filter((r) => r.failsAtBegin)) assert.equal(r.ok, false, `in "${lesson.begin}" this must fail:\n${summary(atBegin)}`);

      await lab.setStage(lesson.target);
      const atTarget = (await lab.check(lesson.id)).results;
      assert.ok(atTarget.every((r) => r.ok), `in "${lesson.target}" every check must pass:\n${summary(atTarget)}`);

      if (lesson.exercise) {
        await lab.setExercise(lesson.id);
        const withStart = (await lab.check(lesson.id)).results;
        assert.ok(withStart.some((r) => !r.ok), `the exercise start file must fail a check:\n${summary(withStart)}`);
        for (const r of withStart.filter((r) => r.failsAtBegin)) assert.equal(r.ok, false, `with the start file this must fail:\n${summary(withStart)}`);
        await lab.setExercise(null);
        const solved = (await lab.check(lesson.id)).results;
        assert.ok(solved.every((r) => r.ok), `with the solution every check must pass:\n${summary(solved)}`);
      }
    });
  }
});
