// `npm run lab -- watch`: follow the current lesson, rustlings-style. Every
// save of one of its exercise files is applied to the running lab (an nginx
// file: a checked, graceful reload; server code: a rolling restart; client
// options: the fleet reconnects), then the lesson's checks run and a compact
// verdict is printed. One loop, one queue: saves that land while a run is in
// flight are folded into one more run after it.
//
// Keys: h hint · c check · l list · p predict · r reset · n next (after a pass) · q quit

import { type FSWatcher, watch as watchDir } from 'node:fs';
import path from 'node:path';
import { emitKeypressEvents } from 'node:readline';
import { createInterface } from 'node:readline/promises';
import type { CallLab } from './cli-lessons.ts';
import { completion, lessonCommand, lessonMap } from './cli-lessons.ts';
import type { CheckResult } from './checks/runner.ts';
import { LabError } from './errors.ts';
import { type Lesson, LessonCatalog } from './lessons.ts';
import { readProgress } from './progress.ts';
import { repoRoot, type LabSettings } from './settings.ts';

const DEBOUNCE_MS = 200;
const KEYS = 'h hint · c check · l list · p predict · r reset · n next (after a pass) · q quit';

type Event = { kind: 'saved'; file: string } | { kind: 'check' } | { kind: 'quit' };

export async function watch(settings: LabSettings, callLab: CallLab, opts: { manual: boolean }): Promise<number> {
  const catalog = LessonCatalog.load(settings.lessonsDir);
  let lesson = current(catalog, settings);
  const tell = (file: string | null, state: string): void => {
    void callLab('POST', 'watch', { file, state }).catch(() => {});
  };

  let watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | null = null;
  let saved = new Set<string>();
  let running = false;
  let pending: Event | null = null;
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (finish = resolve));

  /** One run at a time; whatever arrives meanwhile is folded into one more run. */
  const submit = (event: Event): void => {
    if (event.kind === 'quit') return void stop(0);
    if (running) {
      pending = pending?.kind === 'saved' ? pending : event;
      return;
    }
    running = true;
    void handle(event)
      .catch((err: unknown) => console.log(`\n${err instanceof LabError ? `✗ ${err.toString()}` : String(err)}`))
      .finally(() => {
        running = false;
        console.log(`\n  ${KEYS}`);
        const next = pending;
        pending = null;
        if (next) submit(next);
      });
  };

  const follow = (l: Lesson): void => {
    for (const w of watchers) w.close();
    watchers = [];
    if (opts.manual) return;
    const files = l.exercise.files.filter((f) => f.edit).map((f) => path.join(repoRoot, f.path));
    // Watch folders, not files: editors save by writing a new file and renaming it over the old one.
    for (const dir of new Set(files.map((f) => path.dirname(f)))) {
      try {
        const w = watchDir(dir, (_type, name) => {
          const file = name ? path.join(dir, name.toString()) : null;
          if (!file || !files.includes(file)) return;
          saved.add(path.relative(repoRoot, file));
          if (timer) clearTimeout(timer);
          timer = setTimeout(() => {
            const list = [...saved];
            saved = new Set();
            submit({ kind: 'saved', file: list.join(', ') });
          }, DEBOUNCE_MS);
        });
        watchers.push(w);
      } catch (err) {
        throw new LabError(
          `cannot watch ${path.relative(repoRoot, dir)}: ${(err as Error).message}`,
          'run `npm run lab -- watch --manual-run` and press c after each save',
        );
      }
    }
  };

  const handle = async (event: Event): Promise<void> => {
    const started = performance.now();
    if (event.kind === 'saved') {
      console.log(`\n— saved ${event.file}: applying…`);
      tell(event.file, 'applying');
      const report = (await callLab('POST', 'apply', { rolling: true })) as string[];
      for (const line of report) console.log(`  ${line}`);
      if (report.length === 0) console.log('  nothing to change in the running lab');
    }
    tell(event.kind === 'saved' ? event.file : null, 'checking');
    console.log(`Checking lesson ${lesson.number}…`);
    const { results } = (await callLab('POST', 'check', { lesson: lesson.id })) as { results: CheckResult[] };
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(verdict(results, event.kind === 'saved' ? `${seconds} s after your save` : `${seconds} s`));
    if (results.every((r) => r.ok)) console.log(`\n${completion(catalog, lesson)}  (or press n)`);
    tell(null, 'done');
  };

  const stop = (code: number): void => {
    for (const w of watchers) w.close();
    if (timer) clearTimeout(timer);
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
    process.stdin.pause();
    tell(null, 'stopped');
    finish(code);
  };

  const onKey = async (key: string): Promise<void> => {
    if (running) return void console.log('  (busy: a run is in progress)');
    const progress = readProgress(settings.runDir);
    switch (key) {
      case 'q':
        return stop(0);
      case 'c':
        return submit({ kind: 'check' });
      case 'l':
        return void console.log(`\n${lessonMap(catalog, progress)}`);
      case 'h':
        await lessonCommand('hint', [lesson.number], settings, callLab);
        return;
      case 'p':
        await withLineInput(() => lessonCommand('predict', [lesson.number], settings, callLab));
        return;
      case 'r':
        await withLineInput(() => lessonCommand('reset', [lesson.number], settings, callLab));
        return;
      case 'n': {
        if (!progress.passed.includes(lesson.id)) {
          return void console.log(`  n goes on once lesson ${lesson.number}'s checks pass (c to check).`);
        }
        const i = catalog.lessons.findIndex((l) => l.id === lesson.id);
        const following = catalog.lessons[i + 1];
        if (!following) return void console.log('  That was the last lesson.');
        await lessonCommand('lesson', [following.number, '--in-watch'], settings, callLab);
        lesson = following;
        follow(lesson);
        console.log(`\nWatching ${filesOf(lesson)}.  ${KEYS}`);
        return;
      }
    }
  };

  follow(lesson);
  const mode = opts.manual ? 'manual mode: press c after each save' : `watching ${filesOf(lesson)}`;
  console.log(`Lesson ${lesson.number}: ${lesson.title}\n  ${lesson.exercise.task}\n  ${mode}`);
  tell(filesOf(lesson), 'watching');
  if (process.stdin.isTTY) {
    emitKeypressEvents(process.stdin);
    process.stdin.setRawMode(true);
    process.stdin.on('keypress', (_s: string, k: { name?: string; ctrl?: boolean }) => {
      if (k.ctrl && k.name === 'c') return stop(130);
      if (k.name) void onKey(k.name);
    });
  } else {
    // No terminal (a script or a test): lines of input stand in for the keys.
    const rl = createInterface({ input: process.stdin });
    rl.on('line', (line) => void onKey(line.trim()));
    rl.on('close', () => stop(0));
  }
  process.once('SIGINT', () => stop(130));
  submit({ kind: 'check' }); // where the lesson stands now
  // A lesson opened elsewhere (another terminal, the UI): follow it.
  const followCurrent = setInterval(() => {
    if (running) return;
    const now = current(catalog, settings);
    if (now.id === lesson.id) return;
    lesson = now;
    follow(lesson);
    console.log(`\nLesson ${lesson.number} is current now: ${lesson.title}\n  ${lesson.exercise.task}`);
    console.log(`Watching ${filesOf(lesson)}.  ${KEYS}`);
    tell(filesOf(lesson), 'watching');
  }, 1000);
  void done.then(() => clearInterval(followCurrent));
  return done;
}

