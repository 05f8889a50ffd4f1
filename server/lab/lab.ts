// A running lab: the control plane, the telemetry hub, the reconciler and the
// client fleet, put together. The CLI (`lab up`) and the tests both use this.

import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { findBinary } from './binaries.ts';
import { ControlPlane } from './control-plane.ts';
import { LabError } from './errors.ts';
import { Fleet, type FleetTarget, type SourceMode } from './fleet.ts';
import { isOurs, stopProcess } from './processes.ts';
import { INSTANCE_MARKER, Reconciler, type ApplyReport } from './reconciler.ts';
import { readRunState, stateFile, writeRunState, type RunState } from './run-state.ts';
import { Pm2, daemonAlive } from './services/pm2.ts';
import { isOurRedis, stopRedis } from './services/redis.ts';
import { nginxErrorTail, nginxMarker, stopNginx } from './services/nginx.ts';
import { instancePort, repoRoot, type LabSettings } from './settings.ts';
import { LessonCatalog, type Lesson } from './lessons.ts';
import type { CheckHost } from './checks/kinds.ts';
import { runChecks, type CheckResult } from './checks/runner.ts';
import { readProgress, updateProgress } from './progress.ts';
import type { Stage } from './stages.ts';
import { TelemetryHub } from './telemetry/hub.ts';
import { StatsSampler } from './stats.ts';

/** `lab status --json`, as the contract (LAB-DESIGN §2) defines it. */
export interface LabStatus {
  lesson: string | null;
  stage: string | null;
  ui: { url: string };
  nginx: { port: number; mode: string } | null;
  redis: { port: number; running: boolean } | null;
  instances: { serverId: string; port: number; pid: number | null; online: boolean; connections: number }[];
}

/** The marker in the lab process's command line, to recognise it by PID. */
export const LAB_MARKER = 'server/lab/cli.ts';

export class Lab {
  readonly fleet: Fleet;
  private stage: Stage;
  private readonly stats: StatsSampler;
  /** The lesson whose exercise file currently stands in for a repo file. */
  private exercise: Lesson | null = null;
  private closed = false;

  private constructor(
    readonly settings: LabSettings,
    readonly hub: TelemetryHub,
    readonly catalog: LessonCatalog,
    readonly state: RunState,
    readonly control: ControlPlane,
    readonly reconciler: Reconciler,
    initial: Stage,
  ) {
    this.stage = initial;
    this.stats = new StatsSampler(hub, () => hub.instanceList());
    this.fleet = new Fleet(this.hub, this.fleetTarget(initial), {
      sources: settings.fleetSources,
      onLatency: (ms, cross) => this.stats.latency(ms, cross),
      announce: true,
    });
    this.stats.start();
    // PM2 restarts a crashed instance under a new PID: keep the run state's record current.
    hub.subscribe((e) => {
      if (e.t === 'instance-up' && state.instancePids[e.serverId] !== e.pid && !this.closed) {
        state.instancePids[e.serverId] = e.pid;
        writeRunState(settings.runDir, state);
      }
    });
  }

