// One way to say what is wrong in a data file: the file, the field's path,
// and the problem, e.g.
//   lessons/05-redis-adapter/lesson.json stages[0].pingIntervalMs: too small: expected >= 100, got 5

import type { z } from 'zod';

export function formatIssue(where: string, issue: z.core.$ZodIssue): string {
  const field = issue.path.reduce<string>(
    (out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)),
    '',
  );
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') message = `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  // With { reportInput: true }, each issue carries the value that was refused.
  const input = (issue as { input?: unknown }).input;
  const got = input !== undefined && issue.code !== 'unrecognized_keys' ? `, got ${short(input)}` : '';
  return `${where}${field ? ` ${field}` : ''}: ${message}${got}`;
}

function short(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}
