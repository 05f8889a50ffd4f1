// A plain chat client, as a learner's own browser tab: it connects through
// nginx (or straight to an instance when the stage has no balancer), shows
// which server it landed on, and speaks the lab's chat protocol.

import { io, type Socket } from 'socket.io-client';
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
let socket: Socket | null = null;

name.value = params.get('name') ?? `tab-${Math.random().toString(36).slice(2, 6)}`;
if (params.get('room')) room.value = params.get('room')!;

async function defaultUrl(): Promise<string> {
  const s = (await (await fetch('/api/status')).json()) as { nginx: { port: number } | null; instances: { port: number }[] };
  return `http://127.0.0.1:${s.nginx?.port ?? s.instances[0]?.port ?? 8080}`;
}

function line(text: string, cls = ''): void {
  log.prepend(el('li', { class: cls }, text)); // textContent: whatever others type stays text
}

function connect(): void {
  socket?.close();
  socket = io(url.value, { auth: { name: name.value }, forceNew: true });
  status.textContent = `connecting to ${url.value}…`;
  socket.on('welcome', (w: { serverId: string; transport: string }) => {
    server.textContent = `on ${w.serverId}`;
    server.dataset.serverId = w.serverId;
    status.textContent = `connected to ${w.serverId} (${w.transport})`;
    socket!.io.engine.once('upgrade', (t: { name: string }) => (status.textContent = `connected to ${w.serverId} (${t.name})`));
    // Rooms are per connection: after a reconnect, join again.
    if (room.dataset.joined) void join();
  });
  socket.on('chat', (m: { from: string; text: string; serverId: string; room: string }) => line(`${m.from} (via ${m.serverId}) in #${m.room}: ${m.text}`, 'msg'));
  socket.on('connect_error', (err) => (status.textContent = `cannot connect: ${err.message}`));
  socket.on('disconnect', (reason) => {
    server.textContent = 'disconnected';
    status.textContent = `disconnected: ${reason}`;
  });
  socket.on('draining', (d: { serverId: string }) => line(`${d.serverId} is shutting down; reconnecting elsewhere`, 'sys'));
}

async function join(): Promise<void> {
  if (!socket) return;
  const ack = (await socket.emitWithAck('join', room.value)) as { ok: boolean; error?: string; serverId?: string };
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
  void socket.emitWithAck('chat', { room: room.value, text: text.value }).then((ack: { ok: boolean; error?: string }) => {
    if (!ack.ok) line(`not sent: ${ack.error}`, 'sys');
    else text.value = '';
  });
});

void (async () => {
  url.value = params.get('url') ?? (await defaultUrl());
  if (params.has('autoconnect')) connect();
})();
