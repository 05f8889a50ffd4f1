// The panels around the topology: lab controls, the lesson, the messages
// (expected vs delivered, with the route and what went missing), and the log.

import type { TelemetryEvent } from '../../server/lab/telemetry/events.ts';
import type { HubSnapshot, LessonState, MessageView } from '../../server/lab/telemetry/hub.ts';
import type { LessonView, LessonsView } from '../../server/lab/views.ts';
import { act, read } from './api.ts';
import { button, el } from './dom.ts';
import { renderMarkdown } from './markdown.ts';

/** Runs an API action; failures are shown, never thrown at the user. */
export type Runner = (what: string, action: () => Promise<unknown>) => Promise<void>;

export function controls(
  root: HTMLElement,
  stages: { id: string; title: string }[],
  fleetIds: () => string[],
  run: Runner,
): { setStage(id: string | null): void } {
  const stageSelect = el('select', { 'data-testid': 'stage-select', 'aria-label': 'Stage' });
  for (const s of stages) stageSelect.append(el('option', { value: s.id, title: s.title }, s.id));
  const count = el('input', {
    type: 'number',
    min: '1',
    max: '500',
    value: '4',
    'aria-label': 'How many clients',
    'data-testid': 'fleet-count',
  });
  const source = el(
    'select',
    { 'aria-label': 'Client addresses', 'data-testid': 'fleet-source' },
    el('option', { value: 'distinct' }, 'each from its own /24'),
    el('option', { value: 'shared' }, 'all from 127.0.0.1 (one NAT)'),
  );
  const room = el('input', { value: 'lobby', 'aria-label': 'Room', 'data-testid': 'fleet-room', size: '8' });
  const sender = el('select', { 'aria-label': 'Sender', 'data-testid': 'send-from' });
  const text = el('input', { value: 'hello', 'aria-label': 'Message', 'data-testid': 'send-text', size: '14' });

  let listed = '';
  const refreshSenders = (): void => {
    const ids = fleetIds();
    if (ids.join() === listed) return; // only when the fleet changed: never under an open list
    listed = ids.join();
    const keep = sender.value;
    sender.replaceChildren(...ids.map((id) => el('option', { value: id }, id)));
    if (ids.includes(keep)) sender.value = keep;
  };

  root.replaceChildren(
    el(
      'div',
      { class: 'group' },
      el('label', {}, 'Stage '),
      stageSelect,
      button('switch', () => void run(`stage ${stageSelect.value}`, () => act('stage', { stage: stageSelect.value })), {
        'data-testid': 'stage-apply',
      }),
    ),
    el(
      'div',
      { class: 'group' },
      el('label', {}, 'Clients '),
      count,
      source,
      el('label', {}, ' in '),
      room,
      button(
        'add',
        () =>
          void run('add clients', () =>
            act('fleet', {
              action: 'add',
              count: Number(count.value),
              source: source.value,
              rooms: room.value ? [room.value] : [],
            }),
          ),
        { 'data-testid': 'fleet-add' },
      ),
      button('remove all', () => void run('remove clients', () => act('fleet', { action: 'remove' })), {
        'data-testid': 'fleet-remove',
      }),
    ),
    el(
      'div',
      { class: 'group' },
      el('label', {}, 'Send from '),
      sender,
      el('label', {}, ' to the room '),
      text,
      button(
        'send',
        () =>
          void run(`send from ${sender.value}`, () =>
            act('fleet', { action: 'send', id: sender.value, room: room.value, text: text.value }),
          ),
        { 'data-testid': 'send' },
      ),
    ),
  );
  refreshSenders();
  let shown: string | null = null;
  return {
    setStage(id) {
      // Follow the lab only when its stage changes, never over a choice being made.
      if (id && id !== shown) {
        shown = id;
        stageSelect.value = id;
      }
      refreshSenders();
    },
  };
}

type LessonInfo = LessonView;

/** What the watch loop's states mean to the learner: 'done' is a finished run, not a finished loop. */
const WATCH_STATES: Record<string, string> = {
  watching: 'watching, waiting for a save',
  saved: 'saved, applying',
  applying: 'applying your edit',
  checking: 'checking',
  done: 'checked; watching, waiting for the next save',
};

