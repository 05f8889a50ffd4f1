// The one path from "the stage I want" to running processes. Given a stage,
// the reconciler brings Redis, the PM2 instances and nginx to exactly that
// state, changing only what differs, and says what it did. Nothing else in
// the lab starts or stops these processes.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ENV, toEnv } from '../app/config.ts';
import { buildBareServer, buildInstrument, buildServer } from './build.ts';
import { LabError } from './errors.ts';
import { assertPortFree } from './ports.ts';
import { getHealth } from './health.ts';
import { isAlive, waitFor } from './processes.ts';
import type { RunState } from './run-state.ts';
import { chatApps, type InstanceEnv, type Pm2App } from './services/ecosystem.ts';
import { PM2_DEFAULT_KILL_TIMEOUT, type Pm2, type Pm2Process } from './services/pm2.ts';
import {
  nginxErrorsFromNow,
  reloadNginx,
  renderNginxConfig,
  startNginx,
  stopNginx,
  writeAndTest,
} from './services/nginx.ts';
import { isOurRedis, redisNumSub, redisPing, startRedis, stopRedis } from './services/redis.ts';
import { instancePort, repoRoot, serverIdOf, type LabSettings } from './settings.ts';
import type { Sources } from './sources.ts';
import { APP_STAGE_FIELDS, type Stage } from './stages.ts';
import type { TelemetryHub } from './telemetry/hub.ts';

export interface ReconcilerDeps {
  settings: LabSettings;
  bins: { redis: string | null; nginx: string | null };
  pm2: Pm2;
  hub: TelemetryHub;
  state: RunState;
  saveState(): void;
  telemetryUrl: string;
  /** Where the learner-editable files are read from (the working tree, or the committed lab in tests). */
  sources: Sources;
}

export interface ApplyOptions {
  /** Restart changed instances one at a time, each healthy before the next (a deploy; the watch loop). */
  rolling?: boolean;
}

/** One line per change made, e.g. "s2: restart (ADAPTER none → redis)". Empty when nothing differed. */
export type ApplyReport = string[];

const SPEC_ENV = 'LAB_SPEC';

export class Reconciler {
  private queue: Promise<unknown> = Promise.resolve();
  /** Instances report to the control plane. Off only to measure what that costs (npm run bench). */
  telemetry = true;
  /** The config generation nginx serves (null: not started by this lab process). */
  private nginxGeneration: string | null = null;
  /** nginx's error log since its config last changed (start or reload): where it warns about its limits. */
  nginxLogSinceConfig: (() => string[]) | null = null;

  constructor(private readonly deps: ReconcilerDeps) {}

  /** Run one change at a time, in order: stage changes and faults never interleave. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => {});
    return run;
  }

  /**
   * Bring everything to `stage`, built from the sources as they are now (an
   * edited file restarts or reloads what it feeds). Stage changes are
   * serialized: a second request waits for the first.
   */
  apply(stage: Stage, opts: ApplyOptions = {}): Promise<ApplyReport> {
    return this.serial(() => this.applyNow(stage, opts));
  }

  /** Stop everything the lab started. Safe to call more than once. */
  down(): Promise<void> {
    return this.serial(() => this.downNow());
  }

  // ── Faults: deliberate departures from the stage, which the next apply() heals ──
  /**
   * What happens to a running instance:
   *  crash  SIGKILL, no goodbye; PM2 starts it again at once (as in production)
   *  stop   PM2 stops it: SIGINT, the app drains and exits; it stays down
   *  start  PM2 starts a stopped instance again
   */
  instanceFault(serverId: string, fault: 'crash' | 'stop' | 'start'): Promise<string> {
    return this.serial(async () => {
      const { pm2, hub } = this.deps;
      await pm2.connect();
      const procs = await pm2.list();
      const proc = procs.find((p) => p.serverId === serverId);
      if (!proc)
        throw new LabError(
          `no instance "${serverId}" in this stage`,
          `instances: ${procs.map((p) => p.serverId).join(', ')}`,
        );
      const port = Number(proc.env[ENV.port]);
      if (fault === 'crash') {
        if (!proc.online) throw new LabError(`${serverId} is not running`);
        process.kill(proc.pid, 'SIGKILL');
        hub.lab({ t: 'instance-state', serverId, port, pid: null, online: false });
        return `${serverId}: killed (pid ${proc.pid}); PM2 restarts it`;
      }
      if (fault === 'stop') {
        await pm2.stop(proc.pmId);
        this.recordPid(serverId, null);
        hub.lab({ t: 'instance-state', serverId, port, pid: null, online: false });
        return `${serverId}: stopped`;
      }
      await pm2.restart(proc.pmId);
      const pid = await this.waitHealthy(serverId, port);
      this.recordPid(serverId, pid);
      hub.lab({ t: 'instance-state', serverId, port, pid, online: true });
      return `${serverId}: started (pid ${pid})`;
    });
  }

