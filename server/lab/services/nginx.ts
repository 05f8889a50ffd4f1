// nginx as the lab's load balancer: render the template for a stage, prove it
// with `nginx -t`, then start it or reload it gracefully (SIGHUP keeps
// established connections on the old workers until they close).

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
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
  listenPort: number;
  upstreamPorts: number[];
  runDir: string;
  /** The files the config includes, as paths nginx can read, and their contents (for the generation). */
  includes: { workers: IncludedFile; upstream: IncludedFile; proxy: IncludedFile };
}

export interface IncludedFile {
  path: string;
  content: string;
}

const nginxDir = path.join(repoRoot, 'nginx');

/**
 * After one refused connection nginx leaves an instance out for this long
 * (passive health check), and meanwhile sends its clients elsewhere, even
 * under ip_hash: a polling session begun in that window breaks when the
 * instance comes back into rotation.
 */
export const FAIL_TIMEOUT_S = 2;

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

export interface RenderedConfig {
  text: string;
  /** The upstream's servers, written to servers.conf beside the config. */
  servers: string;
  /** Served by /nginx-health, to tell when a reload has taken over. Changes with any included file. */
  generation: string;
}

export function renderNginxConfig(input: NginxConfigInput): RenderedConfig {
  // The upstream's state (round-robin position, failed servers) lives in shared
  // memory, so both worker processes act as one balancer: without the zone,
  // each worker keeps its own rotation and its own idea of who is down.
  const zone = 'zone chat_instances 64k;\n';
  const servers = input.upstreamPorts
    // Mark an instance failed after one refused connection and retry it after 2 s,
    // so a killed instance's clients move on quickly.
    .map((port) => `server 127.0.0.1:${port} max_fails=1 fail_timeout=${FAIL_TIMEOUT_S}s;`)
    .join('\n');
  const values = {
    run_dir: input.runDir,
    listen: `127.0.0.1:${input.listenPort}`,
    workers_conf: input.includes.workers.path,
    upstream_conf: input.includes.upstream.path,
    proxy_conf: input.includes.proxy.path,
  };
  const template = readFileSync(path.join(nginxDir, 'lab.conf.template'), 'utf8');
  const { workers, upstream, proxy } = input.includes;
  const generation = createHash('sha1')
    .update(
      [fill(template, { ...values, generation: '' }), servers, workers.content, upstream.content, proxy.content].join(
        '\0',
      ),
    )
    .digest('hex')
    .slice(0, 12);
  return { text: fill(template, { ...values, generation }), servers: `${zone}${servers}\n`, generation };
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
const args = (runDir: string): string[] => [
  '-p',
  runDir,
  '-c',
  nginxConfPath(runDir),
  '-e',
  path.join(runDir, 'nginx-error.log'),
];

/**
 * Write the config and check it with `nginx -t`; a config nginx rejects never
 * replaces a working one. An error inside an included file names that file
 * (the learner's), as the repo names it.
 */
export async function writeAndTest(bin: string, runDir: string, config: RenderedConfig | string): Promise<void> {
  const { text, servers } = typeof config === 'string' ? { text: config, servers: '' } : config;
  mkdirSync(path.join(runDir, 'nginx-tmp'), { recursive: true });
  const file = nginxConfPath(runDir);
  const candidate = `${file}.candidate`;
  writeFileSync(candidate, text);
  writeFileSync(path.join(runDir, 'servers.conf'), servers);
  try {
    await run(bin, ['-t', '-q', '-p', runDir, '-c', candidate, '-e', path.join(runDir, 'nginx-error.log')]);
  } catch (err) {
    const stderr = ((err as { stderr?: string }).stderr ?? String(err)).trim();
    // "… in /tmp/run/sources/nginx/proxy.conf:12" → "… in nginx/proxy.conf:12"
    const named = stderr
      .replaceAll(`${path.join(runDir, 'sources')}/`, '')
      .replaceAll(`${repoRoot}/`, '')
      .replace(/^nginx: configuration file .* test failed$/m, '')
      .trim();
    const where = /in ((?:nginx|\.lab)\/[\w./-]+):(\d+)/.exec(named);
    throw new LabError(
      `nginx rejected the config:\n  ${named.replaceAll('\n', '\n  ')}`,
      where ? `fix ${where[1]} line ${where[2]}, then save` : `see ${candidate}`,
    );
  }
  writeFileSync(file, text);
}

export const nginxMarker = (runDir: string): string => `-p ${runDir}`;

export async function startNginx(bin: string, runDir: string, port: number): Promise<number> {
  await assertPortFree(port, 'nginx', 'LAB_NGINX_PORT');
  const pid = await spawnService(
    bin,
    [...args(runDir), '-g', 'daemon off;'],
    path.join(runDir, 'nginx.out.log'),
    'nginx',
  );
  await waitFor(`nginx to listen on ${port}`, 5000, async () => {
    if (!isOurs(pid, nginxMarker(runDir)))
      throw new LabError(`nginx exited at start; see ${path.join(runDir, 'nginx-error.log')}`);
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

/**
 * nginx's error log from now on: the returned function gives the lines
 * written since this call (a capacity check's evidence, not an earlier run's).
 */
export function nginxErrorsFromNow(runDir: string): () => string[] {
  const file = path.join(runDir, 'nginx-error.log');
  const size = (): number => {
    try {
      return statSync(file).size;
    } catch {
      return 0;
    }
  };
  const start = size();
  return () => {
    const end = size();
    if (end <= start) return [];
    const buf = Buffer.alloc(end - start);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, buf, 0, buf.length, start);
    } finally {
      closeSync(fd);
    }
    return buf.toString('utf8').trimEnd().split('\n');
  };
}
