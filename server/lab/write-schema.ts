// `npm run schema`: writes lessons/lesson.schema.json from the lesson schema
// (lessons.ts), which takes its stage fields from the app's settings table and
// its checks from the check kinds. Every lesson.json names it in "$schema".

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { lessonJsonSchema } from './lessons.ts';
import { repoRoot } from './settings.ts';

export const schemaFile = path.join(repoRoot, 'lessons', 'lesson.schema.json');
export const schemaText = (): string => `${JSON.stringify(lessonJsonSchema(), null, 2)}\n`;

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(schemaFile, schemaText());
  console.log(`wrote ${path.relative(repoRoot, schemaFile)}`);
}
