// nginx as the lab's load balancer: render the template for a stage, prove it
// with `nginx -t`, then start it or reload it gracefully (SIGHUP keeps
// established connections on the old workers until they close).

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { LabError } from '../errors.ts';
import { assertPortFree } from '../ports.ts';
import { isOurs, spawnService, stopProcess, waitFor } from '../processes.ts';
import { repoRoot } from '../settings.ts';
import type { LoadBalancer } from '../stages.ts';

const run = promisify(execFile);
export type BalancedMode = Exclude<LoadBalancer, 'none'>;

export interface NginxConfigInput {
  mode: BalancedMode;
  listenPort: number;
  upstreamPorts: number[];
  proxyReadTimeout: number;
  websocketHeaders: boolean;
  workerConnections: number;
  runDir: string;
  /** The upstream block's template (default: nginx/upstream/<mode>.conf). */
  upstreamFile?: string;
}

const nginxDir = path.join(repoRoot, 'nginx');

/**
 * Fill `{{name}}` placeholders. Comment lines are left alone, so a comment may
 * mention a placeholder. A placeholder left unfilled is a bug in the lab.
 */
export function fill(template: string, values: Record<string, string>): string {
  return template
    .split('\n')
    .map((line) =>
      line.trimStart().startsWith('#')
        ? line
        : line.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
            const value = values[name];
            if (value === undefined) throw new Error(`nginx template placeholder {{${name}}} has no value`);
            return value;
          }),
    )
    .join('\n');
}

/** A config's generation: changes whenever anything that goes into it changes. */
function generationOf(config: string): string {
  return createHash('sha1').update(config).digest('hex').slice(0, 12);
}

export interface RenderedConfig {
  text: string;
  /** Served by /nginx-health, to tell when a reload has taken over. */
  generation: string;
}

export function renderNginxConfig(input: NginxConfigInput): RenderedConfig {
  const servers = input.upstreamPorts
    // Mark an instance failed after one refused connection and retry it after 2 s,
    // so a killed instance's clients move on quickly.
    .map((port) => `        server 127.0.0.1:${port} max_fails=1 fail_timeout=2s;`)
    .join('\n');
  const upstreamFile = input.upstreamFile ?? path.join(nginxDir, 'upstream', `${input.mode}.conf`);
  const upstream = fill(readFileSync(upstreamFile, 'utf8'), { servers }).trimEnd();
  const websocketHeaders = input.websocketHeaders
    ? '            proxy_set_header Upgrade $http_upgrade;\n            proxy_set_header Connection $connection_upgrade;'
    : '            # Upgrade/Connection headers deliberately NOT forwarded: clients stay on polling.';
  const values = {
    run_dir: input.runDir,
    upstream,
    listen: `127.0.0.1:${input.listenPort}`,
    websocket_headers: websocketHeaders,
    proxy_read_timeout: String(input.proxyReadTimeout),
    worker_connections: String(input.workerConnections),
  };
  const template = readFileSync(path.join(nginxDir, 'lab.conf.template'), 'utf8');
  const generation = generationOf(fill(template, { ...values, generation: '' }));
  return { text: fill(template, { ...values, generation }), generation };
}

/** Ask nginx, on a fresh connection each time, which config generation serves it. */
function servedGeneration(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/nginx-health', agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body.trim().replace(/^ok /, '')));
    });
    req.on('error', () => resolve(null));
    req.setTimeout(1000, () => req.destroy());
  });
}

export const nginxConfPath = (runDir: string): string => path.join(runDir, 'nginx.conf');
const args = (runDir: string): string[] => ['-p', runDir, '-c', nginxConfPath(runDir), '-e', path.join(runDir, 'nginx-error.log')];

/** Write the config and check it with `nginx -t`; a config nginx rejects never replaces a working one. */
export async function writeAndTest(bin: string, runDir: string, config: string): Promise<void> {
  mkdirSync(path.join(runDir, 'nginx-tmp'), { recursive: true });
  const file = nginxConfPath(runDir);
  const candidate = `${file}.candidate`;
  writeFileSync(candidate, config);
  try {
    await run(bin, ['-t', '-q', '-p', runDir, '-c', candidate, '-e', path.join(runDir, 'nginx-error.log')]);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? String(err);
    throw new LabError(`nginx rejected the rendered config (${candidate}):\n${stderr.trim()}`);
  }
  writeFileSync(file, config);
}

export const nginxMarker = (runDir: string): string => `-p ${runDir}`;

export async function startNginx(bin: string, runDir: string, port: number): Promise<number> {
  await assertPortFree(port, 'nginx', 'LAB_NGINX_PORT');
  const pid = await spawnService(bin, [...args(runDir), '-g', 'daemon off;'], path.join(runDir, 'nginx.out.log'), 'nginx');
  await waitFor(`nginx to listen on ${port}`, 5000, async () => {
    if (!isOurs(pid, nginxMarker(runDir))) throw new LabError(`nginx exited at start; see ${path.join(runDir, 'nginx-error.log')}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/nginx-health`);
      return res.ok ? true : undefined;
    } catch {
      return undefined;
    }
  });
  return pid;
}

/**
 * Graceful reload: new workers take the new config, old ones finish their
 * connections on the old one. Resolves once fresh connections are served by
 * the new config, several times in a row (an old worker may still accept for
 * a moment after the new ones start).
 */
export async function reloadNginx(pid: number, runDir: string, port: number, generation: string): Promise<void> {
  if (!isOurs(pid, nginxMarker(runDir))) throw new LabError(`nginx (pid ${pid}) is not running; cannot reload`);
  process.kill(pid, 'SIGHUP');
  let inARow = 0;
  await waitFor('nginx to serve the new config', 5000, async () => {
    inARow = (await servedGeneration(port)) === generation ? inARow + 1 : 0;
    return inARow >= 5 ? true : undefined;
  });
}

export async function stopNginx(pid: number, runDir: string): Promise<void> {
  // SIGTERM is nginx's fast shutdown; SIGQUIT would wait for every WebSocket to close.
  await stopProcess(pid, nginxMarker(runDir));
}

/** The last `lines` lines of nginx's error log: what it says when it refuses or fails connections. */
export function nginxErrorTail(runDir: string, lines = 20): string[] {
  try {
    return readFileSync(path.join(runDir, 'nginx-error.log'), 'utf8').trimEnd().split('\n').slice(-lines);
  } catch {
    return [];
  }
}
