// Runs the learner's own Playwright tests (tests/learner/) against the lab,
// with Playwright's own runner and the learner's own config, and reads its
// JSON report. In the lab's own tests (pristine sources) the committed test,
// or a lesson's start file, is copied into the repo's .lab/ first, so it
// still resolves @playwright/test from the repo's node_modules.

import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LearnerTestRun } from './checks/kind.ts';
import { repoRoot } from './settings.ts';
import type { Sources } from './sources.ts';

const DIR = 'tests/learner';

interface Host {
  sources: Sources;
  control: { url: string };
}

export async function runLearnerTests(lab: Host): Promise<LearnerTestRun> {
  const since = Date.now();
  const dir = materialise(lab.sources);
  const cli = path.join(repoRoot, 'node_modules', '@playwright', 'test', 'cli.js');
  const stdout = await new Promise<string>((resolve) => {
    execFile(
      process.execPath,
      [cli, 'test', '-c', path.join(dir, 'playwright.config.ts'), '--reporter=json'],
      {
        cwd: repoRoot,
        env: { ...process.env, LAB_URL: lab.control.url.replace(/\/$/, ''), FORCE_COLOR: '0' },
        maxBuffer: 32 * 1024 * 1024,
        timeout: 120_000,
      },
      // A failing test exits non-zero: the report says why, so the exit code is not an error here.
      (_err, out) => resolve(out),
    );
  });
  if (dir !== path.join(repoRoot, DIR)) rmSync(dir, { recursive: true, force: true });
  return { ...parseReport(stdout), since };
}

/** The learner's test folder as the lab uses it: the real one, or a copy of the pristine one. */
function materialise(sources: Sources): string {
  const files = readdirSync(path.join(repoRoot, DIR)).filter((f) => f.endsWith('.ts'));
  if (!files.some((f) => sources.isVirtual(`${DIR}/${f}`))) return path.join(repoRoot, DIR);
  const copy = path.join(repoRoot, '.lab', 'learner-runs', `${process.pid}-${Date.now()}`, DIR);
  mkdirSync(copy, { recursive: true });
  writeFileSync(path.join(copy, '..', 'package.json'), '{ "type": "module", "private": true }\n');
  for (const f of files) writeFileSync(path.join(copy, f), sources.read(`${DIR}/${f}`));
  return copy;
}

interface JsonReport {
  suites?: JsonSuite[];
  errors?: { message?: string }[];
}
interface JsonSuite {
  suites?: JsonSuite[];
  specs?: { title: string; tests: { results: { status: string; error?: { message?: string } }[] }[] }[];
}

function parseReport(stdout: string): Omit<LearnerTestRun, 'since'> {
  let report: JsonReport;
  try {
    report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as JsonReport;
  } catch {
    return { tests: [], crashed: `Playwright printed no report: ${stdout.trim().split('\n')[0] ?? 'nothing'}` };
  }
  const tests: LearnerTestRun['tests'] = [];
  const walk = (suite: JsonSuite): void => {
    for (const spec of suite.specs ?? []) {
      const results = spec.tests.flatMap((t) => t.results);
      const failed = results.find((r) => r.status !== 'passed' && r.status !== 'skipped');
      tests.push({
        title: spec.title,
        ok: !failed && results.length > 0,
        error: failed ? firstLine(failed.error?.message) : null,
      });
    }
    for (const child of suite.suites ?? []) walk(child);
  };
  for (const suite of report.suites ?? []) walk(suite);
  const crashed = report.errors?.length ? firstLine(report.errors[0]!.message) : null;
  return { tests, crashed };
}

/** Playwright's messages carry ANSI colours and a stack: keep the first readable line. */
function firstLine(message: string | undefined): string {
  const plain = (message ?? 'failed').replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
  return (
    plain
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? 'failed'
  );
}
