// `lab doctor`: everything the lab needs, checked, each problem with its fix.

import { findBinary } from './binaries.ts';
import { LabError } from './errors.ts';
import { LAB_MARKER } from './lab.ts';
import { isPortFree } from './ports.ts';
import { isOurs } from './processes.ts';
import { readRunState } from './run-state.ts';
import type { LabSettings } from './settings.ts';
import { LessonCatalog } from './lessons.ts';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

export async function runDoctor(settings: LabSettings): Promise<number> {
  const checks: Check[] = [];
  const major = Number(process.versions.node.split('.')[0]);
  checks.push({
    name: 'node',
    ok: major >= 20,
    detail: process.version,
    fix: 'install Node.js 20 or newer (node-redis v6 needs it)',
  });

  const mac = process.platform === 'darwin';
  for (const [bin, pkg, brew] of [
    ['redis-server', 'redis-server', 'redis'],
    ['nginx', 'nginx', 'nginx'],
    ['haproxy', 'haproxy', 'haproxy'],
    ['initdb', 'postgresql', 'postgresql@16'],
  ] as const) {
    const found = findBinary(bin);
    checks.push({
      name: bin,
      ok: found !== null,
      detail: found ?? 'not found',
      fix: mac ? `brew install ${brew}` : `sudo apt-get install -y ${pkg}`,
    });
  }
  const chromium = process.env.CHROMIUM_PATH ?? findBinary('chromium') ?? findBinary('chromium-browser');
  checks.push({
    name: 'chromium (tests only)',
    ok: chromium !== null,
    detail: chromium ?? 'not found',
    fix: mac
      ? 'brew install --cask chromium, or set CHROMIUM_PATH'
      : 'sudo apt-get install -y chromium, or set CHROMIUM_PATH',
  });

  const running = readRunState(settings.runDir);
  const labRunning = running !== null && isOurs(running.labPid, LAB_MARKER);
  for (const [what, port, env] of [
    ['lab UI', settings.ports.ui, 'LAB_UI_PORT'],
    ['nginx', settings.ports.nginx, 'LAB_NGINX_PORT'],
    ['redis', settings.ports.redis, 'LAB_REDIS_PORT'],
    ['instance s1', settings.ports.instanceBase, 'LAB_INSTANCE_BASE_PORT'],
  ] as const) {
    const free = await isPortFree(port);
    checks.push({
      name: `port ${port} (${what})`,
      ok: free || labRunning,
      detail: free ? 'free' : labRunning ? 'used by the running lab' : 'in use by another process',
      fix: `stop what listens on ${port}, or set ${env}=<port>`,
    });
  }

  try {
    const catalog = LessonCatalog.load(settings.lessonsDir);
    checks.push({
      name: 'lessons',
      ok: true,
      detail: `${catalog.lessons.length} lessons, ${catalog.stages().length} stages`,
    });
  } catch (err) {
    checks.push({
      name: 'lessons',
      ok: false,
      detail: err instanceof LabError ? err.message : String(err),
      fix: 'fix the lesson file named above',
    });
  }

  for (const c of checks) {
    console.log(`${c.ok ? '  ok ' : '  ✗  '} ${c.name.padEnd(26)} ${c.detail}`);
    if (!c.ok && c.fix) console.log(`       → ${c.fix}`);
  }
  const failed = checks.filter((c) => !c.ok && !c.name.includes('tests only'));
  console.log(
    failed.length === 0
      ? '\nEverything the lab needs is here.'
      : `\n${failed.length} problem(s) to fix before \`npm start\`.`,
  );
  return failed.length === 0 ? 0 : 1;
}
