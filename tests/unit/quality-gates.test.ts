// The quality gates, as tests: a type error or a lint finding fails `npm test`
// (and so CI) with the compiler's or linter's own words.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../../server/lab/settings.ts';

const run = promisify(execFile);
const bin = (name: string): string => path.join(repoRoot, 'node_modules', '.bin', name);

async function gate(cmd: string, args: string[]): Promise<string> {
  try {
    await run(bin(cmd), args, { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 });
    return '';
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`.trim() || e.message;
  }
}

// Three programs: node code (no DOM), tests (node, and DOM for code run in
// the browser), the web UI (DOM, no Node).
for (const [config, what] of [
  ['tsconfig.json', 'server code and ecosystem.config.js (checked as JS)'],
  ['tests/tsconfig.json', 'the tests'],
  ['web/tsconfig.json', 'the web UI'],
] as const) {
  test(`the type check passes: ${what} (${config}, strict)`, async () => {
    assert.equal(await gate('tsc', ['-p', config, '--noEmit']), '');
  });
}

test('the linter and the formatter find nothing (Biome, warnings count)', async () => {
  assert.equal(await gate('biome', ['check', '--error-on-warnings', '--max-diagnostics=50']), '');
});
