// The lab UI: a view over the lab's one event stream. It starts from the
// lab's snapshot and folds every later event with the same TelemetryHub code
// the server uses, so it shows what `lab status` says; the timeline can hold,
// step, replay or rewind that fold.

import type { TelemetryEvent } from '../../server/lab/telemetry/events.ts';
import type { LabSnapshot } from '../../server/lab/views.ts';
import { act, eventsUrl } from './api.ts';
import { Charts } from './charts.ts';
import { button, el } from './dom.ts';
import { FlowView } from './flow.ts';
import { controls, describeEvent, lessonPanel, renderMessages, type LessonPanel, type Runner } from './panels.ts';
import { Timeline } from './timeline.ts';
import { DEFAULT_TOPOLOGY, TopologyView, type FaultRequest, type TopologyOptions } from './topology.ts';

type Snapshot = LabSnapshot;

const $ = (id: string): HTMLElement => document.getElementById(id)!;
const notice = $('notice');
const logList = $('events');

/** Every API action goes through here: its failure is shown, with the lab's own words. */
const run: Runner = async (what, action) => {
  notice.className = 'notice busy';
  notice.textContent = `${what}…`;
  try {
    await action();
    notice.className = 'notice';
    notice.textContent = `${what}: done`;
  } catch (err) {
    notice.className = 'notice error';
    notice.textContent = `${what}: ${(err as Error).message}`;
  }
};

/** `?aggregate=N&sample=K` override when the topology aggregates (tests use a small N). */
function topologyOptions(): TopologyOptions {
  const q = new URLSearchParams(location.search);
  const int = (name: string, fallback: number): number => {
    const n = Number(q.get(name) ?? Number.NaN);
    return Number.isInteger(n) && n >= 0 ? n : fallback;
  };
  return {
    aggregateAbove: int('aggregate', DEFAULT_TOPOLOGY.aggregateAbove),
    samplePerInstance: int('sample', DEFAULT_TOPOLOGY.samplePerInstance),
  };
}

const topology = new TopologyView(
  $('topology'),
  (f: FaultRequest) =>
    void run(f.target === 'redis' ? `redis ${f.fault}` : `${f.serverId} ${f.fault}`, () => act('fault', f)),
  topologyOptions(),
);
const flow = new FlowView(topology);
const charts = new Charts($('charts'));
let fleetIds: string[] = [];
let ctl: ReturnType<typeof controls> | null = null;
const names = new Map<string, string>();

const timeline = new Timeline(
  (e, animate) => {
    if (e.t === 'connected') names.set(e.socketId, e.clientId);
    if (animate) flow.play(e, timeline.hub, timeline.speed);
    logEvent(e, true);
    scheduleRedraw();
  },
  () => {
    rebuildLog();
    scheduleRedraw();
  },
);

function logEvent(e: TelemetryEvent, prepend: boolean): void {
  const text = describeEvent(e, (id) => names.get(id) ?? id);
  if (!text) return;
  const li = el('li', { class: `ev ${e.t}` }, el('time', {}, new Date(e.at).toLocaleTimeString()), ` ${text}`);
  if (prepend) logList.prepend(li);
  else logList.append(li);
  while (logList.childElementCount > 200) logList.lastElementChild!.remove();
}

/** After a jump: the log shows the 200 latest events up to the cursor. */
function rebuildLog(): void {
  logList.replaceChildren();
  for (let i = timeline.cursor - 1; i >= 0 && logList.childElementCount < 200; i--) logEvent(timeline.log[i]!, false);
}

let redrawScheduled = false;
/** Draw at most ten times a second, however many events arrive. */
function scheduleRedraw(): void {
  if (redrawScheduled) return;
  redrawScheduled = true;
  setTimeout(() => requestAnimationFrame(redraw), 100);
}

