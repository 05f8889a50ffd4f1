// A running lab: the control plane, the telemetry hub, the reconciler and the
// client fleet, put together. The CLI (`lab up`) and the tests both use this.

import type { LabSnapshot, LabStatus, LessonsView } from './views.ts';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { ApiBody } from './api.ts';
import { findBinary } from './binaries.ts';
import { INSTANCE_MARKER, loadClientOptions } from './build.ts';
import type { CheckHost } from './checks/kind.ts';
import { type CheckResult, runChecks } from './checks/runner.ts';
import { ControlPlane } from './control-plane.ts';
import { Crowd } from './crowd.ts';
import { LabError } from './errors.ts';
import { putInPlace, startOf } from './exercises.ts';
import { type ClientOptions, Fleet, type FleetTarget } from './fleet.ts';
import { runLearnerTests } from './learner-tests.ts';
import { type Lesson, LessonCatalog } from './lessons.ts';
import { gradePrediction } from './predictions.ts';
import { isOurs, stopProcess } from './processes.ts';
import { readProgress, updateProgress } from './progress.ts';
import { type ApplyReport, Reconciler } from './reconciler.ts';
import { type RunState, readRunState, stateFile, writeRunState } from './run-state.ts';
import { FAIL_TIMEOUT_S, nginxErrorTail, nginxErrorsFromNow, nginxMarker, stopNginx } from './services/nginx.ts';
import { daemonAlive, Pm2 } from './services/pm2.ts';
import { isOurRedis, stopRedis } from './services/redis.ts';
import { instancePort, type LabSettings, repoRoot } from './settings.ts';
import { Sources } from './sources.ts';
import type { Stage } from './stages.ts';
import { StatsSampler } from './stats.ts';
import { TelemetryHub } from './telemetry/hub.ts';

/** `lab status --json`, as the contract defines it. */
export type { LabStatus } from './views.ts';

/** The marker in the lab process's command line, to recognise it by PID. */
export const LAB_MARKER = 'server/lab/cli.ts';

export class Lab {
  readonly fleet: Fleet;
  private stage: Stage;
  /** When an instance last came (back) up: nginx may route around it for FAIL_TIMEOUT_S after. */
  private lastInstanceStart = 0;
  private readonly stats: StatsSampler;
  private clientOptions: ClientOptions;
  private closed = false;

  private constructor(
    readonly settings: LabSettings,
    readonly hub: TelemetryHub,
    readonly catalog: LessonCatalog,
    readonly state: RunState,
    readonly control: ControlPlane,
    readonly reconciler: Reconciler,
    readonly sources: Sources,
    initial: Stage,
    clientOptions: ClientOptions,
  ) {
    this.stage = initial;
    this.clientOptions = clientOptions;
    this.stats = new StatsSampler(hub);
    this.fleet = new Fleet(this.hub, this.fleetTarget(initial), {
      sources: settings.fleetSources,
      onLatency: (ms, cross) => this.stats.latency(ms, cross),
      announce: true,
    });
    this.stats.start();
    // PM2 restarts a crashed instance under a new PID: keep the run state's record current.
    hub.subscribe((e) => {
      if (e.t === 'instance-up' || (e.t === 'instance-state' && e.online)) this.lastInstanceStart = Date.now();
      if (e.t === 'instance-up' && state.instancePids[e.serverId] !== e.pid && !this.closed) {
        state.instancePids[e.serverId] = e.pid;
        writeRunState(settings.runDir, state);
      }
    });
  }