  /** Stop or start the lab's Redis without changing the stage (an outage, on purpose). */
  redisFault(fault: 'stop' | 'start'): Promise<string> {
    return this.serial(async () => {
      if (this.deps.settings.externalRedisUrl)
        throw new LabError('the lab does not stop or start a Redis it did not start (REDIS_URL is set)');
      const report: ApplyReport = [];
      if (fault === 'stop') await this.stopRedis(report);
      else await this.ensureRedis(report);
      return report.join('; ') || `redis: already ${fault === 'stop' ? 'stopped' : 'running'}`;
    });
  }

  /** Every key and channel of this run's instances starts with it: unique per run, even on a shared Redis. */
  private redisKey(): string {
    return `lab:${this.deps.state.runId}`;
  }

  redisUrl(): string {
    return this.deps.settings.externalRedisUrl ?? `redis://127.0.0.1:${this.deps.settings.ports.redis}`;
  }

  private async applyNow(stage: Stage, opts: ApplyOptions): Promise<ApplyReport> {
    const { hub, state } = this.deps;
    const report: ApplyReport = [];
    hub.lab({ t: 'stage', stage: stage.id, lesson: stage.lesson, phase: 'applying' });
    try {
      if (stage.redis) await this.ensureRedis(report);
      const apps = await this.reconcileInstances(stage, opts, report);
      await this.reconcileNginx(stage, apps, report);
      if (!stage.redis) await this.stopRedis(report);
      await this.waitAdapterReady(stage);
      state.stage = stage.id;
      this.deps.saveState();
      hub.lab({
        t: 'stage',
        stage: stage.id,
        lesson: stage.lesson,
        phase: 'applied',
        detail: report.join('; ') || 'no change',
      });
      return report;
    } catch (err) {
      hub.lab({ t: 'stage', stage: stage.id, lesson: stage.lesson, phase: 'failed', detail: (err as Error).message });
      throw err;
    }
  }