export interface LessonPanel {
  /** Show the lesson state the event stream holds: the last check run, what the watch loop is doing. */
  update(state: LessonState): void;
}

/**
 * The lesson: its task and the files to edit, predictions to make before
 * looking, the checks, and the README. Check results are not this panel's
 * own: they come from the event stream, so a check run from the terminal
 * (`npm run check`, the watch loop) shows here as well, and one from here
 * shows there.
 */
export async function lessonPanel(root: HTMLElement, run: Runner): Promise<LessonPanel> {
  const data = await read<LessonsView>('lessons');
  const select = el('select', { 'aria-label': 'Lesson', 'data-testid': 'lesson-select' });
  // The lesson map: each lesson's state, and how many of its predictions were right.
  const stateOf = (l: LessonInfo): string => {
    const made = Object.values(data.predictions[l.id] ?? {});
    const parts = [
      data.passed.includes(l.id) ? '✓ passed' : data.started.includes(l.id) ? 'in progress' : '',
      made.length ? `predictions ${made.filter((p) => p.right).length}/${l.predictions.length} right` : '',
    ].filter(Boolean);
    return parts.length ? ` (${parts.join(' · ')})` : '';
  };
  for (const l of data.lessons) select.append(el('option', { value: l.id }, `${l.number}. ${l.title}${stateOf(l)}`));
  select.value = data.current ?? data.lessons[0]?.id ?? '';
  const body = el('article', { class: 'lesson-text', 'data-testid': 'lesson-text' });
  const task = el('div', { class: 'task', 'data-testid': 'lesson-task' });
  const predictions = el('div', { class: 'predictions', 'data-testid': 'lesson-predictions' });
  const results = el('ul', { class: 'results', 'data-testid': 'check-results' });
  const live = el('p', { class: 'lesson-live', 'data-testid': 'lesson-live' });
  const hint = el('p', { class: 'hint', 'data-testid': 'lesson-hint' });
  const meta = el('p', { class: 'lesson-meta' });
  const actions = el('div', { class: 'group' });
  let state: LessonState | null = null;
  let hintsShown = 0;

  const lesson = (): LessonInfo | undefined => data.lessons.find((l) => l.id === select.value);

  const renderResults = (): void => {
    const l = lesson();
    const last = state?.lastCheck;
    if (state?.checking && state.current === l?.id) {
      results.replaceChildren(el('li', {}, 'checking…'));
    } else if (last && last.lesson === l?.id) {
      results.replaceChildren(
        ...last.results.map((r) =>
          el(
            'li',
            { class: r.ok ? 'pass' : 'fail', 'data-ok': String(r.ok), 'data-check': r.id },
            el('strong', {}, `${r.ok ? '✓' : '✗'} ${r.title}`),
            el('br'),
            r.detail,
          ),
        ),
      );
    } else {
      // Not run yet for this lesson: list what will be checked, without a verdict.
      results.replaceChildren(
        ...(l?.checks ?? []).map((c) => el('li', { class: 'pending', 'data-check': c.id }, `· ${c.title}`)),
      );
    }
    // Predictions graded anywhere (here, or `npm run lab -- predict` in a terminal) come on the stream.
    for (const p of l?.predictions ?? []) {
      const graded = state?.predicted[`${l!.id}/${p.id}`];
      const verdict = predictions.querySelector<HTMLElement>(`[data-testid="prediction-${p.id}"]`);
      if (!graded || !verdict) continue;
      verdict.className = `verdict ${graded.right === true ? 'pass' : graded.right === false ? 'fail' : ''}`;
      verdict.textContent = graded.detail;
    }
    const watch = state?.watch;
    live.textContent = watch
      ? `watch loop: ${WATCH_STATES[watch.state] ?? watch.state}${watch.file ? ` (${watch.file})` : ''}`
      : 'watch loop: not running (npm run lab -- watch)';
  };

  const show = (): void => {
    const l = lesson();
    if (!l) return;
    hintsShown = 0;
    hint.textContent = '';
    meta.textContent = `Opens in stage “${l.begin}”; the checks pass in “${l.target}”.`;
    task.replaceChildren(
      el('h3', {}, 'Your task'),
      el('p', {}, l.exercise.task),
      ...(l.exercise.files.length
        ? [el('p', {}, 'Edit: ', ...l.exercise.files.flatMap((f, i) => [...(i ? [', '] : []), el('code', {}, f)]))]
        : []),
    );
    predictions.replaceChildren(
      ...l.predictions.map((p, i, all) => {
        const verdict = el('p', { class: 'verdict', 'data-testid': `prediction-${p.id}` });
        const label = all.length > 1 ? `Predict (${i + 1} of ${all.length}): ` : 'Predict first: ';
        return el(
          'div',
          { class: 'prediction' },
          el('p', {}, el('strong', {}, label), p.question),
          el(
            'div',
            { class: 'group' },
            ...p.choices.map((c, k) =>
              button(
                c,
                () =>
                  void run(`prediction ${p.id}`, async () => {
                    verdict.textContent = 'measuring…';
                    const graded = await act<{ right: boolean | null; summary: string }>('predict', {
                      lesson: l.id,
                      prediction: p.id,
                      choice: k,
                    });
                    verdict.className = `verdict ${graded.right === true ? 'pass' : graded.right === false ? 'fail' : ''}`;
                    verdict.textContent = graded.summary;
                  }),
                { 'data-testid': `predict-${p.id}-${k}` },
              ),
            ),
          ),
          verdict,
        );
      }),
    );
    actions.replaceChildren(
      button('open lesson', () => void run(`open lesson ${l.number}`, () => act('lesson', { lesson: l.id })), {
        'data-testid': 'lesson-open',
      }),
      button('verify', () => void run(`verify lesson ${l.number}`, () => act('check', { lesson: l.id })), {
        class: 'primary',
        'data-testid': 'lesson-verify',
      }),
      button(
        'hint',
        () => {
          if (hintsShown < l.hints.length) hintsShown++;
          hint.textContent = l.hints.length
            ? l.hints
                .slice(0, hintsShown)
                .map((h, i) => `${i + 1}. ${h}`)
                .join('\n')
            : 'No hints for this lesson.';
        },
        { 'data-testid': 'lesson-hint-next' },
      ),
      button(
        'put the solution in place',
        () => {
          if (
            !confirm(
              `Overwrite ${l.exercise.files.join(', ') || 'the lesson files'} with the solution? Your version is kept in .lab/backups.`,
            )
          )
            return;
          void run(`solution of lesson ${l.number}`, () => act('solution', { lesson: l.id }));
        },
        { 'data-testid': 'lesson-solution' },
      ),
      button(
        'reset to the start',
        () => {
          if (
            !confirm(
              `Put the start version of ${l.exercise.files.join(', ') || 'the lesson files'} back? Your version is kept in .lab/backups.`,
            )
          )
            return;
          void run(`reset lesson ${l.number}`, () => act('reset', { lesson: l.id }));
        },
        { 'data-testid': 'lesson-reset' },
      ),
    );
    body.replaceChildren(renderMarkdown(l.readme || `# ${l.title}\n\n${l.summary}`));
    renderResults();
  };
  select.addEventListener('change', show);
  root.replaceChildren(
    el('div', { class: 'group' }, select),
    meta,
    task,
    actions,
    live,
    results,
    hint,
    predictions,
    body,
  );
  show();
  return {
    update(next) {
      // A pass seen on the stream moves the lesson map on, without a reload.
      const last = next.lastCheck;
      if (last && last.passed === last.total && !data.passed.includes(last.lesson)) {
        data.passed.push(last.lesson);
        for (const option of select.options) {
          const l = data.lessons.find((x) => x.id === option.value);
          if (l) option.textContent = `${l.number}. ${l.title}${stateOf(l)}`;
        }
      }
      // Follow the lesson the lab is on when it changes (opened from the terminal, say).
      if (next.current && next.current !== state?.current && next.current !== select.value) {
        select.value = next.current;
        state = next;
        show();
        return;
      }
      state = next;
      renderResults();
    },
  };
}