  /**
   * Start a lab in `stageId`. Cleans up after a lab that crashed in the same run directory.
   * `telemetry: false` starts the instances without reporting (npm run bench), instead of
   * starting them reporting and restarting them at once to stop it.
   */
  static async up(
    settings: LabSettings,
    stageId: string,
    onProgress?: (line: string) => void,
    opts: { telemetry?: boolean } = {},
  ): Promise<Lab> {
    const catalog = LessonCatalog.load(settings.lessonsDir);
    const stage = catalog.stage(stageId); // an unknown stage fails before anything starts
    const sources = new Sources(settings.sources, catalog.exerciseFiles());

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
      sources,
    });
    reconciler.telemetry = opts.telemetry ?? true;
    let lab: Lab | undefined;
    const need = (): Lab => {
      if (!lab) throw new LabError('the lab is still starting; try again in a moment');
      return lab;
    };
    const control = new ControlPlane({
      port: settings.ports.ui,
      token: state.token,
      hub,
      webDist: path.join(repoRoot, 'web', 'dist'),
      reads: {
        status: () => lab?.status(),
        snapshot: () => lab?.snapshot(),
        lessons: () => lab?.lessonsForUi(),
        'client-options': () => lab?.clientOptions,
      },
      actions: {
        stage: async (b) => need().setStage(b.stage),
        lesson: async (b) => {
          const { lesson, report } = await need().openLesson(b.lesson);
          return { lesson: lesson.id, stage: lesson.begin, report };
        },
        apply: async (b) => need().applyEdits(b),
        check: async (b) => {
          const { lesson, results, applied } = await need().check(b.lesson);
          return { lesson: lesson.id, results, applied };
        },
        predict: async (b) => need().predict(b),
        solution: async (b) => need().putVersion(b.lesson, 'solution'),
        reset: async (b) => need().putVersion(b.lesson, 'start'),
        watch: async (b) => {
          hub.lab({ t: 'watch', file: b.file, state: b.state });
          return 'noted';
        },
        fault: async (b) => need().fault(b),
        fleet: async (b) => need().fleetAction(b),
        down: async () => {
          setImmediate(() => void lab?.down().then(() => lab?.onDown?.()));
          return 'stopping';
        },
      },
    });

    try {
      await control.listen();
      const clientOptions = await loadClientOptions(sources);
      lab = new Lab(settings, hub, catalog, state, control, reconciler, sources, stage, clientOptions);
      for (const file of sources.editedOnDisk()) {
        onProgress?.(`note: the lab's own tests use the committed ${file}, not your edited copy`);
      }
      const unsubscribe = onProgress ? hub.subscribe((e) => e.t === 'progress' && onProgress(e.step)) : null;
      await reconciler.apply(stage);
      unsubscribe?.();
      return lab;
    } catch (err) {
      lab?.stats.stop();
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

  /**
   * Move to stage `id`, built from the files as they are now. Fleet clients
   * whose entry point or client options change reconnect; new clients use
   * the new ones in any case (even when the fleet is empty now).
   */
  async setStage(id: string, opts: { rolling?: boolean } = {}): Promise<ApplyReport> {
    const stage = this.catalog.stage(id);
    const before = this.fleet.currentTarget;
    const report = await this.reconciler.apply(stage, opts);
    this.stage = stage;
    this.clientOptions = await loadClientOptions(this.sources);
    const after = this.fleetTarget(stage);
    this.fleet.setTarget(after);
    const clients = this.fleet.list();
    const newOptions = JSON.stringify(before.options) !== JSON.stringify(after.options);
    if (clients.length > 0) {
      const moved = clients.some((c) => before.urlFor(c.n) !== after.urlFor(c.n));
      if (moved || newOptions) {
        await this.fleet.retarget(after);
        report.push(
          `fleet: ${clients.length} clients reconnected (${moved ? 'new entry point' : 'new client options'})`,
        );
      }
    } else if (newOptions) {
      report.push('client options: changed (new clients use them)');
    }
    return report;
  }

  /** The learner saved a file: apply what it changed, instance by instance (the watch loop). */
  async applyEdits(opts: ApiBody<'apply'>): Promise<ApplyReport> {
    return this.setStage(this.stage.id, { rolling: opts.rolling });
  }

  /** Break something on purpose: crash, stop or start an instance; stop or start Redis. */
  async fault(body: ApiBody<'fault'>): Promise<string> {
    if (body.target === 'redis') return this.reconciler.redisFault(body.fault);
    return this.reconciler.instanceFault(body.serverId, body.fault);
  }

  /** Instances report telemetry, or not (to measure what it costs). They restart to change. */
  async setTelemetry(on: boolean): Promise<ApplyReport> {
    this.reconciler.telemetry = on;
    return this.setStage(this.stage.id);
  }

  /**
   * Make lesson `ref` current with a clean slate: the learner's fleet is
   * emptied, the UI starts a fresh message list, the lesson's start files are
   * put in place, and the lab switches to its begin stage.
   */
  async openLesson(ref: string): Promise<{ lesson: Lesson; report: ApplyReport }> {
    const lesson = this.catalog.lesson(ref);
    const removed = this.fleet.remove();
    this.hub.lab({ t: 'lesson', lesson: lesson.id });
    const report = putInPlace(lesson, 'start', this.sources, this.settings.runDir);
    if (removed > 0) report.unshift(`fleet: ${removed} clients removed (a clean slate for lesson ${lesson.number})`);
    report.push(...(await this.setStage(lesson.begin)));
    updateProgress(this.settings.runDir, (p) => {
      p.current = lesson.id;
      if (!p.started.includes(lesson.id)) p.started.push(lesson.id);
    });
    return { lesson, report };
  }

  /** Put a lesson's start or solution files in place, and apply them to the running stage. */
  async putVersion(ref: string, version: 'start' | 'solution'): Promise<ApplyReport> {
    const lesson = this.catalog.lesson(ref);
    const report = putInPlace(lesson, version, this.sources, this.settings.runDir);
    report.push(...(await this.setStage(this.stage.id)));
    return report;
  }

  /** Run a lesson's checks against the lab as it is now; a full pass is recorded. */
  async check(ref: string): Promise<{ lesson: Lesson; results: CheckResult[]; applied: ApplyReport }> {
    const lesson = this.catalog.lesson(ref);
    this.hub.lab({ t: 'checking', lesson: lesson.id });
    // A check is of the files as they are now: apply what the learner saved
    // since the last apply first (nothing, when nothing changed). A file that
    // does not build, or that nginx rejects, is the check's one result.
    let applied: ApplyReport = [];
    let results: CheckResult[];
    try {
      applied = await this.applyEdits({ rolling: true });
      results = await runChecks(lesson, this.checkHost());
    } catch (err) {
      if (!(err instanceof LabError)) throw err;
      const detail = err.hint ? `${err.message} — ${err.hint}` : err.message;
      results = [
        {
          id: 'your-files',
          title: 'Your files build and apply',
          ok: false,
          detail,
          verdict: 'fail',
          failsAtBegin: false,
        },
      ];
    }
    const passed = results.every((r) => r.ok);
    if (passed) {
      updateProgress(this.settings.runDir, (p) => {
        if (!p.passed.includes(lesson.id)) p.passed.push(lesson.id);
      });
    }
    this.hub.lab({
      t: 'checked',
      lesson: lesson.id,
      passed: results.filter((r) => r.ok).length,
      total: results.length,
      results: results.map(({ id, title, ok, detail, verdict }) => ({ id, title, ok, detail, verdict })),
    });
    return { lesson, results, applied };
  }

  /** The learner's prediction: run the check it names, grade the choice against what it measured. */
  async predict(body: ApiBody<'predict'>): Promise<ReturnType<typeof gradePrediction>> {
    const lesson = this.catalog.lesson(body.lesson);
    const prediction = lesson.predictions.find((p) => p.id === body.prediction);
    if (!prediction) {
      const known = lesson.predictions.map((p) => p.id).join(', ') || 'none';
      throw new LabError(`lesson ${lesson.number} has no prediction "${body.prediction}"`, `its predictions: ${known}`);
    }
    if (body.choice >= prediction.choices.length) throw new LabError(`choice ${body.choice} does not exist`);
    const check = lesson.checks.find((c) => c.id === prediction.check)!;
    // Measured in the stage the question is about: its own, else the lesson's first.
    const stageId = prediction.stage ?? lesson.begin;
    // A question about the lesson's start is measured on the start files; once
    // the learner has changed them, a measurement would answer another question.
    if (stageId === lesson.begin) {
      const changed = lesson.exercise.files.filter(
        (f) => this.sources.read(f.path).trimEnd() !== startOf(f, this.sources).trimEnd(),
      );
      if (changed.length > 0)
        throw new LabError(
          `this question is about the lesson's start, and you have already changed ${changed.map((f) => f.path).join(', ')}`,
          `predict before you edit; to predict now, \`npm run lab -- reset ${lesson.number}\` puts the start files back (your version is saved first)`,
        );
    }
    if (stageId !== this.stage.id) await this.setStage(stageId);
    const [result] = await runChecks({ ...lesson, checks: [check] }, this.checkHost());
    const graded = gradePrediction(prediction, body.choice, result!);
    updateProgress(this.settings.runDir, (p) => {
      p.predictions[lesson.id] ??= {};
      p.predictions[lesson.id]![prediction.id] = {
        choice: body.choice,
        right: graded.right === true,
        measured: graded.measured,
        at: Date.now(),
      };
    });
    this.hub.lab({
      t: 'predicted',
      lesson: lesson.id,
      prediction: prediction.id,
      right: graded.right,
      detail: graded.summary,
    });
    return graded;
  }

  /** What checks may use of this lab (public for tests that run one check kind against a real lab). */
  checkHost(): CheckHost {
    return {
      stage: this.stage,
      status: () => this.status(),
      target: () => this.fleetTarget(this.stage),
      newFleet: async (opts) =>
        new Fleet(this.hub, this.fleetTarget(this.stage), {
          sources: this.settings.fleetSources,
          idPrefix: `check${this.hub.nextCheckRun()}-`,
          reconnect: opts?.reconnect ?? false,
        }),
      fault: (req) => this.fault(req),
      nginxErrors: () => nginxErrorTail(this.settings.runDir),
      nginxErrorsSinceConfig: () => this.reconciler.nginxLogSinceConfig?.() ?? nginxErrorTail(this.settings.runDir),
      nginxErrorsFromNow: () => nginxErrorsFromNow(this.settings.runDir),
      crowd: (count, opts) =>
        Crowd.start(this.fleetTarget(this.stage), count, {
          ...opts,
          sources: this.settings.fleetSources,
          idPrefix: `crowd${this.hub.nextCheckRun()}-`,
        }),
      source: (rel) => this.sources.read(rel),
      settled: async () => {
        if (this.stage.loadBalancer === 'none') return;
        const wait = this.lastInstanceStart + FAIL_TIMEOUT_S * 1000 + 200 - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      },
      adapterSeen: () => this.hub.snapshot().instances.find((i) => i.online && i.adapter)?.adapter ?? null,
      message: (msgId) => this.hub.message(msgId),
      clientsSeenSince: (since) => this.hub.clientsSeenSince(since),
      runLearnerTests: () => runLearnerTests(this),
      clearFleet: () => this.fleet.remove(),
    };
  }

  status(): LabStatus {
    const snap = this.hub.snapshot();
    return {
      lesson: readProgress(this.settings.runDir).current ?? this.stage.lesson,
      stage: this.state.stage,
      ui: { url: this.control.url },
      nginx: snap.nginx?.mode ? { port: snap.nginx.port, mode: snap.nginx.mode } : null,
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
  snapshot(): LabSnapshot {
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
  lessonsForUi(): LessonsView {
    const progress = readProgress(this.settings.runDir);
    return {
      current: progress.current,
      started: progress.started,
      passed: progress.passed,
      predictions: progress.predictions,
      lessons: this.catalog.lessons.map((l) => ({
        id: l.id,
        number: l.number,
        title: l.title,
        summary: l.summary,
        begin: l.begin,
        target: l.target,
        checks: l.checks.map((c) => ({ id: c.id, title: c.title })),
        exercise: {
          task: l.exercise.task,
          files: l.exercise.files.filter((f) => f.edit).map((f) => f.path),
        },
        predictions: l.predictions.map((p) => ({
          id: p.id,
          question: p.question,
          choices: p.choices.map((c) => c.text),
        })),
        hints: l.hints,
        readme: readReadme(l.dir),
      })),
    };
  }

  async fleetAction(body: ApiBody<'fleet'>): Promise<unknown> {
    switch (body.action) {
      case 'add': {
        const added = await this.fleet.add(body.count, { source: body.source, rooms: body.rooms });
        return added.map((c) => c.view());
      }
      case 'remove':
        return { removed: this.fleet.remove(body.ids) };
      case 'join':
        await this.fleet.join(body.ids, body.room);
        return 'joined';
      case 'send':
        return this.fleet.send(body.id, body.room, body.text);
      case 'who':
        return this.fleet.who(body.id, body.room);
      case 'stats':
        return this.fleet.stats(body.id);
    }
  }

  /** Where fleet clients connect in a stage, and how: through nginx, or spread straight over the instances. */
  private fleetTarget(stage: Stage): FleetTarget {
    const { ports } = this.settings;
    const options = this.clientOptions;
    if (stage.loadBalancer !== 'none')
      return { via: 'nginx', options, urlFor: () => `http://127.0.0.1:${ports.nginx}` };
    return {
      via: 'direct',
      options,
      urlFor: (n) => `http://127.0.0.1:${instancePort(ports, (n - 1) % stage.instances)}`,
    };
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
  if (state.labPid !== process.pid && (await stopProcess(state.labPid, LAB_MARKER, 15_000))) {
    ended.push(`lab (pid ${state.labPid})`);
  }
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