  /**
   * An instance answers /health before its Redis adapter has subscribed (the
   * adapter subscribes in the background). Until every instance has, a
   * fleet-wide question (fetchSockets, serverSideEmitWithAck) counts only the
   * instances subscribed so far and answers for a part of the fleet. So a stage
   * is "applied" once every instance listens on the adapter's request channel.
   * With no subscriber at all after a second (an adapter not attached yet, as
   * in lesson 5's start file), there is nothing to wait for.
   */
  private async waitAdapterReady(stage: Stage): Promise<void> {
    if (stage.adapter !== 'redis' || stage.instances < 2) return;
    const url = new URL(this.redisUrl());
    const port = Number(url.port || 6379);
    // @socket.io/redis-adapter's request channel for the main namespace: `${key}-request#/#`.
    const channel = `${this.redisKey()}-request#/#`;
    const start = Date.now();
    for (;;) {
      const n = await redisNumSub(port, channel, url.hostname);
      if (n === null || n >= stage.instances) return;
      if ((n === 0 && Date.now() - start > 1000) || Date.now() - start > 5000) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  // ── Redis ────────────────────────────────────────────────────────────────
  private async ensureRedis(report: ApplyReport): Promise<void> {
    const { settings, state, hub } = this.deps;
    if (settings.externalRedisUrl) {
      // The learner's own Redis: never started or stopped by us, only checked.
      const url = new URL(settings.externalRedisUrl);
      const port = Number(url.port || 6379);
      const running = await redisPing(port, url.hostname);
      if (!running) throw new LabError(`REDIS_URL=${settings.externalRedisUrl} does not answer PING`);
      hub.lab({ t: 'redis', port, running });
      return;
    }
    if (state.redis && isOurRedis(state.redis.pid, state.redis.port)) return;
    const bin = this.need('redis-server', this.deps.bins.redis);
    this.progress('redis: starting');
    const port = settings.ports.redis;
    const pid = await startRedis(bin, port, settings.runDir);
    state.redis = { pid, port };
    this.deps.saveState();
    hub.lab({ t: 'redis', port, running: true });
    report.push(`redis: start on ${port}`);
  }

  private async stopRedis(report: ApplyReport | null): Promise<void> {
    const { state, hub } = this.deps;
    if (!state.redis) return;
    const { pid, port } = state.redis;
    await stopRedis(pid, port);
    state.redis = null;
    this.deps.saveState();
    hub.lab({ t: 'redis', port, running: false });
    report?.push('redis: stop');
  }

  // ── Instances (PM2) ──────────────────────────────────────────────────────
  /**
   * The PM2 apps `stage` needs, as the ecosystem file's chatApps() defines
   * them, with what the lab adds from outside: its probe, preloaded (node
   * --import), and a LAB_SPEC hash that tells whether a running app still fits.
   */
  async desiredApps(stage: Stage): Promise<Pm2App[]> {
    const { sources } = this.deps;
    const bare = stage.server === 'bare';
    // Built afresh each time: an edit to server/app changes the bundle, so the spec.
    // A bare server gets no probe: it is the baseline without any lab code.
    const [script, probe] = await Promise.all([
      bare ? buildBareServer(sources) : buildServer(sources),
      bare ? null : buildInstrument(sources),
    ]);
    const apps = chatApps(sources, { instances: stage.instances, script, envOf: (i) => this.instanceEnv(stage, i) });
    for (const app of apps) {
      const own = typeof app.node_args === 'string' ? app.node_args.split(' ').filter(Boolean) : (app.node_args ?? []);
      // --expose-gc: the probe's /lab/memory?gc=1 measures live data only (npm run bench, lesson 13).
      // The bare server answers /lab/memory itself, and goes without source maps (they are for learners' stack traces).
      app.node_args = probe
        ? [...own, '--enable-source-maps', '--expose-gc', '--import', probe]
        : [...own, '--expose-gc'];
      app.cwd = repoRoot;
      app.interpreter = process.execPath;
      app.autorestart = true;
      app.merge_logs = true;
      app.env[SPEC_ENV] = specHash(app);
    }
    return apps;
  }

  /** The serverIds an app's processes answer as (fork: its SERVER_ID; cluster: s1…sN). */
  private serverIdsOf(app: Pm2App): string[] {
    if (isCluster(app)) return Array.from({ length: Number(app.instances ?? 1) }, (_, i) => serverIdOf(i));
    return [app.env[ENV.serverId] ?? app.name];
  }

  /** Instance i's environment: its identity and the stage's settings, named by the app's settings table. */
  private instanceEnv(stage: Stage, i: number): InstanceEnv {
    const { settings, state } = this.deps;
    const perStage = Object.fromEntries(APP_STAGE_FIELDS.map((key) => [key, stage[key]]));
    const serverId = serverIdOf(i);
    const port = instancePort(settings.ports, i);
    return {
      ...toEnv({
        serverId,
        port,
        host: '127.0.0.1',
        redisUrl: this.redisUrl(),
        redisKey: this.redisKey(),
        // The lab's own pages (its chat page on the UI port) may connect.
        corsOrigins: [`http://127.0.0.1:${settings.ports.ui}`, `http://localhost:${settings.ports.ui}`],
        ...perStage,
      }),
      ...(this.telemetry && stage.server === 'app'
        ? { LAB_TELEMETRY_URL: this.deps.telemetryUrl, LAB_TELEMETRY_TOKEN: state.token }
        : {}),
      // Named again so the type says they are there (the settings table names them SERVER_ID and PORT).
      [ENV.serverId]: serverId,
      [ENV.port]: String(port),
    } as InstanceEnv;
  }

  private async reconcileInstances(stage: Stage, opts: ApplyOptions, report: ApplyReport): Promise<Pm2App[]> {
    const { pm2, hub } = this.deps;
    await pm2.connect();
    const running = new Map<string, Pm2Process[]>();
    for (const p of await pm2.list()) running.set(p.name, [...(running.get(p.name) ?? []), p]);
    const desired = await this.desiredApps(stage);
    const desiredNames = new Set(desired.map((a) => a.name));

    const remove = async (name: string, procs: Pm2Process[]): Promise<void> => {
      await pm2.delete(name);
      // PM2 may answer before the old process has exited, and it holds its port
      // until it has: the next start on that port must not race it.
      const deadline = Date.now() + 10_000;
      while (procs.some((p) => p.pid > 0 && isAlive(p.pid)) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 25));
      }
      for (const p of procs) {
        this.recordPid(p.serverId, null);
        hub.lab({ t: 'instance-removed', serverId: p.serverId });
      }
    };

    // Apps the stage no longer has (all of fork mode's, when switching to cluster mode, and back).
    const removed = [...running].filter(([name]) => !desiredNames.has(name));
    const removedAny = removed.length > 0;
    await Promise.all(
      removed.map(async ([name, procs]) => {
        this.progress(`${name}: stopping`);
        await remove(name, procs);
        report.push(`${name}: stop`);
      }),
    );

    // Apps to start, or restart because their settings changed.
    const reconcile = async (app: Pm2App): Promise<void> => {
      const current = running.get(app.name);
      const port = Number(app.env[ENV.port]);
      const serverIds = this.serverIdsOf(app);
      // Said before pm2.start(), which rewrites the app's fields in place.
      const what = isCluster(app) ? `${serverIds.length} workers in cluster mode, all on ${port}` : `on ${port}`;
      const fits =
        current?.length === serverIds.length && current.every((p) => p.online && p.env[SPEC_ENV] === app.env[SPEC_ENV]);
      if (fits) return;
      const change = current ? describeChange(current[0]!, app) : '';
      if (current) {
        this.progress(`${app.name}: restarting`);
        await remove(app.name, current);
      } else {
        this.progress(`${app.name}: starting`);
      }
      // Our own process on this port (just stopped here, or by the removal above) may still be exiting.
      await assertPortFree(port, `instance ${app.name}`, 'LAB_INSTANCE_BASE_PORT', current || removedAny ? 5000 : 0);
      await pm2.start(app);
      for (const serverId of serverIds) {
        const pid = await this.waitHealthy(serverId, port, app.name);
        this.recordPid(serverId, pid);
        hub.lab({ t: 'instance-state', serverId, port, pid, online: true });
      }
      report.push(`${app.name}: ${current ? `restart (${change})` : `start ${what}`}`);
    };
    if (opts.rolling) for (const app of desired) await reconcile(app);
    else await Promise.all(desired.map(reconcile));
    return desired;
  }

