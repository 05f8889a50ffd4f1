// ecosystem.config.js, as the lab reads it: the PM2 apps that run a stage's
// chat instances come from its chatApps(). The file is read afresh for every
// stage change (the learner edits it in lessons 6 and 11), through the
// sources (the lab's own tests read the committed file, or a lesson's start).

import Module from 'node:module';
import path from 'node:path';
import { LabError } from '../errors.ts';
import { repoRoot } from '../settings.ts';
import type { Sources } from '../sources.ts';

/** One PM2 app definition, as ecosystem.config.js writes it (the fields the lab relies on). */
export interface Pm2App {
  name: string;
  script: string;
  /** 'fork' (default) or 'cluster' (every worker on one port: lesson 6). */
  exec_mode?: string;
  /** Workers of a cluster-mode app. */
  instances?: number;
  /** ms between PM2's SIGINT and its SIGKILL (PM2's default: 1600). */
  kill_timeout?: number;
  node_args?: string[] | string;
  env: Record<string, string>;
  [key: string]: unknown;
}

/** One instance's environment: its id and port, and every app setting (server/app/config.ts). */
export type InstanceEnv = Record<string, string> & { SERVER_ID: string; PORT: string };

export interface ChatAppsInput {
  instances: number;
  script: string;
  envOf(i: number): InstanceEnv;
}

const FILE = 'ecosystem.config.js';

/** The apps the (learner's) ecosystem file says run `input.instances` chat servers. */
export function chatApps(sources: Sources, input: ChatAppsInput): Pm2App[] {
  const exported = load(sources) as { chatApps?: unknown };
  if (typeof exported.chatApps !== 'function') {
    throw new LabError(`${FILE} must export chatApps({ instances, script, envOf })`, `see the comment in ${FILE}`);
  }
  let apps: unknown;
  try {
    apps = (exported.chatApps as (i: ChatAppsInput) => unknown)(input);
  } catch (err) {
    throw new LabError(`${FILE}: chatApps() threw: ${located(err)}`, `fix ${FILE}, then save`);
  }
  if (!Array.isArray(apps) || apps.length === 0) {
    throw new LabError(`${FILE}: chatApps() must return a non-empty list of PM2 apps`, `fix ${FILE}, then save`);
  }
  return apps.map((app: unknown, i) => {
    const a = app as Partial<Pm2App> | null;
    if (!a || typeof a.name !== 'string' || typeof a.script !== 'string' || typeof a.env !== 'object' || !a.env) {
      throw new LabError(
        `${FILE}: app ${i} from chatApps() needs a name, a script and an env`,
        `fix ${FILE}, then save`,
      );
    }
    return { ...(a as Pm2App), env: { ...a.env } };
  });
}

/** Compile the file's CommonJS from the sources, as if required from its real place. */
function load(sources: Sources): unknown {
  const filename = path.join(repoRoot, FILE);
  const mod = new Module(filename) as Module & { _compile(code: string, file: string): void };
  mod.filename = filename;
  mod.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(repoRoot);
  try {
    mod._compile(sources.read(FILE), filename);
  } catch (err) {
    throw new LabError(`${FILE} does not load: ${located(err)}`, `fix ${FILE}, then save`);
  }
  return mod.exports;
}

/** An error with the line of ecosystem.config.js it happened on, when its stack says. */
function located(err: unknown): string {
  const e = err as Error;
  const line = new RegExp(`${FILE.replace('.', '\\.')}:(\\d+)`).exec(e.stack ?? '')?.[1];
  return `${e.message}${line ? ` (line ${line})` : ''}`;
}
