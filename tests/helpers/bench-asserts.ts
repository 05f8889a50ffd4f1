// What every bench test checks of a report: each figure a real measurement
// (finite, percentiles in order, CPU for the processes named), and no lab
// left running afterwards.
import assert from 'node:assert/strict';
import { isPortFree } from '../../server/lab/ports.ts';
import type { LabSettings } from '../../server/lab/settings.ts';
import type { CpuUse } from '../bench/cpu.ts';
import type { Percentiles } from '../bench/histogram.ts';

export function assertPercentiles(p: Percentiles, what: string): void {
  assert.ok(p.count > 0, `${what}: no samples`);
  for (const key of ['min', 'mean', 'p50', 'p90', 'p99', 'max'] as const) {
    assert.ok(Number.isFinite(p[key]) && p[key] >= 0, `${what}.${key} = ${p[key]}`);
  }
  assert.ok(
    p.min <= p.p50 && p.p50 <= p.p90 && p.p90 <= p.p99 && p.p99 <= p.max,
    `${what}: out of order ${JSON.stringify(p)}`,
  );
  assert.ok(p.max > 0, `${what}: max is 0`);
}

export function assertCpu(cpu: CpuUse[], what: string, labels: string[]): void {
  for (const c of cpu) assert.ok(Number.isFinite(c.percent) && c.percent >= 0, `${what}: ${c.label} ${c.percent}`);
  for (const label of labels)
    assert.ok(
      cpu.some((c) => c.label === label),
      `${what}: no CPU figure for ${label} (${cpu.map((c) => c.label).join(', ')})`,
    );
}

/** Every number anywhere in the report is finite (NaN would become null in the JSON). */
export function assertAllFinite(value: unknown, where: string): void {
  if (typeof value === 'number') assert.ok(Number.isFinite(value), `${where} = ${value}`);
  else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) assertAllFinite(v, `${where}[${i}]`);
  } else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) assertAllFinite(v, `${where}.${k}`);
}

export async function assertLabGone(settings: LabSettings): Promise<void> {
  const { ports } = settings;
  for (const port of [
    ports.ui,
    ports.nginx,
    ports.redis,
    ports.instanceBase,
    ports.instanceBase + 1,
    ports.instanceBase + 2,
  ]) {
    assert.ok(await isPortFree(port), `port ${port} is still taken after the bench`);
  }
}
