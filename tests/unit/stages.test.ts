import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from '../../server/lab/settings.ts';
import { LessonCatalog } from '../../server/lab/lessons.ts';
import { parseStage } from '../../server/lab/stages.ts';

function lessonsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lessons-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.join(dir, name), { recursive: true });
    writeFileSync(path.join(dir, name, 'lesson.json'), content);
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
  });

describe('stages are data', () => {
  test("the repo's lessons load, and the contract's aliases exist", () => {
    const catalog = LessonCatalog.load(path.join(repoRoot, 'lessons'));
    const start = catalog.stage('start');
    assert.deepEqual([start.instances, start.loadBalancer, start.adapter, start.broadcast], [1, 'none', 'none', 'naive-set']);
    const scaled = catalog.stage('scaled');
    assert.deepEqual([scaled.instances, scaled.loadBalancer, scaled.adapter, scaled.redis], [3, 'ip-hash', 'redis', true]);
  });

  test('a stage states only what differs; the rest are defaults', () => {
    const s = parseStage({ id: 'x', title: 'X', instances: 2 }, 'L', 'here');
    assert.equal(s.instances, 2);
    assert.equal(s.pingInterval, 25_000);
    assert.ok(s.proxyReadTimeout * 1000 > s.pingInterval + s.pingTimeout, 'default proxy timeout outlives a ping cycle');
    assert.ok(s.clientJitter > 0, 'fleet clients reconnect with jitter unless a stage says otherwise');
  });

  test('bad fields are refused with the file, stage and field named', () => {
    const where = 'lessons/99-x/lesson.json stages[0]';
    const cases: [object, RegExp][] = [
      [{ id: 'x', title: 'X', instances: 0 }, /field "instances" must be an integer from 1 to 9, got 0/],
      [{ id: 'x', title: 'X', loadBalancer: 'random' }, /"loadBalancer" must be one of none, round-robin, ip-hash/],
      [{ id: 'x', title: 'X', transports: [] }, /"transports" must be a non-empty list/],
      [{ id: 'x', title: 'X', instanceCount: 3 }, /unknown field "instanceCount"/],
      [{ id: 'x', title: 'X', clientJitter: 2 }, /"clientJitter" must be a number from 0 to 1, got 2/],
      [{ id: 'x', title: 'X', proxyReadTimeout: 0 }, /"proxyReadTimeout" must be an integer from 1 to 3600/],
      [{ id: 'Bad Id', title: 'X' }, /"id" must be lower-case/],
      [{ id: 'x' }, /needs a "title"/],
    ];
    for (const [raw, message] of cases) {
      assert.throws(() => parseStage(raw, '99-x', where), (err: Error) => {
        assert.match(err.message, message);
        assert.ok(err.message.startsWith(where));
        return true;
      });
    }
  });

  test('malformed lesson files are errors naming the file', () => {
    assert.throws(() => LessonCatalog.load(lessonsDir({ '01-a': '{ nope' })), /01-a[/\\]lesson\.json is not valid JSON/);
    assert.throws(() => LessonCatalog.load(lessonsDir({ '01-a': '{"title":"t"}' })), /"stages" must be a list/);
    const bad = (change: object): string => JSON.stringify({ ...JSON.parse(minimal([{ id: 'start', title: 'a' }, { id: 'scaled', title: 'b' }])), ...change });
    assert.throws(() => LessonCatalog.load(lessonsDir({ '01-a': bad({ checks: [{ id: 'x', title: 'x', kind: 'telepathy' }] }) })), /checks\[0\]: check "x" has an unknown kind "telepathy" \(known: instances, connects/);
    assert.throws(() => LessonCatalog.load(lessonsDir({ '01-a': bad({ checks: [{ id: 'x', title: 'x', kind: 'spread', clinets: 3 }] }) })), /check "x" \(spread\) has no parameter "clinets" \(it takes: clients, min, source\)/);
    assert.throws(() => LessonCatalog.load(lessonsDir({ '01-a': bad({ checks: [{ id: 'x', title: 'x', kind: 'spread', clients: 0 }] }) })), /parameter "clients" must be an integer from 2 to 50, got 0/);
    assert.throws(() => LessonCatalog.load(lessonsDir({ '01-a': bad({ target: 'nowhere' }) })), /"target" names the stage "nowhere", which no lesson defines/);
    assert.throws(() => LessonCatalog.load(lessonsDir({ '01-a': bad({ exercise: { file: 'missing.ts', replaces: 'server/app/adapter.ts' } }) })), /exercise file "missing.ts" does not exist/);
    assert.throws(() => LessonCatalog.load(lessonsDir({ '01-a': bad({ hints: [''] }) })), /"hints" must be a list of non-empty strings/);
    assert.throws(() => LessonCatalog.load(lessonsDir({ '01-a': bad({ sumary: 'typo' }) })), /unknown field "sumary"/);
    assert.throws(
      () => LessonCatalog.load(lessonsDir({ '01-a': minimal([{ id: 'start', title: 'a' }]), '02-b': minimal([{ id: 'start', title: 'b' }]) })),
      /stage id "start" is defined twice: in 01-a and 02-b/,
    );
    assert.throws(() => LessonCatalog.load(lessonsDir({ '01-a': minimal([{ id: 'start', title: 'a' }]) })), /no lesson defines the stage "scaled"/);
  });

  test('unknown stage ids list the known ones', () => {
    const catalog = LessonCatalog.load(lessonsDir({ '01-a': minimal([{ id: 'start', title: 'a' }, { id: 'scaled', title: 'b' }]) }));
    assert.throws(() => catalog.stage('nope'), (err: Error & { hint?: string }) => {
      assert.match(err.message, /unknown stage "nope"/);
      assert.equal(err.hint, 'known stages: start, scaled');
      return true;
    });
  });
});
