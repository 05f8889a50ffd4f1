// Lesson data and prose, without a stack: every lesson parses, names files
// that exist, gives every learner-edited file a start state that differs from
// its solution, and the JSON Schema editors use is the one the code derives.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { LessonCatalog } from '../../server/lab/lessons.ts';
import { repoRoot } from '../../server/lab/settings.ts';
import { Sources } from '../../server/lab/sources.ts';
import { solutionOf, startOf } from '../../server/lab/exercises.ts';
import { schemaFile, schemaText } from '../../server/lab/write-schema.ts';

const catalog = LessonCatalog.load(path.join(repoRoot, 'lessons'));
const sources = new Sources('pristine', catalog.exerciseFiles());

describe('lessons: data and prose', () => {
  test('lessons/lesson.schema.json is current (npm run schema rewrites it)', () => {
    assert.equal(readFileSync(schemaFile, 'utf8'), schemaText(), 'run `npm run schema` and commit the result');
  });

  for (const lesson of catalog.lessons) {
    test(`${lesson.id}: README names only files that exist; the exercise has a real gap`, () => {
      const text = readFileSync(path.join(lesson.dir, 'README.md'), 'utf8');
      const named = [...text.matchAll(/`((?:server|nginx|lessons|web|tests)\/[\w./-]+\.\w+|ecosystem\.config\.js)`/g)];
      for (const [, file] of named) {
        assert.ok(existsSync(path.join(repoRoot, file!)), `${lesson.id}/README.md names ${file}, which does not exist`);
      }
      assert.match(
        readFileSync(path.join(lesson.dir, 'lesson.json'), 'utf8'),
        /"\$schema": "\.\.\/lesson\.schema\.json"/,
      );
      for (const file of lesson.exercise.files.filter((f) => f.edit)) {
        assert.notEqual(
          startOf(file, sources),
          solutionOf(file, sources),
          `${file.path}: start and solution are the same`,
        );
      }
    });
  }
});
