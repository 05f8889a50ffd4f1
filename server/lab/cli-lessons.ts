// The lesson commands of the CLI: lesson, next, list, check, hint, predict,
// solution, reset (and watch, in watch.ts). Those that change the running lab
// go through its control API; hints only read and write the progress file.

import { createInterface } from 'node:readline/promises';
import type { CheckResult } from './checks/runner.ts';
import { formatResults } from './checks/runner.ts';
import { LabError } from './errors.ts';
import { type Lesson, LessonCatalog } from './lessons.ts';
import type { Graded } from './predictions.ts';
import { type Progress, readProgress, updateProgress } from './progress.ts';
import type { LabSettings } from './settings.ts';
import { watch } from './watch.ts';

export type CallLab = (method: 'GET' | 'POST', name: string, body?: object) => Promise<unknown>;

export const LESSON_COMMANDS = ['lesson', 'next', 'list', 'check', 'hint', 'predict', 'solution', 'reset', 'watch'];

export async function lessonCommand(
  command: string,
  args: string[],
  settings: LabSettings,
  callLab: CallLab,
): Promise<number> {
  const catalog = LessonCatalog.load(settings.lessonsDir);
  const progress = readProgress(settings.runDir);
  /** The lesson named on the command line, else the current one, else lesson 1. */
  const pick = (ref = positionalArgs(args)[0]): Lesson =>
    catalog.lesson(ref ?? progress.current ?? catalog.lessons[0]!.id);

  switch (command) {
    case 'lesson':
      return openLesson(pick(), callLab, args.includes('--in-watch'));
    case 'next': {
      const current = pick(progress.current ?? catalog.lessons[0]!.id);
      const i = catalog.lessons.findIndex((l) => l.id === current.id);
      const following = catalog.lessons[i + 1];
      if (!following)
        throw new LabError('this was the last lesson', 'well done! `npm run lab -- lesson <N>` to revisit one');
      if (!progress.passed.includes(current.id)) {
        console.log(
          `(Lesson ${current.number} is not passed yet; \`npm run lab -- lesson ${current.number}\` goes back.)\n`,
        );
      }
      return openLesson(following, callLab);
    }
    case 'list':
      console.log(lessonMap(catalog, progress));
      return 0;
    case 'check': {
      const lesson = pick();
      const { results, applied } = (await callLab('POST', 'check', { lesson: lesson.id })) as {
        results: CheckResult[];
        applied: string[];
      };
      if (applied.length) console.log(`Applied your edits first:\n${applied.map((l) => `  ${l}`).join('\n')}\n`);
      console.log(formatResults(lesson, results));
      const ok = results.every((r) => r.ok);
      if (ok) console.log(`\n${completion(catalog, lesson)}`);
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
      updateProgress(settings.runDir, (p) => {
        p.hintsShown[lesson.id] = next;
      });
      lesson.hints.slice(0, next).forEach((h, i) => {
        console.log(`Hint ${i + 1} of ${lesson.hints.length}: ${h}`);
      });
      if (next === lesson.hints.length)
        console.log(`\nThat was the last hint. \`npm run lab -- solution ${lesson.number}\` shows the answer.`);
      return 0;
    }
    case 'predict':
      return predict(pick(), args, callLab, progress);
    case 'solution': {
      const lesson = pick();
      const passed = progress.passed.includes(lesson.id);
      const allHints = (progress.hintsShown[lesson.id] ?? 0) >= lesson.hints.length;
      if (!passed && !allHints) {
        const shown = progress.hintsShown[lesson.id] ?? 0;
        throw new LabError(
          `not yet: the solution opens once lesson ${lesson.number}'s checks pass, or after its last hint`,
          `hints shown: ${shown} of ${lesson.hints.length} (\`npm run lab -- hint ${lesson.number}\`)`,
        );
      }
      if (!args.includes('--apply')) {
        const files = lesson.exercise.files.filter((f) => f.edit).map((f) => f.path);
        console.log(`Lesson ${lesson.number}'s solution: ${files.join(', ')}.`);
        console.log(`See it with \`git diff -- ${files.join(' ')}\` (the committed files are the solutions),`);
        console.log(
          `or put it in place (your version is saved first): npm run lab -- solution ${lesson.number} --apply`,
        );
        return 0;
      }
      const report = (await callLab('POST', 'solution', { lesson: lesson.id })) as string[];
      console.log(report.length ? report.map((l) => `  ${l}`).join('\n') : '  the solution was already in place');
      return 0;
    }
    case 'reset': {
      const lesson = pick();
      const files = lesson.exercise.files.map((f) => f.path).join(', ');
      const what = `put the start version of ${files} back (your version is saved first), and forget lesson ${lesson.number}'s progress`;
      if (!args.includes('--yes')) {
        if (!process.stdin.isTTY) {
          console.log(`Nothing was changed: this would ${what}. Run it with --yes to do it without being asked.`);
          return 1;
        }
        if (!(await confirm(`This will ${what}. Continue? [y/N] `))) {
          console.log('Nothing was changed.');
          return 1;
        }
      }
      const report = (await callLab('POST', 'reset', { lesson: lesson.id })) as string[];
      updateProgress(settings.runDir, (p) => {
        p.passed = p.passed.filter((id) => id !== lesson.id);
        delete p.hintsShown[lesson.id];
        delete p.predictions[lesson.id];
      });
      console.log(report.map((l) => `  ${l}`).join('\n'));
      console.log(`Lesson ${lesson.number} is reset.`);
      return 0;
    }
    case 'watch':
      return watch(settings, callLab, { manual: args.includes('--manual-run') });
    default:
      throw new LabError(`unknown lesson command "${command}"`);
  }
}

