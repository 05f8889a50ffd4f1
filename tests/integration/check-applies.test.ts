// `npm run check` (and the UI's Verify) check the files as they are now: what
// the learner saved since the last apply is applied first, and a file nginx
// rejects is the check's one result, naming the file and line.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Lab } from '../../server/lab/lab.ts';
import { repoRoot } from '../../server/lab/settings.ts';
import { startLab } from '../helpers/lab.ts';

const startUpstream = readFileSync(path.join(repoRoot, 'lessons/04-ip-hash/exercise/ip-hash.conf'), 'utf8');

describe('a check applies the saved files first', () => {
  let lab: Lab;
  before(async () => {
    lab = await startLab('ip-hash');
    lab.sources.overlay('nginx/upstream/ip-hash.conf', startUpstream);
    await lab.applyEdits({ rolling: true });
  });
  after(() => lab?.down());

  test('with the start upstream the lesson fails; saving the fix and checking (no apply in between) passes', async () => {
    const before = await lab.check('04-ip-hash');
    assert.ok(
      before.results.some((r) => !r.ok),
      'the start file fails',
    );
    assert.deepEqual(before.applied, [], 'nothing new to apply');
    lab.sources.overlay('nginx/upstream/ip-hash.conf', null); // "saved": the committed solution
    const after = await lab.check('04-ip-hash');
    assert.deepEqual(after.applied, ['nginx: reload (ip-hash)']);
    assert.ok(
      after.results.every((r) => r.ok),
      after.results.map((r) => `${r.id}: ${r.detail}`).join('; '),
    );
  });

  test('a file nginx rejects is the one result, naming the file and line; the running nginx stays', async () => {
    lab.sources.overlay(
      'nginx/upstream/ip-hash.conf',
      'upstream chat_instances {\n  ip_hash\n  include servers.conf;\n}\n',
    );
    const { results } = await lab.check('04-ip-hash');
    assert.equal(results.length, 1);
    assert.equal(results[0]!.ok, false);
    assert.match(results[0]!.detail, /nginx\/upstream\/ip-hash\.conf/);
    assert.match(results[0]!.detail, /line \d+/);
    assert.equal(lab.status().nginx?.mode, 'ip-hash');
    lab.sources.overlay('nginx/upstream/ip-hash.conf', null);
  });
});
