// Lessons are data and prose: lessons/NN-slug/lesson.json plus README.md.
// The shape of lesson.json is the zod schema below; `npm run schema` writes it
// out as lessons/lesson.schema.json, which every lesson names in "$schema", so
// an editor completes and checks it. Fields:
//
//   title, summary   what the lesson is about
//   stages           stages this lesson defines (stages.ts)
//   begin            the stage the lesson opens in
//   target           the stage where, with the learner's fix, every check passes
//   checks           [{ id, title, kind, ...params, failsAtBegin? }] (checks/kinds/)
//   hints            revealed one at a time
//   exercise         { task, files: [{ path, start, solution?, edit? }] }: the real
//                    repo files the learner edits; opening the lesson puts each
//                    start file in place. The solution is the repo file as
//                    committed, unless the lesson gives its own.
//   predictions      multiple-choice questions asked before a check runs, graded
//                    against what the check measured
//
// The dev check (tests/integration/lessons/) proves, for every lesson, that
// its start files fail the checks they should, and its solutions pass them all.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { CHECK_KINDS } from './checks/index.ts';
import { LabError } from './errors.ts';
import { formatIssue } from './schema-errors.ts';
import { repoRoot } from './settings.ts';
import { ALIASES, parseStage, type Stage, stageSchema } from './stages.ts';

/** Repo files a lesson may give the learner to edit. */
export const EDITABLE =
  /^(server\/app\/[\w-]+\.ts|nginx\/[\w-]+\.conf|nginx\/upstream\/[\w-]+\.conf|ecosystem\.config\.js|tests\/learner\/[\w.-]+\.ts)$/;

const id = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes');

const checkCommon = {
  id: id.describe('Names the check in results and predictions'),
  title: z.string().min(1).describe('What the check proves, as a learner would say it'),
  failsAtBegin: z
    .boolean()
    .default(false)
    .describe('Must fail in the begin stage with the start files (the dev check proves it)'),
};

const checkSchema = z.discriminatedUnion(
  'kind',
  Object.entries(CHECK_KINDS).map(([kind, k]) =>
    z.strictObject({ ...checkCommon, kind: z.literal(kind), ...k.params.shape }).describe(`${kind}: ${k.about}`),
  ) as unknown as [z.ZodObject, ...z.ZodObject[]],
);

const fileSchema = z.strictObject({
  path: z
    .string()
    .regex(EDITABLE, 'a file in server/app/, nginx/, tests/learner/, or ecosystem.config.js')
    .describe('The real repo file, e.g. server/app/adapter.ts'),
  start: z
    .string()
    .min(1)
    .optional()
    .describe('Its start state, in the lesson folder, e.g. exercise/adapter.ts; default: the committed repo file'),
  solution: z.string().min(1).optional().describe('A solution in the lesson folder; default: the committed repo file'),
  edit: z
    .boolean()
    .default(true)
    .describe('false: the lesson only puts this file in place; the learner does not need to change it'),
});

const exerciseSchema = z.strictObject({
  task: z.string().min(1).describe('What the learner writes, in a sentence or two'),
  files: z.array(fileSchema).min(1),
});

const predictionSchema = z.strictObject({
  id,
  question: z.string().min(1).describe('Asked before the check runs'),
  stage: id.optional().describe('The stage the lab switches to before it runs the check (default: stay)'),
  check: id.describe('The check whose run answers it'),
  measure: z.string().min(1).describe("A figure that check measures (its kind's `measures`)"),
  choices: z
    .array(
      z.strictObject({
        text: z.string().min(1),
        when: z
          .strictObject({
            eq: z.union([z.number(), z.string(), z.boolean()]).optional(),
            min: z.number().optional(),
            max: z.number().optional(),
          })
          .describe('Right when the measured figure equals eq, or lies within [min, max]'),
      }),
    )
    .min(2),
  explain: z.string().min(1).describe('Said after grading: why it came out as it did'),
});

export const lessonSchema = z.strictObject({
  $schema: z.string().optional(),
  title: z.string().min(1),
  summary: z.string().min(1),
  stages: z.array(stageSchema).describe('Stages this lesson defines (it may use others)'),
  begin: id.describe('The stage the lesson opens in'),
  target: id.describe('The stage where every check passes, once the exercise is solved'),
  checks: z.array(checkSchema).min(1),
  hints: z.array(z.string().min(1)),
  exercise: exerciseSchema,
  predictions: z.array(predictionSchema).default([]),
});

export interface CheckSpec {
  id: string;
  title: string;
  kind: string;
  params: Record<string, unknown>;
  /** Must fail in the lesson's begin stage with its start files (the dev check proves it). */
  failsAtBegin: boolean;
}

export interface ExerciseFile {
  /** The real repo file, relative to the repo root. */
  path: string;
  /** Its start state (absolute path, in the lesson folder), or null: the committed repo file. */
  start: string | null;
  /** A solution of the lesson's own (absolute), or null: the committed repo file. */
  solution: string | null;
  /** Whether the learner is meant to change it (false: put in place as context). */
  edit: boolean;
}

export interface Exercise {
  task: string;
  files: ExerciseFile[];
}

export type Prediction = z.output<typeof predictionSchema>;

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
  exercise: Exercise;
  predictions: Prediction[];
}

