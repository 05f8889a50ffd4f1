// `npm run lab -- <command>`: the learner's handle on the lab. USAGE below
// lists every command; lesson commands live in cli-lessons.ts and watch.ts.

import { LabError } from './errors.ts';
import { Lab, cleanUpAfter, LAB_MARKER, type LabStatus } from './lab.ts';
import { isOurs } from './processes.ts';
import { readRunState } from './run-state.ts';
import { settingsFromEnv, type LabSettings } from './settings.ts';
import { runDoctor } from './doctor.ts';
import { ensureWebBuilt } from './web-build.ts';
import { LESSON_COMMANDS, lessonCommand } from './cli-lessons.ts';
import type { ChatReply, StatsReply, WhoReply } from '../app/protocol.ts';
import type { FleetClientView } from './fleet.ts';
import { LessonCatalog } from './lessons.ts';
import { readProgress } from './progress.ts';

const USAGE = `usage: npm run lab -- <command>
  up [--stage <id>]          start the lab (Ctrl-C stops it); without --stage, in the current lesson's first stage
  stage <id>                 switch the running lab to another stage
  status [--json]            show what runs where
  down                       stop the lab (also cleans up after a crashed one)
  doctor                     check what the lab needs, and how to fix it

  lesson [N] | next          open a lesson: a clean slate, its start files in place, its first stage
  list                       every lesson, and where you are
  watch [--manual-run]       re-check the current lesson on every save of its files (keys: h c l p r n q)
  check [N]                  run the lesson's checks (also: npm run check [N])
  hint [N]                   show the next hint
  predict [N] [--choice k]   answer the lesson's question, then watch the lab make it happen
  solution N [--apply]       where the solution is (after a pass, or after every hint); --apply puts it in place
  reset N [--yes]            put the lesson's start files back, forget its progress

  fleet add <n> [--room <r>] [--shared]   add simulated clients (--shared: all from 127.0.0.1)
  fleet join <room> [ids…]                make clients join a room (default: all)
  fleet send <id> <room> <text…>          send a chat message from one client
  fleet who <id> <room> | stats <id>      ask, as one client: who is in the room? how many are connected?
  fleet list | remove [ids…]              list or remove clients

  instance crash|stop|start <sN>          kill -9 (PM2 restarts it) | stop as PM2 does (SIGINT: drain) | start again
  redis stop|start                        an outage of the lab's Redis, on purpose`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const settings = settingsFromEnv();
  switch (command) {
    case 'up':
      return up(settings, option(rest, '--stage') ?? resumeStage(settings));
    case 'stage': {
      const id = rest[0];
      if (!id)
        throw new LabError(
          'which stage?',
          'npm run lab -- stage <id>   (see `npm run lab -- status` for the current one)',
        );
      const result = (await callLab(settings, 'POST', 'stage', { stage: id })) as string[];
      console.log(
        result.length ? result.map((l) => `  ${l}`).join('\n') : `  already in stage ${id}: nothing to change`,
      );
      return 0;
    }
    case 'status': {
      const status = await readStatus(settings);
      console.log(rest.includes('--json') ? JSON.stringify(status, null, 2) : formatStatus(status));
      return 0;
    }
    case 'down':
      return down(settings);
    case 'doctor':
      return runDoctor(settings);
    case 'fleet':
      return fleetCommand(rest, settings);
    case 'instance':
    case 'redis': {
      // Faults on purpose; the next `lab stage` puts everything back as the stage says.
      const [fault, serverId] = rest;
      const body = command === 'redis' ? { target: 'redis', fault } : { target: 'instance', fault, serverId };
      if (!fault || (command === 'instance' && !serverId)) throw new LabError(`which ${command} fault?`, USAGE);
      console.log(`  ${String(await callLab(settings, 'POST', 'fault', body))}`);
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
      console.log(USAGE);
      return 0;
    default:
      if (LESSON_COMMANDS.includes(command)) {
        return lessonCommand(command, rest, settings, (method, name, body) => callLab(settings, method, name, body));
      }
      throw new LabError(`unknown command "${command}"`, USAGE);
  }
}