/** The recent messages, newest first, each with its route and any missing recipients (with why). */
export function renderMessages(root: HTMLElement, snap: HubSnapshot): void {
  const rows = snap.messages
    .filter((m) => m.origin !== '')
    .slice(-12)
    .reverse()
    .map((m) => messageRow(m));
  root.replaceChildren(
    el('h2', {}, 'Messages: expected vs delivered'),
    ...(rows.length ? rows : [el('p', { class: 'empty' }, 'No messages yet: add clients to a room and send one.')]),
  );
}

function messageRow(m: MessageView): HTMLElement {
  const remote = [...new Set(Object.values(m.delivered))].filter((s) => s !== m.origin).sort();
  const viaRedis = remote.length > 0;
  const route = [m.origin, ...(viaRedis ? ['redis', remote.join(', ')] : [])];
  const missing = m.expected.filter((id) => !(id in m.delivered));
  // Until it settles, deliveries may still be on their way: no verdict yet.
  // Once settled, the reasons are those recorded then: history stays history.
  const settled = m.settled;
  const row = el(
    'div',
    {
      class: `message ${missing.length && settled ? 'lossy' : settled ? 'complete' : 'pending'}`,
      'data-msg-id': m.msgId,
      'data-route': route.join('>'),
    },
    el('span', { class: 'who' }, `${m.from} → #${m.room}`),
    el('span', { class: 'route' }, ` ${m.viaNginx ? 'nginx → ' : ''}${route.join(' → ')}`),
    el(
      'span',
      { class: 'count', 'data-testid': 'delivered' },
      ` · delivered ${Object.keys(m.delivered).length}/${m.expected.length}`,
    ),
  );
  if (missing.length && settled) {
    const list = el('ul', { class: 'missing' });
    for (const id of missing.slice(0, 6))
      list.append(
        el(
          'li',
          { 'data-missing': id },
          `${id}: ${settled.missing[id] ?? 'not delivered (its membership was reported after the row settled)'}`,
        ),
      );
    if (missing.length > 6) list.append(el('li', {}, `… and ${missing.length - 6} more`));
    row.append(list);
  }
  return row;
}

