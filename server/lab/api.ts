// The control API's requests, one schema each: the CLI and the UI send these,
// and the control plane refuses anything else with a one-line reason (a
// missing field is an error, never coerced into "undefined").

import { z } from 'zod';

const name = z.string().min(1).max(64);

export const API_BODIES = {
  stage: z.strictObject({ stage: name }),
  lesson: z.strictObject({ lesson: name }),
  /** Re-apply the current stage after the learner saved a file (the watch loop). */
  apply: z.strictObject({ rolling: z.boolean().default(true) }),
  check: z.strictObject({ lesson: name }),
  predict: z.strictObject({ lesson: name, prediction: name, choice: z.number().int().min(0).max(20) }),
  solution: z.strictObject({ lesson: name }),
  reset: z.strictObject({ lesson: name }),
  /** The watch loop says what it is doing, so the UI can show it too. */
  watch: z.strictObject({
    file: z.string().max(300).nullable(),
    state: z.enum(['watching', 'saved', 'applying', 'checking', 'done', 'stopped']),
  }),
  fault: z.discriminatedUnion('target', [
    z.strictObject({ target: z.literal('redis'), fault: z.enum(['stop', 'start']) }),
    z.strictObject({ target: z.literal('instance'), fault: z.enum(['crash', 'stop', 'start']), serverId: name }),
  ]),
  fleet: z.discriminatedUnion('action', [
    z.strictObject({
      action: z.literal('add'),
      count: z.number().int().min(1).max(5000).default(1),
      source: z.enum(['distinct', 'shared']).default('distinct'),
      rooms: z.array(name).default([]),
    }),
    z.strictObject({ action: z.literal('remove'), ids: z.array(name).optional() }),
    z.strictObject({ action: z.literal('join'), room: name, ids: z.array(name) }),
    z.strictObject({ action: z.literal('send'), id: name, room: name, text: z.string().min(1).max(100_000) }),
    z.strictObject({ action: z.literal('who'), id: name, room: name }),
    z.strictObject({ action: z.literal('stats'), id: name }),
  ]),
  down: z.strictObject({}),
} as const;

export type ApiName = keyof typeof API_BODIES;
export type ApiBody<N extends ApiName> = z.output<(typeof API_BODIES)[N]>;
