// A plain chat client, as a learner's own browser tab: it connects through
// nginx (or straight to an instance when the stage has no balancer; pick one
// with ?instance=s2), with the learner's client options
// (server/app/client-options.ts), shows which server it landed on, and speaks
// the lab's chat protocol.

import { io, type Socket } from 'socket.io-client';
import type { ChatReply, ClientToServerEvents, JoinReply, ServerToClientEvents } from '../../server/app/protocol.ts';
import { el } from './dom.ts';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const name = $<HTMLInputElement>('name');
const url = $<HTMLInputElement>('url');
const room = $<HTMLInputElement>('room');
const text = $<HTMLInputElement>('text');
const server = $('server');
const status = $('status');
const log = $('log');
let socket: Socket<ServerToClientEvents, ClientToServerEvents> | null = null;
let clientOptions: Record<string, unknown> = {};

name.value = params.get('name') ?? `tab-${Math.random().toString(36).slice(2, 6)}`;
if (params.get('room')) room.value = params.get('room')!;

/** The front door (nginx), or the instance named by ?instance=, or the first one. */
async function defaultUrl(): Promise<string> {
  const s = (await (await fetch('/api/status')).json()) as {
    nginx: { port: number } | null;
    instances: { serverId: string; port: number }[];
  };
  const wanted = s.instances.find((i) => i.serverId === params.get('instance'));
  return `http://127.0.0.1:${wanted?.port ?? s.nginx?.port ?? s.instances[0]?.port ?? 8080}`;
}

function line(text: string, cls = ''): void {
  log.prepend(el('li', { class: cls }, text)); // textContent: whatever others type stays text
}

function connect(): void {
  socket?.close();
  socket = io(url.value, { ...clientOptions, auth: { name: name.value }, forceNew: true });
  status.textContent = `connecting to ${url.value}…`;
  socket.on('welcome', (w) => {
    server.textContent = `on ${w.serverId}`;
    server.dataset.serverId = w.serverId;
    status.textContent = `connected to ${w.serverId} (${w.transport})`;
    socket!.io.engine.once(
      'upgrade',
      (t: { name: string }) => (status.textContent = `connected to ${w.serverId} (${t.name})`),
    );
    // Rooms are per connection: after a reconnect, join again.
    if (room.dataset.joined) void join();
  });
  socket.on('chat', (m) => line(`${m.from} (via ${m.serverId}) in #${m.room}: ${m.text}`, 'msg'));
  socket.on('connect_error', (err) => (status.textContent = `cannot connect: ${err.message}`));
  socket.on('disconnect', (reason) => {
    server.textContent = 'disconnected';
    status.textContent = `disconnected: ${reason}`;
  });
  socket.on('draining', (d) => line(`${d.serverId} is shutting down; reconnecting elsewhere`, 'sys'));
}

async function join(): Promise<void> {
  if (!socket) return;
  const ack: JoinReply = await socket.emitWithAck('join', room.value);
  if (ack.ok) room.dataset.joined = '1';
  line(ack.ok ? `joined #${room.value} on ${ack.serverId}` : `join refused: ${ack.error}`, 'sys');
}

$('connect-form').addEventListener('submit', (e) => {
  e.preventDefault();
  connect();
});
$('join-form').addEventListener('submit', (e) => {
  e.preventDefault();
  void join();
});
$('send-form').addEventListener('submit', (e) => {
  e.preventDefault();
  if (!socket) return;
  void socket.emitWithAck('chat', { room: room.value, text: text.value }).then((ack: ChatReply) => {
    if (!ack.ok) line(`not sent: ${ack.error}`, 'sys');
    else text.value = '';
  });
});

void (async () => {
  clientOptions = (await (await fetch('/api/client-options')).json()) as Record<string, unknown>;
  url.value = params.get('url') ?? (await defaultUrl());
  if (params.has('autoconnect')) connect();
})();
