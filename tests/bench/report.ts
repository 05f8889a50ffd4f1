// Writing a run's results: the JSON (every figure, for tools) and the HTML
// report (charts and tables, for people), side by side, named by start time.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderHtml } from './html.ts';
import type { BenchReport } from './results.ts';

export function writeReport(report: BenchReport, outDir: string): { json: string; html: string } {
  mkdirSync(outDir, { recursive: true });
  const stamp = report.startedAt.replace(/[-:]/g, '').replace('T', '-').slice(0, 15); // 20250101-120000
  const json = path.join(outDir, `bench-${stamp}.json`);
  const html = path.join(outDir, `bench-${stamp}.html`);
  // NaN and Infinity are not JSON: they become null (the smoke test proves there are none).
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(html, renderHtml(report));
  return { json, html };
}