function redraw(): void {
  redrawScheduled = false;
  const snap = timeline.hub.snapshot();
  $('stage').textContent = snap.stage ? `stage ${snap.stage.id} · ${snap.stage.phase}` : 'no stage';
  ctl?.setStage(timeline.mode === 'live' ? (snap.stage?.id ?? null) : null);
  topology.update(snap);
  renderMessages($('messages'), snap);
  lesson?.update(snap.lesson);
  const scrub = $('scrub') as HTMLInputElement;
  scrub.max = String(timeline.log.length);
  scrub.value = String(timeline.cursor);
  const at = timeline.log[timeline.cursor - 1]?.at;
  $('position').textContent =
    `${timeline.mode} · ${timeline.cursor}/${timeline.log.length}${at ? ` · ${new Date(at).toLocaleTimeString()}` : ''}`;
  $('mode-live').toggleAttribute('disabled', timeline.mode === 'live');
}

function timelineControls(): void {
  const speed = el(
    'select',
    { 'aria-label': 'Replay speed', 'data-testid': 'speed' },
    ...['0.25', '0.5', '1', '2', '4'].map((s) => el('option', { value: s }, `${s}×`)),
  );
  speed.value = '1';
  speed.addEventListener('change', () => (timeline.speed = Number(speed.value)));
  const scrub = el('input', {
    type: 'range',
    id: 'scrub',
    min: '0',
    max: '0',
    value: '0',
    'aria-label': 'Scrub through events',
    'data-testid': 'scrub',
  });
  scrub.addEventListener('input', () => timeline.seek(Number(scrub.value)));
  $('timeline').replaceChildren(
    button('pause', () => timeline.pause(), { 'data-testid': 'pause' }),
    button('step', () => timeline.step(), { 'data-testid': 'step' }),
    button('replay', () => timeline.replay(), { 'data-testid': 'replay' }),
    speed,
    button('live', () => timeline.live(), { id: 'mode-live', 'data-testid': 'live' }),
    scrub,
    el('span', { id: 'position', class: 'position' }),
  );
}

function connect(): void {
  const stream = new EventSource(eventsUrl());
  stream.addEventListener('snapshot', (e) => {
    const snap = JSON.parse((e as MessageEvent<string>).data) as Snapshot;
    fleetIds = snap.fleet.map((c) => c.id);
    topology.setFleet(fleetIds);
    for (const c of snap.clients) names.set(c.socketId, c.clientId);
    if (!ctl) ctl = controls($('controls'), snap.stages, () => fleetIds, run);
    timeline.reset(snap);
    // Events from before this page: shown in the log, already part of the snapshot.
    for (const event of snap.recent) logEvent(event, true);
    $('conn').textContent = 'live';
  });
  stream.onmessage = (e: MessageEvent<string>) => {
    const event = JSON.parse(e.data) as TelemetryEvent;
    if (event.t === 'stats') charts.add(event);
    if (event.t === 'fleet') {
      fleetIds = event.ids;
      topology.setFleet(fleetIds);
      ctl?.setStage(null);
    }
    timeline.push(event);
  };
  stream.onerror = () => {
    $('conn').textContent = 'lab unreachable: retrying…';
    watchForRestart();
  };
}

/**
 * A lab that went down and came back (`lab down`, then `npm start`) has a new
 * per-run token, which this page cannot know: the stream would be refused
 * forever. So while the lab is unreachable, ask for the page itself; once it
 * answers with another token, load it afresh.
 */
let watchingForRestart = false;
function watchForRestart(): void {
  if (watchingForRestart) return;
  watchingForRestart = true;
  const mine = document.querySelector<HTMLMetaElement>('meta[name="lab-token"]')?.content;
  const probe = async (): Promise<void> => {
    try {
      const page = await (await fetch('/', { cache: 'no-store' })).text();
      const token = /<meta name="lab-token" content="([^"]*)"/.exec(page)?.[1];
      if (token && token !== mine) {
        $('conn').textContent = 'the lab restarted: reloading…';
        location.reload();
        return;
      }
      if (token && $('conn').textContent === 'live') {
        watchingForRestart = false; // the same lab came back, and the stream with it
        return;
      }
    } catch {
      /* still down */
    }
    setTimeout(() => void probe(), 2000);
  };
  void probe();
}

let lesson: LessonPanel | null = null;
timelineControls();
connect();
lessonPanel($('lesson'), run).then(
  (panel) => {
    lesson = panel;
    scheduleRedraw();
  },
  (err: Error) => ($('lesson').textContent = `Lessons unavailable: ${err.message}`),
);
