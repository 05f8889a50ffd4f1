// The server bundle the instances run: server/app as ecosystem.config.js
// builds it, except that during an exercise the learner's file is loaded in
// place of the repo file it replaces.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Plugin } from 'esbuild';
import { LabError } from './errors.ts';
import type { Exercise } from './lessons.ts';
import { ecosystem } from './services/pm2.ts';
import { repoRoot } from './settings.ts';

export async function buildServerBundle(exercise: Exercise | null): Promise<string> {
  if (!exercise || !exercise.replaces.startsWith('server/app/')) return ecosystem.buildServer();
  const { build } = await import('esbuild');
  const replaced = path.join(repoRoot, exercise.replaces);
  const swap: Plugin = {
    name: 'lab-exercise',
    setup(b) {
      const filter = new RegExp(`^${replaced.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
      // The learner's file is read from where it lives, so its own imports resolve from there.
      b.onLoad({ filter }, () => ({ contents: readFileSync(exercise.file, 'utf8'), loader: 'ts', resolveDir: path.dirname(exercise.file) }));
    },
  };
  try {
    const { outputFiles } = await build({ ...ecosystem.serverBuildOptions(), plugins: [swap], logLevel: 'silent' });
    return ecosystem.writeBundle(outputFiles![0]!.contents);
  } catch (err) {
    const errors = (err as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors ?? [];
    const lines = errors.map((e) => `  ${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`);
    throw new LabError(`your exercise file does not build:\n${lines.join('\n') || String(err)}`, `fix ${path.relative(repoRoot, exercise.file)}, then run the exercise again`);
  }
}

/** The upstream file for a load-balancing mode: the learner's, if the exercise replaces it. */
export function upstreamFile(mode: string, exercise: Exercise | null): string {
  const rel = `nginx/upstream/${mode}.conf`;
  return exercise?.replaces === rel ? exercise.file : path.join(repoRoot, rel);
}
