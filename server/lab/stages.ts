// Stages are data. Each lesson's lesson.json lists the stages it defines; a
// stage says only what differs from the defaults. Its fields are the lab's own
// (how many instances, which load balancer) plus every per-stage setting of
// the app, taken from the app's settings table (server/app/config.ts): a new
// setting there is a new stage field here, with its type, range and default.
// The reconciler turns a stage into running processes; nothing in the engine
// knows about any lesson.

import { z } from 'zod';
import { PER_STAGE } from '../app/config.ts';
import { LabError } from './errors.ts';
import { formatIssue } from './schema-errors.ts';

export const LOAD_BALANCERS = ['none', 'round-robin', 'ip-hash', 'hash-consistent', 'cookie'] as const;
export type LoadBalancer = (typeof LOAD_BALANCERS)[number];

/**
 * What the instances run: the learner's app with the lab's probe preloaded,
 * or a bare Socket.IO server with no lab code at all (the baseline that
 * `npm run bench` measures the lab against, in the same run).
 */
export const STAGE_SERVERS = ['app', 'bare'] as const;
export type StageServer = (typeof STAGE_SERVERS)[number];

/** What the lab itself sets up for a stage (the rest goes to every instance). */
const LAB_FIELDS = {
  instances: z.number().int().min(1).max(9).default(3).describe('How many chat instances (s1, s2, …) PM2 runs'),
  loadBalancer: z
    .enum(LOAD_BALANCERS)
    .default('ip-hash')
    .describe(
      'The front door: none (clients go straight to an instance), or nginx with the upstream ' +
        'nginx/upstream/<loadBalancer>.conf',
    ),
  redis: z.boolean().default(false).describe('Run Redis even when no adapter needs it'),
  server: z
    .enum(STAGE_SERVERS)
    .default('app')
    .describe(
      'What the instances run: app (server/app, with the lab probe) or bare (tests/bench/bare/server.ts: ' +
        'a minimal Socket.IO server with no lab code, the baseline of npm run bench)',
    ),
};

type AppStageFields = { [K in keyof typeof PER_STAGE]: (typeof PER_STAGE)[K]['schema'] };
const APP_FIELDS = Object.fromEntries(
  Object.entries(PER_STAGE).map(([k, s]) => [k, (s as { schema: z.ZodType }).schema]),
) as AppStageFields;

/** The app settings a stage carries, in the order the table lists them. */
export const APP_STAGE_FIELDS = Object.keys(PER_STAGE) as (keyof AppStageFields)[];

export const stageSchema = z.strictObject({
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,40}$/, 'lower-case letters, digits and dashes')
    .describe('How learners and the CLI name the stage: `npm run lab -- stage <id>`'),
  title: z.string().min(1).describe('One line: what runs in this stage'),
  ...LAB_FIELDS,
  ...APP_FIELDS,
});

export type Stage = z.output<typeof stageSchema> & {
  /** The lesson folder that defines this stage. */
  lesson: string;
};

/** The aliases every lab has (the contract's stage ids). */
export const ALIASES = { start: 'start', scaled: 'scaled' } as const;

/** Validate one stage as written in a lesson file; a problem names the file and field. */
export function parseStage(raw: unknown, lesson: string, where: string): Stage {
  const parsed = stageSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    throw new LabError(
      parsed.error.issues.map((issue) => formatIssue(where, issue)).join('\n'),
      'fix the lesson file; `npm run lab -- doctor` lists every problem',
    );
  }
  const stage = { ...parsed.data, lesson };
  // An adapter needs its Redis.
  if (stage.adapter !== 'none') stage.redis = true;
  return stage;
}
