// A learner's progress, kept in the run directory across lab restarts:
// the current lesson, the lessons whose checks passed, hints shown so far.

import type { PredictionResult } from './views.ts';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export type { PredictionResult } from './views.ts';

export interface Progress {
  current: string | null;
  /** Lessons opened at least once. */
  started: string[];
  passed: string[];
  hintsShown: Record<string, number>;
  /** lesson id → prediction id → the learner's answer and how it turned out. */
  predictions: Record<string, Record<string, PredictionResult>>;
}

const file = (runDir: string): string => path.join(runDir, 'progress.json');

export function readProgress(runDir: string): Progress {
  const empty: Progress = { current: null, started: [], passed: [], hintsShown: {}, predictions: {} };
  if (!existsSync(file(runDir))) return empty;
  try {
    const raw = JSON.parse(readFileSync(file(runDir), 'utf8')) as Partial<Progress>;
    const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((p) => typeof p === 'string') : []);
    const record = <T>(v: unknown): Record<string, T> =>
      typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, T>) : {};
    return {
      current: typeof raw.current === 'string' ? raw.current : null,
      started: strings(raw.started),
      passed: strings(raw.passed),
      hintsShown: record(raw.hintsShown),
      predictions: record(raw.predictions),
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