  private recordPid(serverId: string, pid: number | null): void {
    const pids = this.deps.state.instancePids;
    if (pid === null) delete pids[serverId];
    else pids[serverId] = pid;
    this.deps.saveState();
  }

  /**
   * Wait until `serverId` answers /health on `port`. Each try is a new TCP
   * connection: in cluster mode the workers share the port and PM2 hands each
   * connection to the next one, so asking again reaches each in turn.
   */
  private async waitHealthy(serverId: string, port: number, app = serverId): Promise<number> {
    try {
      return await waitFor(`${serverId} to answer /health on ${port}`, 15_000, async () => {
        const body = await getHealth(port);
        return body?.serverId === serverId ? body.pid : undefined;
      });
    } catch (err) {
      throw new LabError(`${(err as Error).message}\n${this.instanceLogTail(app)}`, `see ${this.deps.pm2.home}/logs/`);
    }
  }

  private instanceLogTail(serverId: string): string {
    const file = path.join(this.deps.pm2.home, 'logs', `${serverId}-error.log`);
    if (!existsSync(file)) return '';
    return readFileSync(file, 'utf8').trim().split('\n').slice(-6).join('\n');
  }

  // ── nginx ────────────────────────────────────────────────────────────────
  private async reconcileNginx(stage: Stage, apps: Pm2App[], report: ApplyReport): Promise<void> {
    const { settings, state, hub, sources } = this.deps;
    if (stage.loadBalancer === 'none') {
      if (state.nginx) {
        await stopNginx(state.nginx.pid, settings.runDir);
        hub.lab({ t: 'nginx', port: state.nginx.port, mode: null });
        state.nginx = null;
        this.nginxGeneration = null;
        this.deps.saveState();
        report.push('nginx: stop');
      }
      return;
    }
    const bin = this.need('nginx', this.deps.bins.nginx);
    // The files nginx includes: the learner's, or (in the lab's tests) copies of the committed ones.
    const include = (rel: string): { path: string; content: string } => ({
      path: sources.pathOf(rel, settings.runDir),
      content: sources.read(rel),
    });
    const config = renderNginxConfig({
      listenPort: settings.ports.nginx,
      // One upstream per port: in PM2 cluster mode every worker shares one.
      upstreamPorts: [...new Set(apps.map((app) => Number(app.env[ENV.port])))],
      runDir: settings.runDir,
      includes: {
        workers: include('nginx/workers.conf'),
        upstream: include(`nginx/upstream/${stage.loadBalancer}.conf`),
        proxy: include('nginx/proxy.conf'),
      },
    });
    if (state.nginx && this.nginxGeneration === config.generation) return;

    this.progress(`nginx: ${state.nginx ? 'reloading' : 'starting'} (${stage.loadBalancer})`);
    await writeAndTest(bin, settings.runDir, config);
    this.nginxLogSinceConfig = nginxErrorsFromNow(settings.runDir);
    if (state.nginx) {
      await reloadNginx(state.nginx.pid, settings.runDir, state.nginx.port, config.generation);
      report.push(`nginx: reload (${stage.loadBalancer})`);
    } else {
      const pid = await startNginx(bin, settings.runDir, settings.ports.nginx);
      state.nginx = { pid, port: settings.ports.nginx };
      this.deps.saveState();
      report.push(`nginx: start on ${settings.ports.nginx} (${stage.loadBalancer})`);
    }
    this.nginxGeneration = config.generation;
    hub.lab({ t: 'nginx', port: settings.ports.nginx, mode: stage.loadBalancer });
  }