  /** Start a lab in `stageId`. Cleans up after a lab that crashed in the same run directory. */
  static async up(settings: LabSettings, stageId: string, onProgress?: (line: string) => void): Promise<Lab> {
    const catalog = LessonCatalog.load(settings.lessonsDir);
    const stage = catalog.stage(stageId); // an unknown stage fails before anything starts

    const previous = readRunState(settings.runDir);
    if (previous && previous.labPid !== process.pid && isOurs(previous.labPid, LAB_MARKER)) {
      throw new LabError(
        `a lab is already running from ${settings.runDir} (pid ${previous.labPid})`,
        'use `npm run lab -- stage <id>` to change its stage, or `npm run lab -- down` to stop it',
      );
    }
    if (previous) {
      const cleaned = await cleanUpAfter(settings.runDir);
      if (cleaned.length > 0) onProgress?.(`cleaned up after a previous lab: ${cleaned.join(', ')}`);
    }

    const state: RunState = {
      labPid: process.pid,
      token: randomBytes(24).toString('hex'),
      runId: randomBytes(4).toString('hex'),
      startedAt: Date.now(),
      ports: settings.ports,
      stage: null,
      redis: null,
      nginx: null,
      pm2Home: path.join(settings.runDir, 'pm2'),
      instancePids: {},
    };
    const save = (): void => writeRunState(settings.runDir, state);
    save();

    const hub = new TelemetryHub();
    const pm2 = new Pm2(state.pm2Home);
    const reconciler = new Reconciler({
      settings,
      bins: { redis: findBinary('redis-server'), nginx: findBinary('nginx') },
      pm2,
      hub,
      state,
      saveState: save,
      telemetryUrl: `http://127.0.0.1:${settings.ports.ui}/telemetry`,
    });
    let lab: Lab | undefined;
    const control = new ControlPlane({
      port: settings.ports.ui,
      token: state.token,
      hub,
      webDist: path.join(repoRoot, 'web', 'dist'),
      reads: {
        status: () => lab?.status(),
        snapshot: () => lab?.snapshot(),
        lessons: () => lab?.lessonsForUi(),
      },
      actions: {
        stage: async (body) => lab!.setStage(String(body.stage)),
        lesson: async (body) => {
          const { lesson, report } = await lab!.openLesson(String(body.lesson));
          return { lesson: lesson.id, stage: lesson.begin, report };
        },
        exercise: async (body) => lab!.setExercise(body.lesson === null ? null : String(body.lesson)),
        fault: async (body) => lab!.fault(body),
        check: async (body) => {
          const { lesson, results } = await lab!.check(String(body.lesson));
          return { lesson: lesson.id, results };
        },
        fleet: async (body) => lab!.fleetAction(body),
        down: async () => {
          setImmediate(() => void lab?.down().then(() => lab?.onDown?.()));
          return 'stopping';
        },
      },
    });

    try {
      await control.listen();
      lab = new Lab(settings, hub, catalog, state, control, reconciler, stage);
      const unsubscribe = onProgress ? hub.subscribe((e) => e.t === 'progress' && onProgress(e.step)) : null;
      await reconciler.apply(stage);
      unsubscribe?.();
      return lab;
    } catch (err) {
      await reconciler.down().catch(() => {});
      await control.close();
      rmSync(stateFile(settings.runDir), { force: true });
      throw err;
    }
  }

  /** Called after a `down` requested through the API (the CLI exits then). */
  onDown?: () => void;

  get currentStage(): Stage {
    return this.stage;
  }

  async setStage(id: string): Promise<ApplyReport> {
    const stage = this.catalog.stage(id);
    const before = this.fleetTarget(this.stage);
    const report = await this.reconciler.apply(stage, this.exercise?.exercise ?? null);
    this.stage = stage;
    const after = this.fleetTarget(stage);
    // Clients whose entry point changes (e.g. c2: s1 → s2 when a second instance
    // appears, or straight to an instance → through nginx) reconnect there.
    const moved = this.fleet.list().some((c) => before.urlFor(c.n) !== after.urlFor(c.n));
    const sameClients = before.transports.join() === after.transports.join() && JSON.stringify(before.backoff) === JSON.stringify(after.backoff);
    if ((moved || !sameClients) && this.fleet.list().length > 0) {
      await this.fleet.retarget(after);
      report.push(`fleet: ${this.fleet.list().length} clients reconnected (${moved ? 'new entry point' : 'new client settings'})`);
    }
    return report;
  }

  /** Break something on purpose: crash, stop or start an instance; stop or start Redis. */
  async fault(body: Record<string, unknown>): Promise<string> {
    const fault = String(body.fault);
    if (body.target === 'redis' && (fault === 'stop' || fault === 'start')) return this.reconciler.redisFault(fault);
    if (body.target === 'instance' && (fault === 'crash' || fault === 'stop' || fault === 'start')) {
      return this.reconciler.instanceFault(String(body.serverId), fault);
    }
    throw new LabError(`unknown fault ${JSON.stringify(body)}`, 'instance: crash, stop or start (with serverId); redis: stop or start');
  }

