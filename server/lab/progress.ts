// A learner's progress, kept in the run directory across lab restarts:
// the current lesson, the lessons whose checks passed, hints shown so far.

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Progress {
  current: string | null;
  passed: string[];
  hintsShown: Record<string, number>;
}

const file = (runDir: string): string => path.join(runDir, 'progress.json');

export function readProgress(runDir: string): Progress {
  const empty: Progress = { current: null, passed: [], hintsShown: {} };
  if (!existsSync(file(runDir))) return empty;
  try {
    const raw = JSON.parse(readFileSync(file(runDir), 'utf8')) as Partial<Progress>;
    return {
      current: typeof raw.current === 'string' ? raw.current : null,
      passed: Array.isArray(raw.passed) ? raw.passed.filter((p) => typeof p === 'string') : [],
      hintsShown: typeof raw.hintsShown === 'object' && raw.hintsShown !== null ? raw.hintsShown : {},
    };
  } catch {
    return empty; // a damaged file loses progress, never the lab
  }
}

export function updateProgress(runDir: string, change: (p: Progress) => void): Progress {
  const progress = readProgress(runDir);
  change(progress);
  mkdirSync(runDir, { recursive: true });
  writeFileSync(`${file(runDir)}.tmp`, JSON.stringify(progress, null, 2));
  renameSync(`${file(runDir)}.tmp`, file(runDir));
  return progress;
}