  // ── Teardown ─────────────────────────────────────────────────────────────
  private async downNow(): Promise<void> {
    const { settings, state, pm2, hub } = this.deps;
    if (state.nginx) {
      await stopNginx(state.nginx.pid, settings.runDir);
      hub.lab({ t: 'nginx', port: state.nginx.port, mode: null });
      state.nginx = null;
      this.nginxGeneration = null;
      this.deps.saveState();
    }
    await pm2.kill();
    state.instancePids = {};
    await this.stopRedis(null);
    state.stage = null;
    this.deps.saveState();
  }

  private progress(step: string): void {
    this.deps.hub.lab({ t: 'progress', step });
  }

  private need(name: string, bin: string | null): string {
    if (!bin)
      throw new LabError(
        `this stage needs ${name}, which is not installed`,
        'run `npm run lab -- doctor` for the install command',
      );
    return bin;
  }
}

const isCluster = (app: Pm2App): boolean => app.exec_mode === 'cluster' || app.exec_mode === 'cluster_mode';

function specHash(app: Pm2App): string {
  const { env, ...rest } = app;
  const stable = JSON.stringify({ ...rest, env: Object.fromEntries(Object.entries(env).sort()) });
  return createHash('sha1').update(stable).digest('hex').slice(0, 12);
}

/** What changed between a running instance and the desired one, in the instance's own env names. */
function describeChange(current: Pm2Process, desired: Pm2App): string {
  if (!current.online) return 'was not online';
  if (current.script !== desired.script) return 'server/app changed';
  if (current.execMode !== (isCluster(desired) ? 'cluster' : 'fork'))
    return `exec_mode ${current.execMode} → ${desired.exec_mode}`;
  const changed = Object.values(ENV)
    .filter((key) => key in desired.env && current.env[key] !== desired.env[key])
    .map((key) => `${key} ${current.env[key] ?? '∅'} → ${desired.env[key]}`);
  const killTimeout = desired.kill_timeout ?? PM2_DEFAULT_KILL_TIMEOUT;
  if (current.killTimeout !== killTimeout) changed.push(`kill_timeout ${current.killTimeout} → ${killTimeout}`);
  return changed.join(', ') || 'settings changed';
}