  /** Instances report telemetry, or not (to measure what it costs). They restart to change. */
  async setTelemetry(on: boolean): Promise<ApplyReport> {
    this.reconciler.telemetry = on;
    return this.setStage(this.stage.id);
  }

  get activeExercise(): Lesson | null {
    return this.exercise;
  }

  /**
   * Run lesson `ref`'s exercise: its target stage, with the learner's file in
   * place of the repo file. `null` goes back to the repo's own files.
   */
  async setExercise(ref: string | null): Promise<ApplyReport> {
    if (ref === null) {
      this.exercise = null;
      return this.setStage(this.stage.id);
    }
    const lesson = this.catalog.lesson(ref);
    if (!lesson.exercise) throw new LabError(`lesson ${lesson.number} has no exercise`, 'its README says what to do instead');
    const previous = this.exercise;
    this.exercise = lesson;
    try {
      return await this.setStage(lesson.target);
    } catch (err) {
      this.exercise = previous; // a file that does not build leaves the lab as it was
      throw err;
    }
  }

  /** Switch to a lesson's begin stage and make it the learner's current lesson. */
  async openLesson(ref: string): Promise<{ lesson: Lesson; report: ApplyReport }> {
    const lesson = this.catalog.lesson(ref);
    if (this.exercise && this.exercise.id !== lesson.id) this.exercise = null;
    const report = await this.setStage(lesson.begin);
    updateProgress(this.settings.runDir, (p) => (p.current = lesson.id));
    return { lesson, report };
  }

  /** Run a lesson's checks against the lab as it is now; a full pass is recorded. */
  async check(ref: string): Promise<{ lesson: Lesson; results: CheckResult[] }> {
    const lesson = this.catalog.lesson(ref);
    const host: CheckHost = {
      stage: this.stage,
      status: () => this.status(),
      target: () => this.fleetTarget(this.stage),
      newFleet: (opts) =>
        new Fleet(this.hub, this.fleetTarget(this.stage), { sources: this.settings.fleetSources, idPrefix: 'check', reconnect: opts?.reconnect ?? false }),
      fault: (req) => this.fault(req),
      nginxErrors: () => nginxErrorTail(this.settings.runDir),
    };
    const results = await runChecks(lesson, host);
    if (results.every((r) => r.ok)) {
      updateProgress(this.settings.runDir, (p) => {
        if (!p.passed.includes(lesson.id)) p.passed.push(lesson.id);
      });
    }
    this.hub.lab({ t: 'checked', lesson: lesson.id, passed: results.filter((r) => r.ok).length, total: results.length });
    return { lesson, results };
  }

  status(): LabStatus {
    const snap = this.hub.snapshot();
    return {
      lesson: readProgress(this.settings.runDir).current ?? this.stage.lesson,
      stage: this.state.stage,
      ui: { url: this.control.url },
      nginx: snap.nginx && snap.nginx.mode ? { port: snap.nginx.port, mode: snap.nginx.mode } : null,
      redis: snap.redis,
      instances: snap.instances.map((i) => ({
        serverId: i.serverId,
        port: i.port,
        pid: i.pid,
        online: i.online,
        connections: this.hub.connectionsOf(i.serverId),
      })),
    };
  }

  /** Everything the UI needs to draw the lab from scratch. */
  snapshot(): unknown {
    return {
      ...this.hub.snapshot(),
      status: this.status(),
      fleet: this.fleet.list().map((c) => c.view()),
      stages: this.catalog.stages().map((s) => ({ id: s.id, title: s.title, lesson: s.lesson })),
      /** The latest events, so a page opened late still has a history to show. */
      recent: this.hub.recent.slice(-200),
      lessons: this.catalog.lessons.map((l) => ({ id: l.id, title: l.title })),
    };
  }