/** Options that take a value: `predict --choice 3` names no lesson 3. */
const VALUE_OPTIONS = new Set(['--choice']);

/** The arguments that are not options, nor an option's value. */
export function positionalArgs(args: string[]): string[] {
  return args.filter((a, i) => !a.startsWith('--') && !VALUE_OPTIONS.has(args[i - 1] ?? ''));
}

async function openLesson(lesson: Lesson, callLab: CallLab, inWatch = false): Promise<number> {
  const result = (await callLab('POST', 'lesson', { lesson: lesson.id })) as { stage: string; report: string[] };
  console.log(`Lesson ${lesson.number}: ${lesson.title}\n  ${lesson.summary}\n`);
  console.log(`The lab is in stage "${result.stage}"${result.report.length ? ':' : '.'}`);
  for (const line of result.report) console.log(`  ${line}`);
  console.log(`\nRead lessons/${lesson.id}/README.md (also in the UI). Your exercise:\n  ${lesson.exercise.task}`);
  console.log(
    `  edit: ${lesson.exercise.files
      .filter((f) => f.edit)
      .map((f) => f.path)
      .join(', ')}`,
  );
  if (lesson.predictions.length > 0) {
    console.log(`\nBefore you fix it, predict: ${inWatch ? 'press p' : `npm run lab -- predict ${lesson.number}`}`);
  }
  if (!inWatch) console.log('\nThen: npm run lab -- watch   (re-checks on every save; h for a hint)');
  return 0;
}

/** Every lesson with its state: ✓ passed, ▸ current, … started, · not started; and predictions right. */
export function lessonMap(catalog: LessonCatalog, progress: Progress): string {
  const lines = catalog.lessons.map((l) => {
    const mark = progress.passed.includes(l.id)
      ? '✓'
      : progress.current === l.id
        ? '▸'
        : progress.started.includes(l.id)
          ? '…'
          : '·';
    const answered = Object.values(progress.predictions[l.id] ?? {});
    const predictions =
      l.predictions.length === 0
        ? ''
        : `  predictions ${answered.filter((a) => a.right).length}/${l.predictions.length} right`;
    return `  ${mark} ${l.number.padStart(2)}  ${l.title}${predictions}`;
  });
  const passed = catalog.lessons.filter((l) => progress.passed.includes(l.id)).length;
  return [
    ...lines,
    `\n  ${passed} of ${catalog.lessons.length} passed.  ✓ passed  ▸ current  … started  · not started`,
  ].join('\n');
}

/** The "lesson complete" moment: what was learned, and where to go next. */
export function completion(catalog: LessonCatalog, lesson: Lesson): string {
  const i = catalog.lessons.findIndex((l) => l.id === lesson.id);
  const following = catalog.lessons[i + 1];
  const next = following
    ? `Next: lesson ${following.number}, ${following.title}: npm run lab -- next`
    : 'That was the last lesson: the whole course is done. `npm run lab -- list` shows your map.';
  return `★ Lesson ${lesson.number} complete. ${lesson.summary}\n${next}`;
}

async function predict(lesson: Lesson, args: string[], callLab: CallLab, progress: Progress): Promise<number> {
  const all = lesson.predictions;
  if (all.length === 0) {
    console.log(`Lesson ${lesson.number} asks for no prediction.`);
    return 0;
  }
  const wanted = args.find((a) => !a.startsWith('--') && all.some((p) => p.id === a));
  // Without a question named: the first one not answered yet.
  const answered = progress.predictions[lesson.id] ?? {};
  const prediction = all.find((p) => p.id === wanted) ?? all.find((p) => !answered[p.id]) ?? all[0]!;
  const k = all.indexOf(prediction) + 1;
  if (all.length > 1)
    console.log(
      `Question ${k} of ${all.length}${answered[prediction.id] ? ' (answered before; again)' : ''}. ` +
        `Another: npm run lab -- predict ${lesson.number} <${all.map((p) => p.id).join('|')}>`,
    );
  console.log(`Predict: ${prediction.question}`);
  prediction.choices.forEach((c, i) => {
    console.log(`  ${i + 1}) ${c.text}`);
  });
  const given = args.indexOf('--choice');
  let choice = given >= 0 ? Number(args[given + 1]) : Number.NaN;
  if (Number.isNaN(choice)) {
    if (!process.stdin.isTTY)
      throw new LabError(
        'which answer?',
        `npm run lab -- predict ${lesson.number}${all.length > 1 ? ` ${prediction.id}` : ''} --choice <1-${prediction.choices.length}>`,
      );
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    choice = Number((await rl.question('Your answer (number): ')).trim());
    rl.close();
  }
  if (!Number.isInteger(choice) || choice < 1 || choice > prediction.choices.length) {
    throw new LabError(`answer with a number from 1 to ${prediction.choices.length}`);
  }
  console.log('The lab makes it happen and measures…');
  const graded = (await callLab('POST', 'predict', {
    lesson: lesson.id,
    prediction: prediction.id,
    choice: choice - 1,
  })) as Graded;
  console.log(`\n${graded.right ? '✓' : graded.right === false ? '✗' : '?'} ${graded.summary}`);
  return 0;
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
