// Drawing the lab. All text that came from clients (names, rooms) goes in
// through textContent, never innerHTML, so it is inert.

import type { HubSnapshot } from '../../server/lab/telemetry/hub.ts';
import type { TelemetryEvent } from '../../server/lab/telemetry/events.ts';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

export function renderTopology(root: HTMLElement, snap: HubSnapshot): void {
  const frag = document.createDocumentFragment();

  const infra = el('div', { class: 'infra' });
  infra.append(
    el('div', { class: `box nginx ${snap.nginx ? 'up' : 'absent'}`, 'data-testid': 'nginx' },
      snap.nginx ? `nginx :${snap.nginx.port} — ${snap.nginx.mode}` : 'no load balancer: clients connect straight to an instance'),
    el('div', { class: `box redis ${snap.redis?.running ? 'up' : 'absent'}`, 'data-testid': 'redis' },
      snap.redis ? `redis :${snap.redis.port} — ${snap.redis.running ? 'running' : 'stopped'}` : 'no redis'),
  );
  frag.append(infra);

  const grid = el('div', { class: 'instances' });
  for (const i of snap.instances) {
    const clients = snap.clients.filter((c) => c.serverId === i.serverId);
    const card = el('div', { class: `instance ${i.online ? 'online' : 'offline'}`, 'data-server-id': i.serverId });
    card.append(
      el('h3', {}, i.serverId),
      el('p', { class: 'meta' }, `:${i.port} · pid ${i.pid ?? '—'} · ${i.adapter ?? '?'} · ${i.broadcast ?? '?'}`),
      el('p', { class: 'count' }, `${clients.length} connection${clients.length === 1 ? '' : 's'}${i.draining ? ' · draining' : ''}`),
    );
    const list = el('ul', { class: 'clients' });
    for (const c of clients) {
      const item = el('li', { class: `client ${c.transport}`, 'data-client-id': c.clientId, 'data-server-id': c.serverId });
      item.append(el('span', { class: 'name' }, c.clientId), el('span', { class: 'on' }, ` on ${c.serverId}`), el('span', { class: 'transport' }, ` · ${c.transport}`));
      list.append(item);
    }
    card.append(list);
    grid.append(card);
  }
  frag.append(grid);

  const msgs = el('div', { class: 'messages' });
  msgs.append(el('h2', {}, 'Recent messages: expected vs delivered'));
  for (const m of snap.messages.slice(-8).reverse()) {
    const missing = m.expected.filter((id) => !(id in m.delivered));
    const row = el('div', { class: `message ${missing.length ? 'lossy' : 'complete'}`, 'data-msg-id': m.msgId });
    row.append(
      el('span', {}, `${m.from} → #${m.room} via ${m.origin}: delivered ${Object.keys(m.delivered).length}/${m.expected.length}`),
      ...(missing.length ? [el('span', { class: 'missing' }, ` · not delivered: ${missing.join(', ')}`)] : []),
    );
    msgs.append(row);
  }
  frag.append(msgs);

  root.replaceChildren(frag);
}

/** One line in the event log, or null for events too frequent to list. */
export function renderEvent(e: TelemetryEvent): HTMLLIElement | null {
  const time = new Date(e.at).toLocaleTimeString();
  let text: string;
  switch (e.t) {
    case 'stage': text = `stage ${e.stage}: ${e.phase}${e.detail ? ` — ${e.detail}` : ''}`; break;
    case 'progress': text = e.step; break;
    case 'instance-up': text = `${e.serverId} up (pid ${e.pid}, port ${e.port})`; break;
    case 'instance-state': text = `${e.serverId} ${e.online ? 'online' : 'offline'}`; break;
    case 'instance-removed': text = `${e.serverId} removed`; break;
    case 'redis': text = `redis ${e.running ? 'running' : 'stopped'}`; break;
    case 'nginx': text = e.mode ? `nginx ${e.mode}` : 'nginx stopped'; break;
    case 'connected': text = `${e.clientId} connected to ${e.serverId} (${e.transport})`; break;
    case 'disconnected': text = `${e.socketId} left ${e.serverId}: ${e.reason}`; break;
    case 'handshake-failed': text = `${e.clientId} could not connect via ${e.via}: ${e.error}`; break;
    case 'refused': text = `${e.serverId} refused ${e.address}: ${e.reason}`; break;
    case 'received': text = `${e.from} → #${e.room} received by ${e.serverId}`; break;
    default: return null;
  }
  const li = el('li', { class: `ev ${e.t}` });
  li.append(el('time', {}, time), document.createTextNode(` ${text}`));
  return li;
}