async function up(settings: LabSettings, stageId: string): Promise<number> {
  // Catch Ctrl-C from the very first moment: a signal during start-up must
  // not kill the lab halfway, leaving Redis, nginx or PM2 behind. Start-up
  // finishes (or fails and cleans up after itself), then everything stops.
  let stopReason: string | null = null;
  let wake = (): void => {};
  const requestStop = (why: string): void => {
    if (stopReason) return;
    stopReason = why;
    wake();
  };
  process.on('SIGINT', () => requestStop('Ctrl-C'));
  process.on('SIGTERM', () => requestStop('SIGTERM'));
  process.on('SIGHUP', () => requestStop('terminal closed'));

  const started = performance.now();
  await ensureWebBuilt((line) => console.log(`  ${line}`));
  console.log(`Starting the lab in stage "${stageId}"…`);
  const lab = await Lab.up(settings, stageId, (line) => console.log(`  ${line}`));
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`\nThe lab is up (stage "${lab.currentStage.id}", ${seconds} s).`);
  console.log(formatStatus(lab.status()));
  console.log(`\n  Open the lab: ${lab.control.url}\n\n  Ctrl-C stops everything.`);

  // Until a signal, or `lab down` through the control API (which stops the lab itself).
  await new Promise<void>((resolve) => {
    wake = resolve;
    lab.onDown = resolve;
    if (stopReason) resolve();
  });
  if (stopReason) {
    console.log(`\n${stopReason}: stopping the lab…`);
    await lab.down();
  }
  console.log('The lab is down: Redis, nginx and every instance have stopped.');
  return 0;
}

/** Without --stage, the lab starts where the learner left off: the current lesson's first stage. */
function resumeStage(settings: LabSettings): string {
  const current = readProgress(settings.runDir).current;
  if (!current) return 'start';
  try {
    return LessonCatalog.load(settings.lessonsDir).lesson(current).begin;
  } catch {
    return 'start';
  }
}

async function fleetCommand(args: string[], settings: LabSettings): Promise<number> {
  const [action, ...rest] = args;
  const call = (body: object): Promise<unknown> => callLab(settings, 'POST', 'fleet', body);
  switch (action) {
    case 'add': {
      const count = Number(rest[0] ?? 1);
      if (!Number.isInteger(count) || count < 1)
        throw new LabError(
          `fleet add: "${rest[0]}" is not a number of clients`,
          'npm run lab -- fleet add <n> [--room <r>] [--shared]',
        );
      const room = option(rest, '--room');
      const added = (await call({
        action: 'add',
        count,
        source: rest.includes('--shared') ? 'shared' : 'distinct',
        rooms: room ? [room] : [],
      })) as FleetClientView[];
      for (const c of added)
        console.log(
          `  ${c.id.padEnd(6)} from ${c.source.padEnd(12)} ${c.connected ? `on ${c.serverId} (${c.transport})` : `NOT connected: ${c.lastError ?? 'no answer'}`}`,
        );
      return added.every((c) => c.connected) ? 0 : 1;
    }
    case 'join': {
      const [room, ...ids] = rest;
      if (!room) throw new LabError('which room?', 'npm run lab -- fleet join <room> [ids…]');
      await call({ action: 'join', room, ids: ids.length ? ids : await fleetIds(settings) });
      console.log(`Joined ${room}.`);
      return 0;
    }
    case 'send': {
      const [id, room, ...words] = rest;
      if (!id || !room || words.length === 0)
        throw new LabError('usage: npm run lab -- fleet send <id> <room> <text…>');
      const ack = (await call({ action: 'send', id, room, text: words.join(' ') })) as ChatReply;
      console.log(ack.ok ? `  ${ack.msgId} accepted by ${ack.serverId}` : `  refused: ${ack.error}`);
      return ack.ok ? 0 : 1;
    }
    case 'who':
    case 'stats': {
      const [id, room] = rest;
      if (!id || (action === 'who' && !room))
        throw new LabError('usage: npm run lab -- fleet who <id> <room> | fleet stats <id>');
      const reply = (await call(action === 'who' ? { action, id, room } : { action, id })) as WhoReply | StatsReply;
      if (!reply.ok) console.log(`  refused: ${reply.error}`);
      else if ('members' in reply) {
        console.log(
          `  ${reply.members.length} in ${room}: ${reply.members.map((m) => `${m.name} (${m.serverId})`).join(', ')}`,
        );
      } else {
        const counts = Object.entries(reply.servers)
          .sort()
          .map(([s, n]) => `${s}: ${n}`);
        console.log(`  ${counts.join(', ')}; ${reply.total} in all`);
      }
      return reply.ok ? 0 : 1;
    }
    case 'list': {
      const snap = (await callLab(settings, 'GET', 'snapshot')) as { fleet: FleetClientView[] };
      if (snap.fleet.length === 0) console.log('No fleet clients. Add some: npm run lab -- fleet add 4 --room lobby');
      for (const c of snap.fleet) {
        console.log(
          `  ${c.id.padEnd(6)} ${c.source.padEnd(12)} ${c.connected ? `${c.serverId} ${c.transport}` : 'disconnected'}  rooms: ${c.rooms.join(', ') || '—'}  received: ${c.received}${c.lastError ? `  (${c.lastError})` : ''}`,
        );
      }
      return 0;
    }
    case 'remove': {
      const result = (await call({ action: 'remove', ...(rest.length ? { ids: rest } : {}) })) as { removed: number };
      console.log(`Removed ${result.removed} client(s).`);
      return 0;
    }
    default:
      throw new LabError(`unknown fleet action "${action ?? ''}"`, 'add, join, send, who, stats, list or remove');
  }
}

