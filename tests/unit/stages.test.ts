import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { SETTINGS } from '../../server/app/config.ts';
import { LessonCatalog } from '../../server/lab/lessons.ts';
import { repoRoot } from '../../server/lab/settings.ts';
import { APP_STAGE_FIELDS, parseStage, stageSchema } from '../../server/lab/stages.ts';

function lessonsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lessons-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.join(dir, name), { recursive: true });
    writeFileSync(path.join(dir, name, 'lesson.json'), content);
    writeFileSync(path.join(dir, name, 'start.ts'), '// start\n');
  }
  return dir;
}
const minimal = (stages: { id: string; title: string }[]): string =>
  JSON.stringify({
    title: 't',
    summary: 's',
    stages,
    begin: stages[0]?.id ?? 'start',
    target: stages[0]?.id ?? 'start',
    checks: [{ id: 'c', title: 'c', kind: 'instances', min: 1 }],
    hints: [],
    exercise: { task: 't', files: [{ path: 'server/app/adapter.ts', start: 'start.ts' }] },
  });

describe('stages are data', () => {
  test("the repo's lessons load, and the contract's aliases exist", () => {
    const catalog = LessonCatalog.load(path.join(repoRoot, 'lessons'));
    const start = catalog.stage('start');
    assert.deepEqual(
      [start.instances, start.loadBalancer, start.adapter, start.broadcast],
      [1, 'none', 'none', 'naive-set'],
    );
    const scaled = catalog.stage('scaled');
    assert.deepEqual(
      [scaled.instances, scaled.loadBalancer, scaled.adapter, scaled.redis],
      [3, 'ip-hash', 'redis', true],
    );
  });

  test('a stage states only what differs; the rest are the app settings table defaults', () => {
    const s = parseStage({ id: 'x', title: 'X', instances: 2 }, 'L', 'here');
    assert.equal(s.instances, 2);
    assert.equal(s.pingIntervalMs, 25_000);
    assert.equal(s.maxMessagesPerSecond, SETTINGS.maxMessagesPerSecond.schema.parse(undefined));
  });

  test('every per-stage app setting is a stage field, and nothing else of the app is', () => {
    const fields = Object.keys(stageSchema.shape);
    for (const [key, setting] of Object.entries(SETTINGS)) {
      assert.equal(fields.includes(key), setting.perStage, key);
      assert.equal(APP_STAGE_FIELDS.includes(key as never), setting.perStage, key);
    }
  });

  test('bad fields are refused with the file, stage and field named, and the value given', () => {
    const where = 'lessons/99-x/lesson.json stages[0]';
    const cases: [object, RegExp][] = [
      [{ id: 'x', title: 'X', instances: 0 }, /stages\[0\] instances: Too small: expected number to be >=1, got 0/],
      [
        { id: 'x', title: 'X', loadBalancer: 'random' },
        /loadBalancer: Invalid option: expected one of "none"\|"round-robin"/,
      ],
      [{ id: 'x', title: 'X', transports: [] }, /transports: Too small/],
      [{ id: 'x', title: 'X', instanceCount: 3 }, /unknown field "instanceCount"/],
      [
        { id: 'x', title: 'X', pingIntervalMs: 'fast' },
        /pingIntervalMs: Invalid input: expected number, received string, got "fast"/,
      ],
      [{ id: 'Bad Id', title: 'X' }, /id: lower-case letters, digits and dashes/],
      [{ id: 'x' }, /title: Invalid input/],
    ];
    for (const [raw, message] of cases) {
      assert.throws(
        () => parseStage(raw, '99-x', where),
        (err: Error) => {
          assert.match(err.message, message);
          assert.ok(err.message.startsWith(where));
          return true;
        },
      );
    }
  });

  test('malformed lesson files are errors naming the file and field', () => {
    assert.throws(
      () => LessonCatalog.load(lessonsDir({ '01-a': '{ nope' })),
      /01-a[/\\]lesson\.json is not valid JSON/,
    );
    assert.throws(
      () => LessonCatalog.load(lessonsDir({ '01-a': '{"title":"t"}' })),
      /lesson\.json stages: Invalid input: expected array/,
    );
    const good = minimal([
      { id: 'start', title: 'a' },
      { id: 'scaled', title: 'b' },
    ]);
    const bad = (change: object): Record<string, string> => ({
      '01-a': JSON.stringify({ ...JSON.parse(good), ...change }),
    });
    const load = (change: object) => () => LessonCatalog.load(lessonsDir(bad(change)));
    assert.doesNotThrow(() => LessonCatalog.load(lessonsDir({ '01-a': good })));
    assert.throws(
      load({ checks: [{ id: 'x', title: 'x', kind: 'telepathy' }] }),
      /checks\[0\]\.kind "telepathy" is not a check kind \(known: instances, connects/,
    );
    assert.throws(
      load({ checks: [{ id: 'x', title: 'x', kind: 'spread', clinets: 3 }] }),
      /checks\[0\]: unknown field "clinets"/,
    );
    assert.throws(
      load({ checks: [{ id: 'x', title: 'x', kind: 'spread', clients: 0 }] }),
      /checks\[0\]\.clients: Too small: expected number to be >=2, got 0/,
    );
    assert.throws(load({ target: 'nowhere' }), /"target" names the stage "nowhere", which no lesson defines/);
    assert.throws(
      load({ exercise: { task: 't', files: [{ path: 'server/app/adapter.ts', start: 'missing.ts' }] } }),
      /exercise\.files\[0\]\.start "missing\.ts" does not exist/,
    );
    assert.throws(
      load({ exercise: { task: 't', files: [{ path: '/etc/passwd', start: 'start.ts' }] } }),
      /exercise\.files\[0\]\.path: a file in server\/app\//,
    );
    assert.throws(load({ hints: [''] }), /hints\[0\]: Too small/);
    assert.throws(load({ sumary: 'typo' }), /unknown field "sumary"/);
    assert.throws(
      load({
        predictions: [
          {
            id: 'p',
            question: 'q',
            check: 'c',
            measure: 'nothing',
            choices: [
              { text: 'a', when: { eq: 1 } },
              { text: 'b', when: { eq: 2 } },
            ],
            explain: 'e',
          },
        ],
      }),
      /predictions\[0\]\.measure "nothing": a instances check measures/,
    );
    assert.throws(
      () =>
        LessonCatalog.load(
          lessonsDir({
            '01-a': minimal([{ id: 'start', title: 'a' }]),
            '02-b': minimal([{ id: 'start', title: 'b' }]),
          }),
        ),
      /stage id "start" is defined twice: in 01-a and 02-b/,
    );
    assert.throws(
      () => LessonCatalog.load(lessonsDir({ '01-a': minimal([{ id: 'start', title: 'a' }]) })),
      /no lesson defines the stage "scaled"/,
    );
  });

  test('unknown stage ids list the known ones', () => {
    const catalog = LessonCatalog.load(
      lessonsDir({
        '01-a': minimal([
          { id: 'start', title: 'a' },
          { id: 'scaled', title: 'b' },
        ]),
      }),
    );
    assert.throws(
      () => catalog.stage('nope'),
      (err: Error & { hint?: string }) => {
        assert.match(err.message, /unknown stage "nope"/);
        assert.equal(err.hint, 'known stages: start, scaled');
        return true;
      },
    );
  });
});

describe('the lesson commands read their arguments', () => {
  test('an option value is not a lesson number: `predict --choice 3` is about the current lesson', async () => {
    const { positionalArgs } = await import('../../server/lab/cli-lessons.ts');
    assert.deepEqual(positionalArgs(['--choice', '3']), []);
    assert.deepEqual(positionalArgs(['8', '--choice', '3']), ['8']);
    assert.deepEqual(positionalArgs(['--choice', '3', '8']), ['8']);
    assert.deepEqual(positionalArgs(['5', '--apply']), ['5']);
  });
});
