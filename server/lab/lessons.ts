// Lessons are data and prose: lessons/NN-slug/lesson.json plus README.md.
//
//   title, summary   what the lesson is about
//   stages           stages this lesson defines (see stages.ts)
//   begin            the stage the lesson starts in: its checks (some) fail there
//   target           the stage where every check passes
//   checks           [{ id, title, kind, ...params, failsAtBegin? }] from checks/kinds.ts
//   hints            revealed one at a time (`lab hint`)
//   exercise         optional { file, replaces }: the learner edits `file` (in the
//                    lesson folder); `lab exercise N` runs the lab with it in place
//                    of the repo file `replaces`. The solution is that repo file.
//
// The dev check (tests/integration/lessons-dev-check.test.ts) proves every
// lesson's begin stage (and exercise start file) fails what it should, and
// its target passes everything.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CHECK_KINDS } from './checks/kinds.ts';
import { LabError } from './errors.ts';
import { repoRoot } from './settings.ts';
import { ALIASES, parseStage, type Stage } from './stages.ts';

export interface CheckSpec {
  id: string;
  title: string;
  kind: string;
  params: Record<string, unknown>;
  /** Must fail in the lesson's begin stage (the dev check proves it). */
  failsAtBegin: boolean;
}

export interface Exercise {
  /** The learner's file, absolute. */
  file: string;
  /** The repo file it stands in for, relative to the repo root (e.g. server/app/adapter.ts). */
  replaces: string;
}

export interface Lesson {
  /** Folder name, e.g. "05-redis-adapter". */
  id: string;
  /** "5" for 05-redis-adapter: what learners type. */
  number: string;
  dir: string;
  title: string;
  summary: string;
  stages: Stage[];
  begin: string;
  target: string;
  checks: CheckSpec[];
  hints: string[];
  exercise: Exercise | null;
}

/** Repo files an exercise may stand in for: the server's modules and nginx's upstreams. */
const REPLACEABLE = /^(server\/app\/[\w-]+\.ts|nginx\/upstream\/[\w-]+\.conf)$/;