export function parseLesson(raw: unknown, dir: string): Lesson {
  const id = path.basename(dir);
  const where = path.relative(repoRoot, path.join(dir, 'lesson.json'));
  const fail = (what: string): never => {
    throw new LabError(`${where}: ${what}`, 'fix the lesson file; `npm run lab -- doctor` checks every lesson');
  };
  // A check's kind picks its schema: name the known kinds when it is unknown.
  const rawChecks = (raw as { checks?: unknown } | null)?.checks;
  if (Array.isArray(rawChecks)) {
    rawChecks.forEach((c: unknown, i) => {
      const kind = (c as { kind?: unknown } | null)?.kind;
      if (typeof kind !== 'string' || !Object.hasOwn(CHECK_KINDS, kind)) {
        fail(
          `checks[${i}].kind ${JSON.stringify(kind)} is not a check kind (known: ${Object.keys(CHECK_KINDS).join(', ')})`,
        );
      }
    });
  }
  const parsed = lessonSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    throw new LabError(
      parsed.error.issues.map((issue) => formatIssue(where, issue)).join('\n'),
      'fix the lesson file; `npm run lab -- doctor` checks every lesson',
    );
  }
  const data = parsed.data;

  const checks: CheckSpec[] = data.checks.map((c) => {
    const {
      id: checkId,
      title,
      kind,
      failsAtBegin,
      ...params
    } = c as z.output<typeof checkSchema> & {
      id: string;
      title: string;
      kind: string;
      failsAtBegin: boolean;
    };
    return { id: checkId, title, kind, failsAtBegin, params };
  });
  const ids = new Set<string>();
  for (const c of checks) {
    if (ids.has(c.id)) fail(`two checks have the id "${c.id}"`);
    ids.add(c.id);
  }

  const inLesson = (file: string, field: string): string => {
    const abs = path.resolve(dir, file);
    if (!abs.startsWith(dir + path.sep) || !existsSync(abs)) fail(`${field} "${file}" does not exist in ${dir}`);
    return abs;
  };
  const files = data.exercise.files.map((f, i) => {
    if (!existsSync(path.join(repoRoot, f.path))) fail(`exercise.files[${i}].path "${f.path}" does not exist`);
    return {
      path: f.path,
      start: f.start === undefined ? null : inLesson(f.start, `exercise.files[${i}].start`),
      solution: f.solution === undefined ? null : inLesson(f.solution, `exercise.files[${i}].solution`),
      edit: f.edit,
    };
  });
  if (!files.some((f) => f.edit)) fail("exercise.files: at least one file must be the learner's to edit");
  files.forEach((f, i) => {
    if (f.edit && f.start === null) fail(`exercise.files[${i}]: a file the learner edits needs a "start" file`);
  });

  data.predictions.forEach((p, i) => {
    const check = checks.find((c) => c.id === p.check);
    if (!check) fail(`predictions[${i}].check "${p.check}" is not a check of this lesson`);
    const measures = CHECK_KINDS[check!.kind]!.measures ?? {};
    if (!Object.hasOwn(measures, p.measure)) {
      const known = Object.keys(measures).join(', ') || 'nothing';
      fail(`predictions[${i}].measure "${p.measure}": a ${check!.kind} check measures ${known}`);
    }
  });

  return {
    id,
    number: String(Number(id.slice(0, 2))),
    dir,
    title: data.title,
    summary: data.summary,
    stages: data.stages.map((s, i) => parseStage(s, id, `${where} stages[${i}]`)),
    begin: data.begin,
    target: data.target,
    checks,
    hints: data.hints,
    exercise: { task: data.exercise.task, files },
    predictions: data.predictions,
  };
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
      if (!this.stagesById.has(alias))
        throw new LabError(`no lesson defines the stage "${alias}", which every lab must have`);
    }
    for (const lesson of lessons) {
      for (const p of lesson.predictions) {
        if (p.stage && !this.stagesById.has(p.stage)) {
          throw new LabError(
            `${lesson.id}/lesson.json: prediction "${p.id}" names the stage "${p.stage}", which no lesson defines`,
          );
        }
      }
      for (const key of ['begin', 'target'] as const) {
        if (!this.stagesById.has(lesson[key])) {
          throw new LabError(
            `${lesson.id}/lesson.json: "${key}" names the stage "${lesson[key]}", which no lesson defines`,
          );
        }
      }
    }
  }

  static load(lessonsDir: string): LessonCatalog {
    lessonsDir = path.resolve(lessonsDir);
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
    if (!found) {
      const known = this.lessons.map((l) => `${l.number} (${l.id})`).join(', ');
      throw new LabError(`unknown lesson "${ref}"`, `lessons: ${known}`);
    }
    return found;
  }

  /** Every repo file some lesson's exercise writes, with the start versions lessons give it. */
  exerciseFiles(): Map<string, string[]> {
    const starts = new Map<string, string[]>();
    for (const file of this.lessons.flatMap((l) => l.exercise.files)) {
      const start = file.start ? [readFileSync(file.start, 'utf8')] : [];
      starts.set(file.path, [...(starts.get(file.path) ?? []), ...start]);
    }
    return starts;
  }
}

/** The JSON Schema of lesson.json, for editors (lessons/lesson.schema.json). */
export function lessonJsonSchema(): unknown {
  return z.toJSONSchema(lessonSchema, { io: 'input', unrepresentable: 'any' });
}
