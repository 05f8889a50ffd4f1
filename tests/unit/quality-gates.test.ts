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

test('the type check passes (tsc --noEmit, strict, ecosystem.config.js checked as JS)', async () => {
  assert.equal(await gate('tsc', ['-p', 'tsconfig.json', '--noEmit']), '');
});

test('the linter finds nothing (Biome, warnings count)', async () => {
  assert.equal(await gate('biome', ['lint', '--error-on-warnings', '--max-diagnostics=50']), '');
});
