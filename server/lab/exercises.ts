// Putting a lesson's files in place. The learner edits the REAL repo files
// (server/app/adapter.ts, nginx/upstream/ip-hash.conf, ecosystem.config.js…):
// opening a lesson writes each start file over its real file, after saving
// anything of the learner's that would be lost. In the lab's own tests
// (pristine sources) the same happens in memory, never on disk.

import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ExerciseFile, Lesson } from './lessons.ts';
import { repoRoot } from './settings.ts';
import type { Sources } from './sources.ts';

/** The start state: the lesson's start file, or the repo file as committed. */
export function startOf(file: ExerciseFile, sources: Sources): string {
  if (file.start) return readFileSync(file.start, 'utf8');
  return sources.committed(file.path) ?? readFileSync(path.join(repoRoot, file.path), 'utf8');
}

/** The solution: the lesson's own, or the repo file as committed. */
export function solutionOf(file: ExerciseFile, sources: Sources): string {
  if (file.solution) return readFileSync(file.solution, 'utf8');
  return sources.committed(file.path) ?? readFileSync(path.join(repoRoot, file.path), 'utf8');
}

export type Version = 'start' | 'solution';

/**
 * Put `version` of every file of `lesson` in place. Returns one line per file
 * that changed, naming where a learner's own edits were saved.
 */
export function putInPlace(lesson: Lesson, version: Version, sources: Sources, runDir: string): string[] {
  const lines: string[] = [];
  for (const file of lesson.exercise.files) {
    const content = version === 'start' ? startOf(file, sources) : solutionOf(file, sources);
    if (sources.mode === 'pristine') {
      sources.overlay(file.path, content);
      continue;
    }
    const real = path.join(repoRoot, file.path);
    const current = existsSync(real) ? readFileSync(real, 'utf8') : null;
    if (current === content) continue;
    const saved = current !== null && !isKnownVersion(current, file.path, sources) ? backUp(real, runDir) : null;
    writeFileSync(real, content);
    const what = version === 'start' ? 'the start version is in place' : 'the solution is in place';
    lines.push(`${file.path}: ${what}${saved ? ` (your version was saved as ${path.relative(repoRoot, saved)})` : ''}`);
  }
  return lines;
}

/** A file's content is one the lab can always give back (committed, or a lesson's start): no need to save it. */
function isKnownVersion(content: string, rel: string, sources: Sources): boolean {
  return content === sources.committed(rel) || sources.knownStarts(rel).includes(content);
}

function backUp(real: string, runDir: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const copy = path.join(runDir, 'backups', stamp, path.relative(repoRoot, real));
  mkdirSync(path.dirname(copy), { recursive: true });
  copyFileSync(real, copy);
  return copy;
}