/** One line of the event log, or null for events too frequent to list one by one. */
export function describeEvent(e: TelemetryEvent, nameOf: (socketId: string) => string): string | null {
  switch (e.t) {
    case 'stage':
      return `stage ${e.stage}: ${e.phase}${e.detail ? ` (${e.detail})` : ''}`;
    case 'progress':
      return e.step;
    case 'instance-up':
      return `${e.serverId} up (pid ${e.pid}, port ${e.port}, ${e.adapter})`;
    case 'instance-state':
      return `${e.serverId} ${e.online ? 'online' : 'offline'}`;
    case 'instance-removed':
      return `${e.serverId} removed`;
    case 'redis':
      return `redis ${e.running ? 'running' : 'stopped'}`;
    case 'nginx':
      return e.mode ? `nginx ${e.mode}` : 'nginx stopped';
    case 'connected':
      return `${e.clientId} connected to ${e.serverId} (${e.transport})${e.recovered ? ', session recovered' : ''}`;
    case 'upgraded':
      return null;
    case 'disconnected':
      return `${nameOf(e.socketId)} left ${e.serverId}: ${e.reason}`;
    case 'handshake-failed':
      return `${e.clientId} could not connect via ${e.via}: ${e.error}`;
    case 'refused':
      return `${e.serverId} refused ${e.address}: ${e.reason}`;
    case 'received':
      return `${e.from} → #${e.room}, received by ${e.serverId}`;
    case 'draining':
      return `${e.serverId} is draining`;
    case 'checked':
      return `checks of ${e.lesson}: ${e.passed}/${e.total} pass`;
    case 'checking':
      return `checking ${e.lesson}…`;
    case 'lesson':
      return `lesson ${e.lesson} opened`;
    case 'predicted':
      return `prediction ${e.prediction}: ${e.right === true ? 'right' : e.right === false ? 'wrong' : 'not measured'}. ${e.detail}`;
    case 'fleet':
      return null;
    default:
      return null;
  }
}