export function parseLesson(raw: unknown, dir: string): Lesson {
  const id = path.basename(dir);
  const file = path.join(dir, 'lesson.json');
  const fail = (what: string): never => {
    throw new LabError(`${file}: ${what}`, 'fix the lesson file; `npm run lab -- doctor` checks every lesson');
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('must be a JSON object');
  const obj = raw as Record<string, unknown>;
  const text = (key: string): string => {
    const v = obj[key];
    if (typeof v !== 'string' || v.trim() === '') fail(`"${key}" must be a non-empty string`);
    return v as string;
  };
  const known = ['title', 'summary', 'stages', 'begin', 'target', 'checks', 'hints', 'exercise'];
  for (const key of Object.keys(obj)) if (!known.includes(key)) fail(`unknown field "${key}" (known: ${known.join(', ')})`);

  if (!Array.isArray(obj.stages)) fail('"stages" must be a list (it may be empty)');
  const stages = (obj.stages as unknown[]).map((s, i) => parseStage(s, id, `${file} stages[${i}]`));

  if (!Array.isArray(obj.checks) || obj.checks.length === 0) fail('"checks" must be a non-empty list');
  const checks = (obj.checks as unknown[]).map((c, i) => parseCheck(c, `${file} checks[${i}]`));
  const ids = new Set<string>();
  for (const c of checks) {
    if (ids.has(c.id)) fail(`two checks have the id "${c.id}"`);
    ids.add(c.id);
  }

  if (!Array.isArray(obj.hints) || obj.hints.some((h) => typeof h !== 'string' || h.trim() === '')) fail('"hints" must be a list of non-empty strings');

  let exercise: Exercise | null = null;
  if (obj.exercise !== undefined) {
    const e = obj.exercise as Record<string, unknown>;
    if (typeof e !== 'object' || e === null || typeof e.file !== 'string' || typeof e.replaces !== 'string') {
      fail('"exercise" must be { "file": "<path in the lesson folder>", "replaces": "<repo path>" }');
    }
    const learnerFile = path.resolve(dir, e.file as string);
    if (!learnerFile.startsWith(dir + path.sep) || !existsSync(learnerFile)) fail(`exercise file "${String(e.file)}" does not exist in ${dir}`);
    if (!REPLACEABLE.test(e.replaces as string)) fail(`exercise "replaces" must be a file in server/app/ or nginx/upstream/, got "${String(e.replaces)}"`);
    if (!existsSync(path.join(repoRoot, e.replaces as string))) fail(`exercise replaces "${String(e.replaces)}", which does not exist`);
    exercise = { file: learnerFile, replaces: e.replaces as string };
  }

  return {
    id,
    number: String(Number(id.slice(0, 2))),
    dir,
    title: text('title'),
    summary: text('summary'),
    stages,
    begin: text('begin'),
    target: text('target'),
    checks,
    hints: obj.hints as string[],
    exercise,
  };
}

function parseCheck(raw: unknown, where: string): CheckSpec {
  const fail = (what: string): never => {
    throw new LabError(`${where}: ${what}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('a check must be an object');
  const { id, title, kind, failsAtBegin, ...rest } = raw as Record<string, unknown>;
  if (typeof id !== 'string' || !/^[a-z0-9-]+$/.test(id)) fail('check "id" must be lower-case letters, digits and dashes');
  if (typeof title !== 'string' || title === '') fail(`check "${String(id)}" needs a "title"`);
  const spec = typeof kind === 'string' && Object.hasOwn(CHECK_KINDS, kind) ? CHECK_KINDS[kind]! : undefined;
  if (!spec) fail(`check "${String(id)}" has an unknown kind ${JSON.stringify(kind)} (known: ${Object.keys(CHECK_KINDS).join(', ')})`);
  if (failsAtBegin !== undefined && typeof failsAtBegin !== 'boolean') fail(`check "${String(id)}": "failsAtBegin" must be true or false`);
  const params: Record<string, unknown> = {};
  for (const [name, param] of Object.entries(spec!.params)) params[name] = param.fallback;
  for (const [name, value] of Object.entries(rest)) {
    const param = spec!.params[name];
    if (!param) fail(`check "${String(id)}" (${String(kind)}) has no parameter "${name}" (it takes: ${Object.keys(spec!.params).join(', ') || 'none'})`);
    const problem = param!.check(value);
    if (problem) fail(`check "${String(id)}" parameter "${name}" must be ${problem}, got ${JSON.stringify(value)}`);
    params[name] = value;
  }
  return { id: id as string, title: title as string, kind: kind as string, params, failsAtBegin: failsAtBegin === true };
}

/** Every lesson, and every stage they define, checked against each other. */
export class LessonCatalog {
  private readonly stagesById = new Map<string, Stage>();

  constructor(readonly lessons: Lesson[]) {
    for (const lesson of lessons) {
      for (const stage of lesson.stages) {
        const twin = this.stagesById.get(stage.id);
        if (twin) throw new LabError(`stage id "${stage.id}" is defined twice: in ${twin.lesson} and ${lesson.id}`);
        this.stagesById.set(stage.id, stage);
      }
    }
    for (const alias of Object.values(ALIASES)) {
      if (!this.stagesById.has(alias)) throw new LabError(`no lesson defines the stage "${alias}", which every lab must have`);
    }
    for (const lesson of lessons) {
      for (const key of ['begin', 'target'] as const) {
        if (!this.stagesById.has(lesson[key])) throw new LabError(`${lesson.id}/lesson.json: "${key}" names the stage "${lesson[key]}", which no lesson defines`);
      }
    }
  }

  static load(lessonsDir: string): LessonCatalog {
    if (!existsSync(lessonsDir)) throw new LabError(`lessons folder not found: ${lessonsDir}`);
    const lessons: Lesson[] = [];
    const dirs = readdirSync(lessonsDir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && /^\d\d-/.test(d.name))
      .map((d) => path.join(lessonsDir, d.name))
      .sort();
    for (const dir of dirs) {
      const file = path.join(dir, 'lesson.json');
      if (!existsSync(file)) throw new LabError(`${file} is missing`, 'every lesson folder needs a lesson.json');
      let raw: unknown;
      try {
        raw = JSON.parse(readFileSync(file, 'utf8'));
      } catch (err) {
        throw new LabError(`${file} is not valid JSON: ${(err as Error).message}`);
      }
      lessons.push(parseLesson(raw, dir));
    }
    return new LessonCatalog(lessons);
  }

  stage(id: string): Stage {
    const stage = this.stagesById.get(id);
    if (!stage) throw new LabError(`unknown stage "${id}"`, `known stages: ${[...this.stagesById.keys()].join(', ')}`);
    return stage;
  }

  stages(): Stage[] {
    return [...this.stagesById.values()];
  }

  /** By folder name ("05-redis-adapter") or number ("5", "05"). */
  lesson(ref: string): Lesson {
    const found = this.lessons.find((l) => l.id === ref || l.number === String(Number(ref)));
    if (!found) throw new LabError(`unknown lesson "${ref}"`, `lessons: ${this.lessons.map((l) => `${l.number} (${l.id})`).join(', ')}`);
    return found;
  }

  /** The lesson that defines a stage. */
  lessonOf(stageId: string): Lesson | undefined {
    const stage = this.stagesById.get(stageId);
    return stage ? this.lessons.find((l) => l.id === stage.lesson) : undefined;
  }
}
