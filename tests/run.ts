// `npm test`: every tests/**/*.test.ts with Node's test runner, each file in
// its own process (a lab per process: PM2's API keeps its home in module
// state), then one closing line: "N passed, N failed".
//
//   npm test                      everything
//   npm test -- tests/unit        only files under a path (or a single file)

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { fileURLToPath } from 'node:url';

const root = path.dirname(fileURLToPath(import.meta.url));

function leftoverProcesses(): { pid: number; cmd: string }[] {
  const marker = path.join(os.tmpdir(), 'lab-test-');
  const runSeconds = process.uptime();
  let out = '';
  try {
    out = execFileSync('ps', ['-eo', 'pid=,etimes=,args='], { encoding: 'utf8' });
  } catch {
    return [];
  }
  // Redis names only its address on its command line: its working directory
  // (the lab's run directory) is what marks it as a test lab's.
  const cwdOf = (pid: number): string => {
    try {
      return readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      return '';
    }
  };
  return out
    .split('\n')
    .map((line) => line.trim().match(/^(\d+)\s+(\d+)\s+(.*)$/))
    .filter(
      (m): m is RegExpMatchArray =>
        m !== null &&
        Number(m[2]) <= runSeconds &&
        Number(m[1]) !== process.pid &&
        (m[3]!.includes(marker) || cwdOf(Number(m[1])).startsWith(marker)),
    )
    .map((m) => ({ pid: Number(m[1]), cmd: m[3]! }));
}

function testFiles(dir: string): string[] {
  if (statSync(dir).isFile()) return [dir];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? testFiles(path.join(dir, e.name)) : e.name.endsWith('.test.ts') ? [path.join(dir, e.name)] : [],
    )
    .sort();
}

const wanted = process.argv.slice(2);
const files = (wanted.length ? wanted.map((p) => path.resolve(p)) : [root]).flatMap(testFiles);
// Two cores: unit files are cheap, each integration file runs a whole stack.
const concurrency = Number(process.env.TEST_CONCURRENCY ?? 2);

let passed = 0;
let failed = 0;
// A ceiling against hangs, per test file: lesson 13's dev check alone runs
// 10,000 clients three times.
const stream = run({ files, concurrency, timeout: 300_000 });
// Count tests, not suites. A file that crashes before defining any test is
// reported as one failed test named after the file, so it counts too.
stream.on('test:pass', (e) => {
  if (e.details.type !== 'suite' && !e.skip && !e.todo) passed++;
});
stream.on('test:fail', (e) => {
  if (e.details.type !== 'suite') failed++;
});
const report = stream.compose(new spec());
report.pipe(process.stdout, { end: false });
await finished(report);

// The lifecycle promise, checked for the whole run: no test may leave a PM2
// daemon, nginx or Redis of its lab behind. Test labs live in <tmp>/lab-test-*,
// which their daemons name on their command lines; only processes started
// during this run are considered (and ended, by PID).
const leaks = leftoverProcesses();
if (leaks.length > 0) {
  failed++;
  process.stdout.write(
    `\n✖ processes left behind by the tests:\n${leaks.map((l) => `  ${l.pid} ${l.cmd}`).join('\n')}\n`,
  );
  // An nginx master's workers name no lab on their command line: end them
  // with it, or a killed master leaves them behind (seen: orphaned workers).
  const children = (pid: number): number[] =>
    readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          return readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]?.split(' ')[1] === String(pid);
        } catch {
          return false;
        }
      })
      .map(Number);
  for (const pid of leaks.flatMap(({ pid }) => [pid, ...children(pid)])) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
}
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