  /** The lesson panel's content: every lesson with its README, and where the learner is. */
  lessonsForUi(): unknown {
    const progress = readProgress(this.settings.runDir);
    return {
      current: progress.current,
      passed: progress.passed,
      exercise: this.exercise?.id ?? null,
      lessons: this.catalog.lessons.map((l) => ({
        id: l.id,
        number: l.number,
        title: l.title,
        summary: l.summary,
        begin: l.begin,
        target: l.target,
        checks: l.checks.map((c) => ({ id: c.id, title: c.title })),
        hasExercise: l.exercise !== null,
        readme: readReadme(l.dir),
      })),
    };
  }

  private async fleetAction(body: Record<string, unknown>): Promise<unknown> {
    const ids = Array.isArray(body.ids) ? body.ids.map(String) : undefined;
    switch (body.action) {
      case 'add': {
        const source: SourceMode = body.source === 'shared' ? 'shared' : 'distinct';
        const rooms = Array.isArray(body.rooms) ? body.rooms.map(String) : [];
        const added = await this.fleet.add(Number(body.count ?? 1), { source, rooms });
        return added.map((c) => c.view());
      }
      case 'remove':
        return { removed: this.fleet.remove(ids) };
      case 'join':
        await this.fleet.join(ids ?? [], String(body.room));
        return 'joined';
      case 'send':
        return this.fleet.send(String(body.id), String(body.room), String(body.text));
      case 'who':
        return this.fleet.ask(String(body.id), 'who', String(body.room));
      case 'stats':
        return this.fleet.ask(String(body.id), 'stats');
      default:
        throw new LabError(`unknown fleet action ${JSON.stringify(body.action)}`, 'use add, remove, join, send, who or stats');
    }
  }

  /** Where fleet clients connect in a stage: through nginx, or spread straight over the instances. */
  private fleetTarget(stage: Stage): FleetTarget {
    const { ports } = this.settings;
    const client = {
      transports: stage.clientTransports,
      backoff: { delay: stage.clientReconnectDelay, max: stage.clientReconnectDelayMax, jitter: stage.clientJitter },
    };
    if (stage.loadBalancer !== 'none') return { via: 'nginx', ...client, urlFor: () => `http://127.0.0.1:${ports.nginx}` };
    return { via: 'direct', ...client, urlFor: (n) => `http://127.0.0.1:${instancePort(ports, (n - 1) % stage.instances)}` };
  }

  async down(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stats.stop();
    this.fleet.close();
    await this.reconciler.down();
    await this.control.close();
    rmSync(stateFile(this.settings.runDir), { force: true });
  }
}

function readReadme(dir: string): string {
  try {
    return readFileSync(path.join(dir, 'README.md'), 'utf8');
  } catch {
    return '';
  }
}

/**
 * After a lab died without cleaning up (kill -9, a crash, a closed terminal):
 * end the processes its run state names, by PID, after checking each one is
 * still what the lab started. Returns what it ended.
 */
export async function cleanUpAfter(runDir: string): Promise<string[]> {
  const state = readRunState(runDir);
  if (!state) return [];
  const ended: string[] = [];
  // The lab's own shutdown stops everything else; give it time before anything is forced.
  if (state.labPid !== process.pid && (await stopProcess(state.labPid, LAB_MARKER, 15_000))) ended.push(`lab (pid ${state.labPid})`);
  if (state.nginx && isOurs(state.nginx.pid, nginxMarker(runDir))) {
    await stopNginx(state.nginx.pid, runDir);
    ended.push(`nginx (pid ${state.nginx.pid})`);
  }
  if (daemonAlive(state.pm2Home)) {
    await new Pm2(state.pm2Home).kill();
    ended.push('PM2 and its instances');
  }
  // Instances whose PM2 daemon died before them.
  for (const [serverId, pid] of Object.entries(state.instancePids ?? {})) {
    if (await stopProcess(pid, INSTANCE_MARKER)) ended.push(`${serverId} (pid ${pid})`);
  }
  if (state.redis && isOurRedis(state.redis.pid, state.redis.port)) {
    await stopRedis(state.redis.pid, state.redis.port);
    ended.push(`redis (pid ${state.redis.pid})`);
  }
  rmSync(stateFile(runDir), { force: true });
  return ended;
}