async function fleetIds(settings: LabSettings): Promise<string[]> {
  return ((await callLab(settings, 'GET', 'snapshot')) as { fleet: FleetClientView[] }).fleet.map((c) => c.id);
}

async function down(settings: LabSettings): Promise<number> {
  const state = readRunState(settings.runDir);
  if (!state) {
    console.log('No lab is running here.');
    return 0;
  }
  // The live lab stops its own processes; cleanUpAfter ends whatever a dead one left behind.
  const ended = await cleanUpAfter(settings.runDir);
  console.log(ended.length ? `Stopped: ${ended.join(', ')}.` : 'Nothing was left running.');
  return 0;
}

async function readStatus(settings: LabSettings): Promise<LabStatus> {
  const state = readRunState(settings.runDir);
  if (state && isOurs(state.labPid, LAB_MARKER)) return (await callLab(settings, 'GET', 'status')) as LabStatus;
  return {
    lesson: null,
    stage: null,
    ui: { url: `http://127.0.0.1:${settings.ports.ui}/` },
    nginx: null,
    redis: null,
    instances: [],
  };
}

/** Talk to the running lab's control API, with the token from its run directory. */
async function callLab(settings: LabSettings, method: 'GET' | 'POST', name: string, body?: object): Promise<unknown> {
  const state = readRunState(settings.runDir);
  if (!state || !isOurs(state.labPid, LAB_MARKER)) throw new LabError('the lab is not running', 'start it: npm start');
  const res = await fetch(`http://127.0.0.1:${state.ports.ui}/api/${name}`, {
    method,
    headers: { 'content-type': 'application/json', 'x-lab-token': state.token },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const reply = (await res.json()) as { ok?: boolean; result?: unknown; error?: string };
  if (method === 'GET') return reply;
  if (!res.ok || !reply.ok) throw new LabError(reply.error ?? `HTTP ${res.status}`);
  return reply.result;
}

function formatStatus(s: LabStatus): string {
  if (!s.stage) return 'The lab is not running. Start it with: npm start';
  const lines = [`  stage ${s.stage}${s.lesson ? ` (lesson ${s.lesson})` : ''}`, `  UI    ${s.ui.url}`];
  lines.push(
    `  nginx ${s.nginx ? `127.0.0.1:${s.nginx.port} (${s.nginx.mode})` : '— (clients connect straight to an instance)'}`,
  );
  lines.push(`  redis ${s.redis ? `127.0.0.1:${s.redis.port} (${s.redis.running ? 'running' : 'stopped'})` : '—'}`);
  for (const i of s.instances) {
    lines.push(
      `  ${i.serverId.padEnd(5)} 127.0.0.1:${i.port}  pid ${i.pid ?? '—'}  ${i.online ? 'online ' : 'OFFLINE'}  ${i.connections} connection(s)`,
    );
  }
  return lines.join('\n');
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i === -1) return undefined;
  const value = args[i + 1];
  if (!value || value.startsWith('--')) throw new LabError(`${name} needs a value`);
  return value;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof LabError ? `lab: ${err.toString()}` : err);
    process.exit(1);
  },
);
