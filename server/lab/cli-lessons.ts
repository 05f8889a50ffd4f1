// The lesson commands of the CLI: lesson, next, check, hint, exercise,
// solution, reset. Those that change the running lab go through its control
// API; hints, solutions and resets only read and write files.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { formatResults, type CheckResult } from './checks/runner.ts';
import { LabError } from './errors.ts';
import { LessonCatalog, type Lesson } from './lessons.ts';
import { readProgress, updateProgress } from './progress.ts';
import { repoRoot, type LabSettings } from './settings.ts';

export type CallLab = (method: 'GET' | 'POST', name: string, body?: object) => Promise<unknown>;

export async function lessonCommand(command: string, args: string[], settings: LabSettings, callLab: CallLab): Promise<number> {
  const catalog = LessonCatalog.load(settings.lessonsDir);
  const progress = readProgress(settings.runDir);
  /** The lesson named on the command line, else the current one, else lesson 1. */
  const pick = (ref = args[0]): Lesson => catalog.lesson(ref ?? progress.current ?? catalog.lessons[0]!.id);

  switch (command) {
    case 'lesson':
    case 'next': {
      let lesson = pick();
      if (command === 'next') {
        const i = catalog.lessons.findIndex((l) => l.id === (progress.current ?? catalog.lessons[0]!.id));
        const following = catalog.lessons[i + 1];
        if (!following) throw new LabError('this was the last lesson', 'well done! `npm run lab -- lesson <N>` to revisit one');
        lesson = following;
      }
      const result = (await callLab('POST', 'lesson', { lesson: lesson.id })) as { stage: string; report: string[] };
      console.log(`Lesson ${lesson.number}: ${lesson.title}\n  ${lesson.summary}\n`);
      console.log(`The lab is in stage "${result.stage}"${result.report.length ? `:\n${result.report.map((l) => `  ${l}`).join('\n')}` : '.'}`);
      console.log(`\nRead ${path.relative(repoRoot, path.join(lesson.dir, 'README.md'))}, then \`npm run check ${lesson.number}\`.`);
      return 0;
    }
    case 'check': {
      const lesson = pick();
      const { results } = (await callLab('POST', 'check', { lesson: lesson.id })) as { results: CheckResult[] };
      console.log(formatResults(lesson, results));
      const ok = results.every((r) => r.ok);
      if (ok && lesson.exercise) console.log('You may now compare with the solution: `npm run lab -- solution ' + lesson.number + '`.');
      if (ok) console.log('Next lesson: `npm run lab -- next`.');
      return ok ? 0 : 1;
    }
    case 'hint': {
      const lesson = pick();
      const shown = progress.hintsShown[lesson.id] ?? 0;
      if (lesson.hints.length === 0) {
        console.log(`Lesson ${lesson.number} has no hints: its README says everything.`);
        return 0;
      }
      const next = Math.min(shown + 1, lesson.hints.length);
      updateProgress(settings.runDir, (p) => (p.hintsShown[lesson.id] = next));
      lesson.hints.slice(0, next).forEach((h, i) => console.log(`Hint ${i + 1} of ${lesson.hints.length}: ${h}`));
      if (next === lesson.hints.length) console.log('\nThat was the last hint.');
      return 0;
    }
    case 'exercise': {
      if (args[0] === 'off') {
        await callLab('POST', 'exercise', { lesson: null });
        console.log('The lab runs the repo\'s own files again.');
        return 0;
      }
      const lesson = pick();
      if (!lesson.exercise) throw new LabError(`lesson ${lesson.number} has no exercise`);
      const report = (await callLab('POST', 'exercise', { lesson: lesson.id })) as string[];
      console.log(`Running ${path.relative(repoRoot, lesson.exercise.file)} in place of ${lesson.exercise.replaces} (stage "${lesson.target}").`);
      console.log(report.length ? report.map((l) => `  ${l}`).join('\n') : '  nothing changed since the last run');
      console.log(`Now: \`npm run check ${lesson.number}\`. After each edit, run \`npm run lab -- exercise ${lesson.number}\` again.`);
      return 0;
    }
    case 'solution': {
      const lesson = pick();
      const passed = progress.passed.includes(lesson.id);
      const allHints = (progress.hintsShown[lesson.id] ?? 0) >= lesson.hints.length;
      if (!passed && !allHints) {
        throw new LabError(
          `not yet: the solution opens once lesson ${lesson.number}'s checks pass, or after its last hint`,
          `hints shown: ${progress.hintsShown[lesson.id] ?? 0} of ${lesson.hints.length} (\`npm run lab -- hint ${lesson.number}\`)`,
        );
      }
      if (!lesson.exercise) {
        console.log(`Lesson ${lesson.number} is solved by the stage "${lesson.target}": npm run lab -- stage ${lesson.target}`);
        return 0;
      }
      console.log(`The solution is the repo's own ${lesson.exercise.replaces}:\n`);
      console.log(readFileSync(path.join(repoRoot, lesson.exercise.replaces), 'utf8'));
      return 0;
    }
    case 'reset': {
      const lesson = pick();
      const rel = lesson.exercise ? path.relative(repoRoot, lesson.exercise.file) : null;
      const what = rel ? `put ${rel} back as last committed, and forget lesson ${lesson.number}'s progress` : `forget lesson ${lesson.number}'s progress`;
      if (!args.includes('--yes') && !(await confirm(`This will ${what}. Continue? [y/N] `))) {
        console.log('Nothing was changed.');
        return 1;
      }
      if (rel) {
        try {
          execFileSync('git', ['checkout', 'HEAD', '--', rel], { cwd: repoRoot, stdio: 'pipe' });
        } catch (err) {
          throw new LabError(`could not restore ${rel} with git: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`);
        }
      }
      updateProgress(settings.runDir, (p) => {
        p.passed = p.passed.filter((id) => id !== lesson.id);
        delete p.hintsShown[lesson.id];
      });
      console.log(`Lesson ${lesson.number} is reset.`);
      return 0;
    }
    default:
      throw new LabError(`unknown lesson command "${command}"`);
  }
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false; // never assume yes without a person: use --yes
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
