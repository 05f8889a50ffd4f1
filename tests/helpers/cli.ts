// Driving the real CLI as a learner does, in child processes.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { repoRoot, type LabSettings } from '../../server/lab/settings.ts';

const run = promisify(execFile);

export function cliEnv(s: LabSettings): NodeJS.ProcessEnv {
  return {
    ...process.env,
    LAB_UI_PORT: String(s.ports.ui),
    LAB_NGINX_PORT: String(s.ports.nginx),
    LAB_REDIS_PORT: String(s.ports.redis),
    LAB_INSTANCE_BASE_PORT: String(s.ports.instanceBase),
    LAB_RUN_DIR: s.runDir,
  };
}

export async function cli(s: LabSettings, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['--import', 'tsx', 'server/lab/cli.ts', ...args], { cwd: repoRoot, env: cliEnv(s) });
}

/** `lab up` in the background; resolves once it prints that the lab is up. */
export async function cliUp(s: LabSettings, stage: string): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/lab/cli.ts', 'up', '--stage', stage], {
    cwd: repoRoot,
    env: cliEnv(s),
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lab up did not come up in 30 s:\n${out}`)), 30_000);
    child.stdout!.on('data', () => {
      if (out.includes('The lab is up')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`lab up exited with ${code}:\n${out}`));
    });
  });
  return { child, output: () => out };
}