function current(catalog: LessonCatalog, settings: LabSettings): Lesson {
  const id = readProgress(settings.runDir).current;
  return catalog.lesson(id ?? catalog.lessons[0]!.id);
}

function filesOf(lesson: Lesson): string {
  return lesson.exercise.files
    .filter((f) => f.edit)
    .map((f) => f.path)
    .join(', ');
}

/** A compact verdict: the count, then each failing check with its one-line reason. */
function verdict(results: CheckResult[], timing: string): string {
  const passed = results.filter((r) => r.ok).length;
  const head =
    passed === results.length
      ? `✓ all ${passed} checks pass (${timing})`
      : `✗ ${passed} of ${results.length} checks pass (${timing})`;
  const lines = results.map((r) =>
    r.ok ? `  ✓ ${r.title}` : `  ${r.verdict === 'unknown' ? '?' : '✗'} ${r.title}\n      ${r.detail}`,
  );
  return [head, ...lines].join('\n');
}

/** Questions (predict, reset) need line input: leave raw mode while they ask. */
async function withLineInput(ask: () => Promise<number>): Promise<void> {
  const raw = process.stdin.isTTY && process.stdin.isRaw;
  if (raw) process.stdin.setRawMode(false);
  try {
    await ask();
  } catch (err) {
    console.log(err instanceof LabError ? `✗ ${err.toString()}` : String(err));
  } finally {
    if (raw) process.stdin.setRawMode(true);
  }
}
